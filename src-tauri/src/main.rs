// A release build on Windows is a GUI program (no console window behind Herald's window).
// Debug builds keep the console so that `herald invite ...` prints during development; how the
// installed CLI reaches a Windows console is settled with the installers.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    herald_app::cli::main()
}
