//! The window's commands: each one takes typed input, calls one core function on the blocking
//! pool (SQLite and the keyring block), and returns a typed answer or a [`CommandError`] whose
//! message says what to do. No rule lives here; `herald_core` has them all.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use herald_core::mail::TestMail;
use herald_core::{
    Herald, Hint, InitParams, Invitation, KeyStatus, Limits, ListPage, ListQuery, MailDraft,
    MailPreview, NewInvitations, OpenOptions, OptOutEntry, Overview, RecipientsPreview, SmtpParams,
};
use secrecy::ExposeSecret;
use tauri::{AppHandle, Emitter, State};

use super::contract::{
    AppInfo, CommandError, ErrorKind, GeneralInput, InvitationDetail, InviteInput, LiveEvent,
    OutboxState, SetupStatus, SiteCheck, SiteState, SmtpInput, SmtpPorts, SmtpView,
};

/// What the commands share: the data folder, and once it is set up, the open core.
pub struct Backend {
    pub data_dir: PathBuf,
    herald: Mutex<Option<Arc<Herald>>>,
    pub wake: Arc<tokio::sync::Notify>,
    pub site: Mutex<SiteState>,
    pub outbox: Mutex<OutboxState>,
}

impl Backend {
    /// Opens the data folder if it is set up; a folder that is not stays closed until the
    /// setup's first step.
    pub fn new(data_dir: PathBuf) -> Backend {
        let herald = OpenOptions::new(Some(data_dir.clone()))
            .and_then(Herald::open)
            .ok()
            .map(Arc::new);
        Backend {
            data_dir,
            herald: Mutex::new(herald),
            wake: Arc::new(tokio::sync::Notify::new()),
            site: Mutex::new(SiteState::NotStarted),
            outbox: Mutex::new(OutboxState::NotStarted),
        }
    }

    pub fn herald(&self) -> Option<Arc<Herald>> {
        lock(&self.herald).clone()
    }

    fn require(&self) -> Result<Arc<Herald>, CommandError> {
        self.herald().ok_or_else(|| CommandError {
            kind: ErrorKind::Request,
            message: "Herald is not set up yet".to_owned(),
            hint: super::hints::words(Hint::RunInit),
        })
    }
}

/// The state behind these mutexes is replaced whole, never left half-written: a panic
/// elsewhere cannot corrupt it, so a poisoned lock is still good to read.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CommandError {
    /// A core error's kind, message and hint, the hint in the window's words.
    fn new(kind: herald_core::ErrorKind, message: String, hint: Option<Hint>) -> CommandError {
        let kind = match kind {
            herald_core::ErrorKind::Request => ErrorKind::Request,
            herald_core::ErrorKind::Environment => ErrorKind::Environment,
        };
        CommandError {
            kind,
            message,
            hint: hint.and_then(super::hints::words),
        }
    }
}

impl From<herald_core::Error> for CommandError {
    fn from(e: herald_core::Error) -> CommandError {
        CommandError::new(e.kind(), e.to_string(), e.hint())
    }
}

