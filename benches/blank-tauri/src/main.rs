//! A blank Tauri 2 app: one window showing one static page, no commands, no plugins.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("blank-tauri: {e}");
        std::process::exit(1);
    }
}
