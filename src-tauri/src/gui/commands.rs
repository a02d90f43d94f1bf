//! The window's commands. Every owner operation crosses the bridge through one command,
//! [`call`], which takes a [`Request`] (the operations are declared once, in `herald_api`) and
//! runs it wherever this computer's Herald lives: in-process over the data folder, or on the
//! always-on Herald it is paired with. The few commands beside it are the window's own: the
//! first-run setup's status and first step, pairing, the reachability check, the members file
//! dialog, and quitting. No rule lives here; `herald_core` has them all.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use herald_api::types::SmtpPorts;
use herald_api::{ApiError, Client, Connection, Local, Request};
use herald_core::secrets::SecretStore;
use herald_core::{Herald, Hint, InitParams, OpenOptions};
use tauri::{AppHandle, Emitter, State};

use super::contract::{
    AppInfo, CommandError, ConnectInput, ErrorKind, GeneralInput, LiveEvent, OutboxState,
    ServerView, SetupStatus, SiteCheck, SiteState,
};

/// What the commands share: the data folder, and once it is set up, the open core or the
/// paired server.
pub struct Backend {
    pub data_dir: PathBuf,
    /// The OS keyring: the data folder's keys, or this computer's credential for its server.
    keyring: Arc<dyn SecretStore>,
    herald: Mutex<Option<Arc<Herald>>>,
    server: Mutex<Option<Paired>>,
    pub wake: Arc<tokio::sync::Notify>,
    pub site: Mutex<SiteState>,
    pub outbox: Mutex<OutboxState>,
}

/// This computer's pairing with an always-on Herald, and the client that acts there.
#[derive(Clone)]
pub struct Paired {
    pub connection: Connection,
    pub client: Arc<Client>,
}

impl Backend {
    /// Opens the data folder if it is set up; a folder that is not stays closed until the
    /// setup's first step. A folder that holds a connection opens nothing here: the server
    /// holds the data.
    pub fn new(data_dir: PathBuf) -> Backend {
        let opts = OpenOptions::new(Some(data_dir.clone()));
        let keyring = match &opts {
            Ok(o) => o.keyring.clone(),
            Err(_) => herald_core::secrets::OsKeyring::shared(),
        };
        let connection = Connection::load(&data_dir).ok().flatten();
        let herald = match (connection.is_some(), opts) {
            (false, Ok(opts)) => Herald::open(opts).ok().map(Arc::new),
            _ => None,
        };
        let backend = Backend {
            data_dir,
            keyring,
            herald: Mutex::new(herald),
            server: Mutex::new(None),
            wake: Arc::new(tokio::sync::Notify::new()),
            site: Mutex::new(SiteState::NotStarted),
            outbox: Mutex::new(OutboxState::NotStarted),
        };
        if let Some(c) = connection {
            // A credential missing from the keyring is reported by `setup_status`.
            let _ = backend.pair_with(c);
        }
        backend
    }

    pub fn herald(&self) -> Option<Arc<Herald>> {
        lock(&self.herald).clone()
    }

    pub fn paired(&self) -> Option<Paired> {
        lock(&self.server).clone()
    }

    fn pair_with(&self, connection: Connection) -> Result<Paired, ApiError> {
        let remote = connection.remote(self.keyring.clone())?;
        let paired = Paired {
            connection,
            client: Arc::new(Client::Remote(remote)),
        };
        *lock(&self.server) = Some(paired.clone());
        Ok(paired)
    }

    /// Where the operations run: the paired server, or this data folder.
    fn client(&self) -> Result<Arc<Client>, CommandError> {
        if let Some(p) = self.paired() {
            return Ok(p.client);
        }
        if let Ok(Some(c)) = Connection::load(&self.data_dir) {
            // Paired, but the credential could not be read when the window opened.
            return Err(CommandError::from(
                ApiError::environment(format!(
                    "this computer's credential for {} could not be read from the OS keyring",
                    c.url
                ))
                .with_hint(Hint::Disconnect),
            ));
        }
        let h = self.herald().ok_or_else(not_set_up)?;
        Ok(Arc::new(Client::Local(Local::new(h))))
    }
}

/// The state behind these mutexes is replaced whole, never left half-written: a panic
/// elsewhere cannot corrupt it, so a poisoned lock is still good to read.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl From<herald_core::Error> for CommandError {
    fn from(e: herald_core::Error) -> CommandError {
        CommandError::from(ApiError::from(e))
    }
}