impl From<herald_core::mail::TestMailError> for CommandError {
    fn from(e: herald_core::mail::TestMailError) -> CommandError {
        CommandError::new(e.kind(), e.to_string(), e.hint())
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

/// Core work on the open data folder.
async fn with_herald<T: Send + 'static>(
    state: &Backend,
    f: impl FnOnce(&Herald) -> Result<T, herald_core::Error> + Send + 'static,
) -> Result<T, CommandError> {
    let h = state.require()?;
    blocking(move || f(&h).map_err(CommandError::from)).await
}

/// Tells the outbox that there is mail to send, and the window that its lists are stale.
fn changed(app: &AppHandle, state: &Backend) {
    state.wake.notify_one();
    let _ = app.emit(super::LIVE_EVENT, LiveEvent::Changed);
}

#[tauri::command]
pub fn app_info(state: State<'_, Backend>) -> AppInfo {
    AppInfo {
        name: "Herald".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state.data_dir.to_string_lossy().into_owned(),
    }
}

#[tauri::command]
pub async fn setup_status(state: State<'_, Backend>) -> Result<SetupStatus, CommandError> {
    let site = lock(&state.site).clone();
    let outbox = *lock(&state.outbox);
    let Some(h) = state.herald() else {
        return Ok(SetupStatus {
            general: None,
            smtp: None,
            smtp_ports: SmtpPorts::usual(),
            key: None,
            keyring_problem: None,
            site,
            outbox,
        });
    };
    blocking(move || {
        let general = Some(h.general()?);
        let smtp = match h.smtp()? {
            Some(settings) => Some(SmtpView {
                password_stored: settings.user.is_some() && h.has_smtp_password()?,
                password_dropped: false,
                sent_copy: general
                    .as_ref()
                    .and_then(|g| herald_core::sent_copy(&g.from, &settings.host))
                    .map(|c| c.to_string()),
                settings,
            }),
            None => None,
        };
        // Reading the keys is the keyring check; its failure is a finding, not an error.
        let (key, keyring_problem) = match h.key_status() {
            Ok(k) if k.versions.iter().any(|v| v.current) => (Some(k), None),
            Ok(_) => (None, None),
            Err(e) => (None, Some(super::hints::sentence(&e.to_string(), e.hint()))),
        };
        Ok(SetupStatus {
            general,
            smtp,
            smtp_ports: SmtpPorts::usual(),
            key,
            keyring_problem,
            site,
            outbox,
        })
    })
    .await
}

#[tauri::command]
pub async fn save_general(
    app: AppHandle,
    state: State<'_, Backend>,
    input: GeneralInput,
) -> Result<herald_core::General, CommandError> {
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

#[tauri::command]
pub async fn save_smtp(
    app: AppHandle,
    state: State<'_, Backend>,
    input: SmtpInput,
) -> Result<SmtpView, CommandError> {
    let view = with_herald(&state, move |h| {
        // The window has no CA-file field: keep one set from the command line.
        let ca_file = h.smtp()?.and_then(|s| s.ca_file).map(PathBuf::from);
        let port = input.port.unwrap_or(input.tls.default_port());
        let user = input.user.filter(|u| !u.trim().is_empty());
        let saved = h.set_smtp(&SmtpParams {
            host: input.host,
            port,
            tls: input.tls,
            password: input.password.filter(|p| !p.expose_secret().is_empty()),
            user,
            allow_insecure: input.allow_insecure,
            ca_file,
            bounce_address: input.bounce_address,
        })?;
        Ok(SmtpView {
            password_stored: saved.settings.user.is_some() && h.has_smtp_password()?,
            password_dropped: saved.password_dropped,
            sent_copy: saved.sent_copy.map(|c| c.to_string()),
            settings: saved.settings,
        })
    })
    .await?;
    changed(&app, &state);
    Ok(view)
}

#[tauri::command]
pub async fn send_test_mail(
    state: State<'_, Backend>,
    to: String,
) -> Result<TestMail, CommandError> {
    let h = state.require()?;
    Ok(h.send_test_mail(&to).await?)
}

/// Asks the confirmation site at the public URL for its health, the way an invitee's browser
/// would reach it, and checks that it is this Herald that answers.
#[tauri::command]
pub async fn check_site(state: State<'_, Backend>) -> Result<SiteCheck, CommandError> {
    let h = state.require()?;
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

/// The keyring step: makes the first signing key if there is none, and reads it back.
#[tauri::command]
pub async fn prepare_key(state: State<'_, Backend>) -> Result<KeyStatus, CommandError> {
    with_herald(&state, |h| h.ensure_key()).await
}

#[tauri::command]
pub async fn check_recipients(
    state: State<'_, Backend>,
    text: String,
) -> Result<RecipientsPreview, CommandError> {
    with_herald(&state, move |h| h.check_recipients(&text)).await
}

#[tauri::command]
pub async fn preview_mail(
    state: State<'_, Backend>,
    draft: MailDraft,
) -> Result<MailPreview, CommandError> {
    with_herald(&state, move |h| h.preview_mail(&draft)).await
}

#[tauri::command]
pub async fn create_invitations(
    app: AppHandle,
    state: State<'_, Backend>,
    input: InviteInput,
) -> Result<Vec<Invitation>, CommandError> {
    let created = with_herald(&state, move |h| {
        h.create_invitations(&NewInvitations {
            recipients: input.recipients,
            name: None,
            role: input.role.filter(|r| !r.trim().is_empty()),
            note: input.note.filter(|n| !n.trim().is_empty()),
            expires: input.expires.filter(|e| !e.trim().is_empty()),
        })
    })
    .await?;
    changed(&app, &state);
    Ok(created)
}

#[tauri::command]
pub async fn list_invitations(
    state: State<'_, Backend>,
    query: ListQuery,
) -> Result<ListPage, CommandError> {
    with_herald(&state, move |h| h.list_page(&query)).await
}

#[tauri::command]
pub async fn invitation_detail(
    state: State<'_, Backend>,
    id: i64,
) -> Result<InvitationDetail, CommandError> {
    with_herald(&state, move |h| {
        let invitation = h.invitation(id)?;
        Ok(InvitationDetail {
            offers: invitation.status.offers(),
            history: h.history(id)?,
            invitation,
        })
    })
    .await
}

#[tauri::command]
pub async fn resend(
    app: AppHandle,
    state: State<'_, Backend>,
    id: i64,
) -> Result<Invitation, CommandError> {
    let inv = with_herald(&state, move |h| h.resend(id)).await?;
    changed(&app, &state);
    Ok(inv)
}

#[tauri::command]
pub async fn renew(
    app: AppHandle,
    state: State<'_, Backend>,
    id: i64,
    expires: Option<String>,
) -> Result<Invitation, CommandError> {
    let inv = with_herald(&state, move |h| {
        h.renew(id, expires.as_deref().filter(|e| !e.trim().is_empty()))
            .map(|r| r.invitation)
    })
    .await?;
    changed(&app, &state);
    Ok(inv)
}

#[tauri::command]
pub async fn revoke(
    app: AppHandle,
    state: State<'_, Backend>,
    id: i64,
) -> Result<Invitation, CommandError> {
    let inv = with_herald(&state, move |h| h.revoke(id)).await?;
    changed(&app, &state);
    Ok(inv)
}

#[tauri::command]
pub async fn overview(
    state: State<'_, Backend>,
    utc_offset_secs: i32,
) -> Result<Overview, CommandError> {
    with_herald(&state, move |h| h.overview(utc_offset_secs)).await
}

#[tauri::command]
pub async fn opt_outs(state: State<'_, Backend>) -> Result<Vec<OptOutEntry>, CommandError> {
    with_herald(&state, |h| h.opt_outs()).await
}

/// Asks where to save the members' CSV (a native dialog, opened from Rust: the webview has no
/// file access) and writes it. `None` when the owner cancelled.
#[tauri::command]
pub async fn export_members(
    app: AppHandle,
    state: State<'_, Backend>,
) -> Result<Option<String>, CommandError> {
    use tauri_plugin_dialog::DialogExt;
    let h = state.require()?;
    blocking(move || {
        let csv = h.members_csv()?;
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

#[tauri::command]
pub async fn limits(state: State<'_, Backend>) -> Result<Limits, CommandError> {
    with_herald(&state, |h| h.limits()).await
}

#[tauri::command]
pub async fn set_limits(state: State<'_, Backend>, limits: Limits) -> Result<Limits, CommandError> {
    with_herald(&state, move |h| h.set_limits(limits)).await
}

#[tauri::command]
pub async fn site_settings(state: State<'_, Backend>) -> Result<herald_core::Site, CommandError> {
    with_herald(&state, |h| h.site()).await
}

/// Where the site listens and which proxies in front of it name the invitee's address. Takes
/// effect when Herald next starts (the running site keeps its settings until then).
#[tauri::command]
pub async fn set_site(
    state: State<'_, Backend>,
    bind: String,
    trusted_proxies: Vec<String>,
) -> Result<herald_core::Site, CommandError> {
    with_herald(&state, move |h| h.set_site(&bind, &trusted_proxies)).await
}

#[tauri::command]
pub async fn key_status(state: State<'_, Backend>) -> Result<KeyStatus, CommandError> {
    with_herald(&state, |h| h.key_status()).await
}

#[tauri::command]
pub async fn rotate_key(state: State<'_, Backend>) -> Result<KeyStatus, CommandError> {
    with_herald(&state, |h| {
        h.rotate_key()?;
        h.key_status()
    })
    .await
}

/// Stops Herald altogether: the window, the site and the outbox (closing the window only
/// hides it).
#[tauri::command]
pub fn quit(app: AppHandle) {
    app.exit(0);
}
