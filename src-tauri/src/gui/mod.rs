//! The desktop window: a thin Tauri shell. Commands here only translate between the webview and
//! Rust; anything security-relevant (tokens, mail, verification) belongs in `herald_core`, so the
//! window never holds more than the CLI does.

#[cfg(test)]
mod bindings;
mod commands;
mod contract;
mod hints;
mod live;
mod notify;
mod reach;
mod server;

use std::path::PathBuf;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use commands::{lock, Backend};
use contract::OutboxState;

/// The event that carries [`contract::LiveEvent`]s to the window.
pub const LIVE_EVENT: &str = "live";
const MAIN_WINDOW: &str = "main";

/// Why the window could not be shown. `main` prints it as one line, `herald: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum GuiError {
    /// Checked up front: without a display GTK would abort the process with a panic instead of
    /// returning an error, and the user would see a backtrace hint rather than a way forward.
    #[error(
        "no graphical display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); \
         run `herald --help` for the command-line interface"
    )]
    NoDisplay,
    #[error("could not open the window: {0}")]
    Tauri(#[from] tauri::Error),
}

/// Opens the main window and runs until the owner quits (closing the window only hides it
/// while the site and the outbox have work; the tray icon brings it back, and so does
/// starting Herald again).
pub fn run(data_dir: PathBuf) -> Result<(), GuiError> {
    if !has_display() {
        return Err(GuiError::NoDisplay);
    }
    tauri::Builder::default()
        // First: a second launch only brings the running window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main(app);
        }))
        .plugin(log())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(Backend::new(data_dir))
        .manage(server::Watcher::default())
        .setup(|app| {
            tray(app.handle())?;
            // One or the other: this data folder's own site and outbox, or the events of the
            // server this computer is paired with.
            live::start(app.handle());
            if let Some(paired) = app.state::<Backend>().paired() {
                server::watch(app.handle(), paired);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                // Keep serving invitees while there is something to serve, and keep telling
                // the owner about the paired server's answers; before either, closing quits.
                let backend = app.state::<Backend>();
                if *lock(&backend.outbox) != OutboxState::NotStarted || backend.paired().is_some() {
                    let _ = app.save_window_state(StateFlags::all());
                    let _ = window.hide();
                    api.prevent_close();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::call,
            commands::app_info,
            commands::setup_status,
            commands::save_general,
            commands::connect,
            commands::disconnect,
            commands::check_site,
            commands::export_members,
            commands::quit,
        ])
        // tauri.conf.json is read at compile time from the package root (CARGO_MANIFEST_DIR).
        .run(tauri::generate_context!())?;
    Ok(())
}

/// The window's log: what the site and the outbox report (tracing events, passed on through the
/// `log` crate) in a file in the OS's log folder for Herald, and on stdout when there is one.
/// A Windows GUI build has no console, so without the file these lines would be lost. Herald's
/// own lines from `info` up, other crates' warnings and errors only.
fn log() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    use tauri_plugin_log::{Target, TargetKind};
    let mut builder = tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets([
            Target::new(TargetKind::Stdout),
            Target::new(TargetKind::LogDir { file_name: None }),
        ])
        .level(::log::LevelFilter::Warn);
    for ours in ["herald_app", "herald_core", "herald_server"] {
        builder = builder.level_for(ours, ::log::LevelFilter::Info);
    }
    builder.build()
}

fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN_WINDOW) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The tray icon: open the window, or quit Herald (and with it the site and the outbox).
fn tray(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Herald", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Herald", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut builder = TrayIconBuilder::with_id("herald")
        .tooltip("Herald: the confirmation site and the outbox are running")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_main(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// On Linux and the BSDs the window needs an X11 or Wayland display; elsewhere there always is one.
fn has_display() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    )) {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
    } else {
        true
    }
}