impl From<ApiError> for CommandError {
    /// The kind, message and hint, the hint in the window's words, wherever the operation ran.
    fn from(e: ApiError) -> CommandError {
        let kind = match e.kind {
            herald_core::ErrorKind::Request => ErrorKind::Request,
            herald_core::ErrorKind::Environment => ErrorKind::Environment,
        };
        CommandError {
            kind,
            message: e.message,
            hint: e.hint.and_then(super::hints::words),
        }
    }
}

fn not_set_up() -> CommandError {
    CommandError {
        kind: ErrorKind::Request,
        message: "Herald is not set up yet".to_owned(),
        hint: super::hints::words(Hint::RunInit),
    }
}

fn environment(message: String) -> CommandError {
    CommandError {
        kind: ErrorKind::Environment,
        message,
        hint: None,
    }
}

/// Runs core work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| environment(format!("Herald's background task failed ({e}); try again")))?
}

/// Tells the outbox that there is mail to send, and the window that its lists are stale.
fn changed(app: &AppHandle, state: &Backend) {
    state.wake.notify_one();
    let _ = app.emit(super::LIVE_EVENT, LiveEvent::Changed);
}

/// Any owner operation (`{"op": "resend", "input": {"id": 3}}`), here or on the paired
/// server; the answer as the operation's JSON. The TypeScript side types both ends from the
/// same declaration (`Operations`).
#[tauri::command]
pub async fn call(
    app: AppHandle,
    state: State<'_, Backend>,
    request: Request,
) -> Result<serde_json::Value, CommandError> {
    let writes = request.writes();
    let client = state.client()?;
    let answer = client.call(request).await?;
    if writes {
        changed(&app, &state);
    }
    Ok(answer)
}

#[tauri::command]
pub fn app_info(state: State<'_, Backend>) -> AppInfo {
    AppInfo {
        name: "Herald".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state.data_dir.to_string_lossy().into_owned(),
    }
}

fn server_view(c: &Connection) -> ServerView {
    ServerView {
        url: c.url.clone(),
        owner_id: c.owner_id,
        owner_name: c.owner_name.clone(),
        paired_at: c.paired_at,
        fingerprint: c
            .pin()
            .map(|p| herald_core::owner_tls::fingerprint(&p))
            .unwrap_or_default(),
    }
}

#[tauri::command]
pub async fn setup_status(state: State<'_, Backend>) -> Result<SetupStatus, CommandError> {
    let site = lock(&state.site).clone();
    let outbox = *lock(&state.outbox);
    let empty = SetupStatus {
        general: None,
        smtp: None,
        smtp_ports: SmtpPorts::usual(),
        key: None,
        keyring_problem: None,
        site,
        outbox,
        server: None,
        server_problem: None,
    };
    if let Ok(Some(c)) = Connection::load(&state.data_dir) {
        let base = SetupStatus {
            server: Some(server_view(&c)),
            ..empty
        };
        let client = match state.paired() {
            Some(p) => Ok(p.client),
            None => state.pair_with(c).map(|p| p.client),
        };
        let status = match client {
            Ok(client) => status_from(&client, base.clone()).await,
            Err(e) => Err(e),
        };
        // A server that does not answer is a finding (the window says so and keeps trying),
        // not an error.
        return Ok(status.unwrap_or_else(|e| SetupStatus {
            server_problem: Some(super::hints::sentence(&e.message, e.hint)),
            ..base
        }));
    }
    let Some(h) = state.herald() else {
        return Ok(empty);
    };
    Ok(status_from(&Client::Local(Local::new(h)), empty).await?)
}

/// The setup as the owner operations report it, here or on the paired server.
async fn status_from(client: &Client, base: SetupStatus) -> Result<SetupStatus, ApiError> {
    let settings = client.settings(()).await?;
    // Reading the keys is the keyring check; its failure is a finding, not an error.
    let (key, keyring_problem) = match client.key_status(()).await {
        Ok(k) if k.versions.iter().any(|v| v.current) => (Some(k), None),
        Ok(_) => (None, None),
        Err(e) => (None, Some(super::hints::sentence(&e.message, e.hint))),
    };
    Ok(SetupStatus {
        general: Some(settings.general),
        smtp: settings.smtp,
        smtp_ports: settings.smtp_ports,
        key,
        keyring_problem,
        ..base
    })
}

