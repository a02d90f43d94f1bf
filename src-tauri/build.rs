// Compiles tauri.conf.json, capabilities/, permissions/ and icons/ into the app. The build
// script lives in src-tauri/, but Cargo runs it with the repo root as its working directory
// (the package's manifest directory), which is where those files sit, so the defaults find
// them.
//
// Naming the app's commands here makes Tauri check every call against the capabilities:
// without an app manifest, any command would be callable from any webview.
const COMMANDS: &[&str] = &[
    "call",
    "app_info",
    "setup_status",
    "save_general",
    "connect",
    "disconnect",
    "check_site",
    "export_members",
    "quit",
];

fn main() {
    println!("cargo:rerun-if-changed=permissions");
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
