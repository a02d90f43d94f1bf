// Compiles tauri.conf.json, capabilities/ and icons/ into the app. The build script lives in
// src-tauri/, but Cargo runs it with the repo root as its working directory (the package's
// manifest directory), which is where those files sit, so the defaults find them.
fn main() {
    tauri_build::build()
}