#[tauri::command]
pub async fn save_general(
    app: AppHandle,
    state: State<'_, Backend>,
    input: GeneralInput,
) -> Result<herald_core::General, CommandError> {
    if let Some(p) = state.paired() {
        return Err(ApiError::request(format!(
            "the team and sender are set on the Herald server at {}",
            p.connection.url
        ))
        .with_hint(Hint::RunOnServer)
        .into());
    }
    let opts = OpenOptions::new(Some(state.data_dir.clone()))?;
    let params = InitParams {
        team: input.team,
        owner_name: input.owner_name,
        from: input.from,
        public_url: input.public_url,
        reply_to: input.reply_to.filter(|r| !r.trim().is_empty()),
        default_expiry: input.default_expiry.filter(|e| !e.trim().is_empty()),
    };
    let (herald, general) = blocking(move || {
        let (h, _) = Herald::init(opts, &params)?;
        let general = h.general()?;
        Ok((h, general))
    })
    .await?;
    let first = {
        let mut slot = lock(&state.herald);
        let first = slot.is_none();
        if first {
            *slot = Some(Arc::new(herald));
        }
        first
    };
    if first {
        super::live::start(&app);
    }
    changed(&app, &state);
    Ok(general)
}

/// Pairs this computer with an always-on Herald, with the one-time code its owner was given.
/// Only from a data folder that holds no Herald of its own: a folder is one or the other.
#[tauri::command]
pub async fn connect(
    app: AppHandle,
    state: State<'_, Backend>,
    input: ConnectInput,
) -> Result<ServerView, CommandError> {
    if let Some(p) = state.paired() {
        return Err(ApiError::request(format!(
            "this computer is already paired with the Herald server at {}",
            p.connection.url
        ))
        .with_hint(Hint::Disconnect)
        .into());
    }
    if state.herald().is_some() || state.data_dir.join(herald_core::DATABASE_FILE).exists() {
        return Err(ApiError::request(format!(
            "{} holds a Herald of its own, with its invitations; a window acts either here or on a server, not both",
            state.data_dir.display()
        ))
        .into());
    }
    let opts = OpenOptions::new(Some(state.data_dir.clone()))?;
    let connection = herald_api::connect::pair(
        &input.url,
        &input.code,
        &state.data_dir,
        state.keyring.clone(),
        opts.clock.now(),
    )
    .await?;
    let view = server_view(&connection);
    let paired = state.pair_with(connection)?;
    super::server::watch(&app, paired);
    changed(&app, &state);
    Ok(view)
}

/// Forgets the paired server: its credential leaves the keyring, the connection the data
/// folder. The server still lists this owner until someone removes it there.
#[tauri::command]
pub async fn disconnect(app: AppHandle, state: State<'_, Backend>) -> Result<(), CommandError> {
    let Some(c) = Connection::load(&state.data_dir)? else {
        return Ok(());
    };
    super::server::stop(&app);
    let keyring = state.keyring.clone();
    let data_dir = state.data_dir.clone();
    blocking(move || Ok(c.forget(&data_dir, keyring)?)).await?;
    *lock(&state.server) = None;
    changed(&app, &state);
    Ok(())
}

/// Asks the confirmation site at the public URL for its health, the way an invitee's browser
/// would reach it, and checks that it is this Herald that answers.
#[tauri::command]
pub async fn check_site(state: State<'_, Backend>) -> Result<SiteCheck, CommandError> {
    let Some(h) = state.herald() else {
        if state.paired().is_some() {
            return Err(ApiError::request(
                "the confirmation site is served, and checked, by the Herald server",
            )
            .with_hint(Hint::RunOnServer)
            .into());
        }
        return Err(not_set_up());
    };
    blocking(move || {
        let general = h.general()?;
        let url = format!(
            "{}{}",
            general.public_url.trim_end_matches('/'),
            herald_server::HEALTH_PATH
        );
        Ok(super::reach::check(&url, &h.instance_tag()))
    })
    .await
}

/// Asks where to save the members' CSV (a native dialog, opened from Rust: the webview has no
/// file access) and writes it. `None` when the owner cancelled.
#[tauri::command]
pub async fn export_members(
    app: AppHandle,
    state: State<'_, Backend>,
) -> Result<Option<String>, CommandError> {
    use tauri_plugin_dialog::DialogExt;
    let csv = state.client()?.members_csv(()).await?;
    blocking(move || {
        let Some(choice) = app
            .dialog()
            .file()
            .set_title("Export members")
            .set_file_name("members.csv")
            .add_filter("CSV", &["csv"])
            .blocking_save_file()
        else {
            return Ok(None);
        };
        let path = choice.into_path().map_err(|e| {
            environment(format!(
                "that location cannot be written to ({e}); choose a folder on this computer"
            ))
        })?;
        std::fs::write(&path, csv)
            .map_err(|e| environment(format!("could not write {}: {e}", path.display())))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}

/// Stops Herald altogether: the window, the site and the outbox (closing the window only
/// hides it).
#[tauri::command]
pub fn quit(app: AppHandle) {
    app.exit(0);
}
