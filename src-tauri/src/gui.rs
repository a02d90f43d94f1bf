//! The desktop window: a thin Tauri shell. Commands here only translate between the webview and
//! Rust; anything security-relevant (tokens, mail, verification) belongs in `herald_core`, so the
//! window never holds more than the CLI does.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

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

/// What the welcome screen shows. Field names are the JSON keys the UI reads (`ui/src/main.ts`).
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    /// Where Herald keeps its data, for display only; `None` when the caller did not say.
    pub data_dir: Option<String>,
}

/// Managed state: the data folder as text, resolved once by the caller of [`run`], so the
/// window and the CLI always agree on which folder is in use.
struct DataDir(Option<String>);

#[tauri::command]
fn app_info(data_dir: tauri::State<'_, DataDir>) -> AppInfo {
    AppInfo {
        name: "Herald",
        version: env!("CARGO_PKG_VERSION"),
        data_dir: data_dir.0.clone(),
    }
}

/// Opens the main window and blocks until the user closes it.
pub fn run(data_dir: Option<PathBuf>) -> Result<(), GuiError> {
    if !has_display() {
        return Err(GuiError::NoDisplay);
    }
    let background = data_dir.clone();
    tauri::Builder::default()
        .setup(move |_| {
            serve_in_background(background);
            Ok(())
        })
        // Lossy on purpose: the path is only shown to the user, never used to open files.
        .manage(DataDir(data_dir.map(|p| p.to_string_lossy().into_owned())))
        .invoke_handler(tauri::generate_handler![app_info])
        // tauri.conf.json is read at compile time from the package root (CARGO_MANIFEST_DIR).
        .run(tauri::generate_context!())?;
    Ok(())
}

/// While the window is open, Herald mails queued invitations and serves the confirmation site
/// in-process, exactly as `herald serve` does. A folder not set up yet has nothing to do. If
/// `herald serve` already runs on the same folder, the outbox lease keeps the two from
/// mailing the same invitation, and the port being taken leaves the site to it.
fn serve_in_background(data_dir: Option<PathBuf>) {
    let Ok(opts) = herald_core::OpenOptions::new(data_dir) else {
        return;
    };
    let Ok(herald) = herald_core::Herald::open(opts) else {
        return;
    };
    let herald = Arc::new(herald);
    tauri::async_runtime::spawn(async move {
        let (_keep, stop) = tokio::sync::watch::channel(false);
        let outbox = herald_core::mail::run_outbox(
            herald.clone(),
            Arc::new(tokio::sync::Notify::new()),
            stop,
            |e| eprintln!("outbox: {e:?}"),
        );
        let site = async {
            let addr = herald_server::DEFAULT_BIND
                .parse()
                .expect("the default address is valid");
            match herald_server::bind(addr).await {
                Ok(listener) => {
                    let events: herald_server::Events = Arc::new(|e| eprintln!("site: {e:?}"));
                    let config = herald_server::SiteConfig::default();
                    if let Err(e) = herald_server::run(
                        listener,
                        herald.clone(),
                        config,
                        events,
                        std::future::pending(),
                    )
                    .await
                    {
                        eprintln!("herald: the confirmation site stopped: {e}");
                    }
                }
                Err(e) => {
                    eprintln!("herald: the confirmation site is not served from the window: {e}")
                }
            }
        };
        tokio::join!(outbox, site);
    });
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
