//! The command line: a thin face over `herald_core`. It parses, calls one core function, and
//! prints the result; every rule lives in the core. Errors are one line on stderr, `herald:
//! <what is wrong and what to do>`, with exit code 2 for a request that cannot be carried out
//! as given and 1 when something around Herald failed.

mod args;
mod hints;
mod moving;
mod output;
mod recipients;
mod watch;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

pub use args::Cli;
use args::{
    BackupArgs, Command, ConnectArgs, CreateArgs, InitArgs, InviteCommand, KeyCommand, LimitsArgs,
    OwnerCommand, OwnerTlsArg, RestoreArgs, ServeArgs, SmtpCommand, SmtpSetArgs,
};
use clap::error::ErrorKind as ClapKind;
use herald_api::types::{InvitationId, KeyVersion, OwnerId, OwnerName, RenewInput, TestMailTo};
use herald_api::{Client, Connection, Local};
use herald_core::owner_tls::ServerIdentity;
use herald_core::{
    ErrorKind, Herald, Hint, InitOutcome, Invitation, ListFilter, NewInvitations, OpenOptions,
    SmtpParams, TlsMode,
};
use secrecy::SecretString;
use zeroize::Zeroizing;

/// Exit code for a request that cannot be carried out as given: nothing was changed.
const EXIT_BAD_REQUEST: u8 = 2;
/// Exit code for a failure around Herald (keyring, disk, network): nothing was changed.
const EXIT_ENVIRONMENT: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] herald_core::Error),
    #[error(transparent)]
    Serve(#[from] herald_server::ServeError),
    #[error(transparent)]
    Gui(#[from] crate::gui::GuiError),
    #[error("could not read the password from standard input: {0}")]
    PasswordInput(io::Error),
    #[error(transparent)]
    Passphrase(#[from] moving::PassphraseError),
    #[error(transparent)]
    Mail(#[from] herald_core::mail::MailError),
    #[error(transparent)]
    File(#[from] recipients::FileError),
    #[error(transparent)]
    SmtpTest(#[from] herald_core::mail::TestMailError),
    #[error("could not start the server's runtime: {0}")]
    Runtime(io::Error),
    #[error("could not write the output: {0}")]
    Output(#[from] io::Error),
    #[error(transparent)]
    Api(#[from] herald_api::ApiError),
    #[error(transparent)]
    OwnerBind(#[from] herald_server::OwnerBindError),
    #[error(transparent)]
    Identity(#[from] herald_core::owner_tls::IdentityError),
    #[error("this computer acts through the Herald server at {url}; `herald {command}` runs on the server itself")]
    Connected { url: String, command: &'static str },
}

impl CliError {
    fn exit_code(&self) -> u8 {
        let kind = match self {
            CliError::Core(e) => e.kind(),
            CliError::Mail(e) => e.kind(),
            CliError::SmtpTest(e) => e.kind(),
            CliError::Api(e) => e.kind,
            CliError::Identity(e) => e.kind(),
            CliError::OwnerBind(_) | CliError::Connected { .. } => ErrorKind::Request,
            CliError::Passphrase(e) => e.kind(),
            // The list is part of the request: a wrong path or a bad line is the user's to fix.
            CliError::File(_) => ErrorKind::Request,
            _ => ErrorKind::Environment,
        };
        match kind {
            ErrorKind::Request => EXIT_BAD_REQUEST,
            ErrorKind::Environment => EXIT_ENVIRONMENT,
        }
    }

    /// The way forward, which `main` words as a command to run.
    fn hint(&self) -> Option<Hint> {
        match self {
            CliError::Core(e) => e.hint(),
            CliError::Serve(e) => e.hint(),
            CliError::Mail(e) => e.hint(),
            CliError::SmtpTest(e) => e.hint(),
            CliError::Api(e) => e.hint,
            CliError::Identity(e) => e.hint(),
            CliError::Connected { .. } => Some(Hint::RunOnServer),
            _ => None,
        }
    }
}

/// Parses the arguments, runs the command, and turns every failure into one line and an exit
/// code. `herald` with no command opens the window.
pub fn main() -> ExitCode {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Output piped into `head` and closed early is not a failure worth a message.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let text = hints::sentence(&e.to_string(), e.hint());
            eprintln!("herald: {}", one_line(&text));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version go to stdout with exit 0. Usage mistakes become one line on stderr, with
/// the command whose `--help` explains more, and exit 2.
fn clap_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ClapKind::DisplayHelp | ClapKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let path = command_path();
            // clap's message is a first block (the problem, possible values, tips), a blank
            // line, then usage: keep the first block, on one line.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = first.join(" ");
            let message = message.trim_start_matches("error: ");
            eprintln!("herald: {message}; see `{path} --help`");
            ExitCode::from(EXIT_BAD_REQUEST)
        }
    }
}

/// `herald invite create`: the words of the command line that name commands, for hints.
fn command_path() -> String {
    const COMMANDS: &[&str] = &[
        "init",
        "smtp",
        "set",
        "test",
        "invite",
        "create",
        "list",
        "show",
        "resend",
        "renew",
        "revoke",
        "key",
        "status",
        "rotate",
        "retire",
        "reissue",
        "limits",
        "serve",
        "backup",
        "restore",
        "export",
        "import",
        "watch",
        "owner",
        "add",
        "remove",
        "connect",
        "disconnect",
    ];
    let mut path = vec!["herald".to_owned()];
    for a in std::env::args().skip(1) {
        if COMMANDS.contains(&a.as_str()) && path.len() < 3 {
            path.push(a);
        } else if !a.starts_with('-') && path.len() >= 2 {
            break;
        }
    }
    path.join(" ")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let Some(command) = cli.command else {
        let dir = match cli.data_dir {
            Some(dir) => dir,
            None => Herald::default_data_dir()?,
        };
        return Ok(crate::gui::run(dir)?);
    };
    let opts = OpenOptions::new(cli.data_dir)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // A computer paired with a server keeps no data of its own: what needs the data (and the
    // keys) where it lives says so in one line.
    if let Some(c) = Connection::load(&opts.data_dir)? {
        let here_only = match &command {
            Command::Init(_) => Some("init"),
            Command::Serve(_) => Some("serve"),
            Command::Smtp(SmtpCommand::Set(_)) => Some("smtp set"),
            Command::Backup(_) => Some("backup"),
            Command::Restore(_) => Some("restore"),
            Command::Export(_) => Some("export"),
            Command::Import(_) => Some("import"),
            Command::Connect(_) => Some("connect"),
            _ => None,
        };
        if let Some(command) = here_only {
            if command == "connect" {
                return Err(herald_api::ApiError::request(format!(
                    "this computer is already paired with the Herald server at {}",
                    c.url
                ))
                .with_hint(Hint::Disconnect)
                .into());
            }
            return Err(CliError::Connected {
                url: c.url,
                command,
            });
        }
    }
    match command {
        Command::Init(a) => init(&mut out, opts, a),
        Command::Connect(a) => connect(&mut out, opts, a),
        Command::Disconnect => disconnect(&mut out, opts),
        Command::Smtp(SmtpCommand::Set(a)) => smtp_set(&mut out, &Herald::open(opts)?, a),
        Command::Smtp(SmtpCommand::Test { to }) => {
            with_client(opts, |c| async move { smtp_test(&mut out, &c, to).await })
        }
        Command::Invite(c) => {
            with_client(
                opts,
                |client| async move { invite(&mut out, &client, c).await },
            )
        }
        Command::Key(c) => with_client(
            opts,
            |client| async move { key(&mut out, &client, c).await },
        ),
        Command::Limits(a) => {
            with_client(
                opts,
                |client| async move { limits(&mut out, &client, a).await },
            )
        }
        Command::Watch(a) => with_client(opts, |client| async move {
            watch::watch(&mut out, &client, a).await
        }),
        Command::Serve(a) => {
            drop(out);
            serve(Herald::open(opts)?, a)
        }
        Command::Owner(c) => {
            with_client(
                opts,
                |client| async move { owner(&mut out, &client, c).await },
            )
        }
        Command::Backup(a) => backup(&mut out, &Herald::open(opts)?, a),
        Command::Restore(a) => restore(&mut out, opts, a),
        Command::Export(a) => moving::export(&mut out, &Herald::open(opts)?, a),
        Command::Import(a) => moving::import(&mut out, opts, a),
    }
}

fn backup(out: &mut impl Write, h: &Herald, a: BackupArgs) -> Result<(), CliError> {
    let n = h.backup(&a.file)?;
    writeln!(
        out,
        "Wrote {} ({n} invitation{}), readable by you alone.",
        a.file.display(),
        if n == 1 { "" } else { "s" }
    )?;
    writeln!(out, "The signing keys and the SMTP password stay in the OS keyring: the backup's links work only where those keys are.")?;
    Ok(())
}

fn restore(out: &mut impl Write, opts: OpenOptions, a: RestoreArgs) -> Result<(), CliError> {
    let dir = opts.data_dir.clone();
    let r = Herald::restore(opts, &a.file)?;
    writeln!(
        out,
        "Restored {} into {} ({} invitation{}).",
        a.file.display(),
        dir.display(),
        r.invitations,
        if r.invitations == 1 { "" } else { "s" }
    )?;
    if let Some(previous) = r.previous {
        writeln!(
            out,
            "The database it replaced is kept as {}.",
            previous.display()
        )?;
    }
    Ok(())
}

fn init(out: &mut impl Write, opts: OpenOptions, a: InitArgs) -> Result<(), CliError> {
    let params = herald_core::InitParams {
        team: a.team,
        owner_name: a.owner_name,
        from: a.from,
        public_url: a.public_url,
        reply_to: a.reply_to,
        default_expiry: a.default_expiry,
    };
    let (h, outcome) = Herald::init(opts, &params)?;
    let g = h.general()?;
    match outcome {
        InitOutcome::Created => {
            writeln!(
                out,
                "Herald is set up for {} in {}.",
                g.team,
                h.data_dir().display()
            )?;
            writeln!(
                out,
                "Invitations come from {} and point to {}.",
                g.from, g.public_url
            )?;
            writeln!(out, "Next: `herald smtp set --host HOST --user USER --password-stdin`, then `herald invite create EMAIL`.")?;
        }
        InitOutcome::Updated => {
            writeln!(
                out,
                "Settings updated for {} in {}.",
                g.team,
                h.data_dir().display()
            )?;
        }
    }
    Ok(())
}

fn smtp_set(out: &mut impl Write, h: &Herald, a: SmtpSetArgs) -> Result<(), CliError> {
    let tls = TlsMode::from(a.tls);
    let password = if a.password_stdin {
        Some(read_password_line(io::stdin().lock()).map_err(CliError::PasswordInput)?)
    } else {
        None
    };
    let saved = h.set_smtp(&SmtpParams {
        host: a.host,
        port: a.port.unwrap_or(tls.default_port()),
        tls,
        user: a.user,
        password,
        allow_insecure: a.allow_insecure,
        ca_file: a.ca_file,
        bounce_address: a.bounce_address,
    })?;
    let smtp = &saved.settings;
    let security = match smtp.tls {
        TlsMode::Starttls => "STARTTLS required",
        TlsMode::Tls => "TLS",
        TlsMode::None if smtp.allow_insecure => "UNENCRYPTED (--allow-insecure)",
        TlsMode::None => "unencrypted, this machine only",
    };
    write!(out, "SMTP: {}:{} ({security})", smtp.host, smtp.port)?;
    match &smtp.user {
        Some(u) if h.has_smtp_password()? => {
            writeln!(out, ", user {u}, password in the OS keyring.")?
        }
        Some(u) if saved.password_dropped => writeln!(
            out,
            ", user {u}. The stored password was for another server or user and has been removed, so it never reaches this one: give this server's password with --password-stdin."
        )?,
        Some(u) => writeln!(
            out,
            ", user {u}, no password stored yet (add --password-stdin)."
        )?,
        None => writeln!(out, ", no login.")?,
    }
    if let Some(bounce) = &smtp.bounce_address {
        writeln!(out, "Bounces go to {bounce}.")?;
    }
    if let Some(copy) = saved.sent_copy {
        eprintln!("herald: warning: {copy}");
    }
    Ok(())
}

/// Runs an owner command through the owner operations, on a runtime of its own: in-process
/// over the data folder.
fn with_client<F>(opts: OpenOptions, f: impl FnOnce(Arc<Client>) -> F) -> Result<(), CliError>
where
    F: std::future::Future<Output = Result<(), CliError>>,
{
    let rt = runtime()?;
    let client = match Connection::load(&opts.data_dir)? {
        Some(c) => Client::Remote(c.remote(opts.keyring.clone())?),
        None => Client::Local(Local::new(Arc::new(Herald::open(opts)?))),
    };
    // Inside the runtime: a local client's event feed starts a task on it.
    rt.block_on(async move { f(Arc::new(client)).await })
}

fn connect(out: &mut impl Write, opts: OpenOptions, a: ConnectArgs) -> Result<(), CliError> {
    // A data folder holds one Herald: its own, or the connection to one elsewhere.
    if opts.data_dir.join(herald_core::DATABASE_FILE).exists() {
        return Err(herald_api::ApiError::request(format!(
            "{} holds a Herald of its own; pair from another data folder (--data-dir), or move this one to the server first",
            opts.data_dir.display()
        ))
        .into());
    }
    let now = opts.clock.now();
    let rt = runtime()?;
    let c = rt.block_on(herald_api::connect::pair(
        &a.url,
        &a.code,
        &opts.data_dir,
        opts.keyring.clone(),
        now,
    ))?;
    if a.json {
        serde_json::to_writer(&mut *out, &c).map_err(io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "Paired with the Herald server at {} as {} (owner #{}).",
            c.url, c.owner_name, c.owner_id
        )?;
        writeln!(
            out,
            "The server's key is pinned ({}); this computer's credential is in its OS keyring.",
            herald_core::owner_tls::fingerprint(&c.pin()?)
        )?;
        writeln!(
            out,
            "Every owner command now acts there: try `herald invite list` or `herald watch`."
        )?;
    }
    Ok(())
}

fn disconnect(out: &mut impl Write, opts: OpenOptions) -> Result<(), CliError> {
    let Some(c) = Connection::load(&opts.data_dir)? else {
        writeln!(out, "This computer is not paired with any Herald server.")?;
        return Ok(());
    };
    c.forget(&opts.data_dir, opts.keyring.clone())?;
    writeln!(
        out,
        "Forgot the Herald server at {}; its credential is deleted from this computer's keyring.",
        c.url
    )?;
    writeln!(
        out,
        "To cut this computer off on the server too, run `herald owner remove {}` there.",
        c.owner_id
    )?;
    Ok(())
}

async fn smtp_test(out: &mut impl Write, c: &Client, to: String) -> Result<(), CliError> {
    let sent = c.send_test_mail(TestMailTo { to }).await?;
    writeln!(
        out,
        "{} accepted the test message for {} ({}): {}",
        sent.server, sent.to, sent.message_id, sent.reply
    )?;
    Ok(())
}

async fn limits(out: &mut impl Write, c: &Client, a: LimitsArgs) -> Result<(), CliError> {
    let mut limits = c.limits(()).await?;
    if a.per_day.is_some() || a.per_month.is_some() {
        limits.per_day = a.per_day.unwrap_or(limits.per_day);
        limits.per_month = a.per_month.unwrap_or(limits.per_month);
        limits = c.set_limits(limits).await?;
    }
    writeln!(
        out,
        "Each address gets at most {} mail{} a day and {} in 30 days.",
        limits.per_day,
        if limits.per_day == 1 { "" } else { "s" },
        limits.per_month
    )?;
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// One line, without its line ending; the rest of the input is ignored.
pub(crate) fn read_password_line(mut input: impl BufRead) -> io::Result<SecretString> {
    let mut line = Zeroizing::new(String::new());
    input.read_line(&mut line)?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    Ok(SecretString::from(trimmed))
}

async fn invite(out: &mut impl Write, h: &Client, c: InviteCommand) -> Result<(), CliError> {
    match c {
        InviteCommand::Create(a) => create(out, h, a).await,
        InviteCommand::List(a) => {
            let list = h.invitations(ListFilter { status: a.status }).await?;
            if a.json {
                output::invitations_json(out, &list)?;
            } else if list.is_empty() {
                match a.status {
                    Some(_) => writeln!(out, "No invitations with that status.")?,
                    None => writeln!(
                        out,
                        "No invitations yet. Invite someone with `herald invite create EMAIL`."
                    )?,
                }
            } else {
                output::invitations_table(out, &list)?;
            }
            Ok(())
        }
        InviteCommand::Show(a) => {
            let d = h.invitation_detail(InvitationId { id: a.id }).await?;
            if a.json {
                output::invitations_json(out, std::slice::from_ref(&d.invitation))?;
            } else {
                output::invitation_detail(out, &d.invitation, &d.history)?;
            }
            Ok(())
        }
        InviteCommand::Resend(a) => {
            let inv = h.resend(InvitationId { id: a.id }).await?;
            let text = format!(
                "Invitation #{} to {} is queued to be mailed again.",
                inv.id, inv.email
            );
            changed(out, &inv, a.json, &text)
        }
        InviteCommand::Renew(a) => {
            let inv = h
                .renew(RenewInput {
                    id: a.id,
                    expires: a.expires,
                })
                .await?;
            let text = format!(
                "Invitation #{} to {} has a new link, valid until {}; the old link no longer works. It is queued to be mailed.",
                inv.id,
                inv.email,
                herald_core::rfc3339(inv.expires_at)
            );
            changed(out, &inv, a.json, &text)
        }
        InviteCommand::Revoke(a) => {
            let inv = h.revoke(InvitationId { id: a.id }).await?;
            let text = format!(
                "Invitation #{} to {} is revoked; its link no longer works.",
                inv.id, inv.email
            );
            changed(out, &inv, a.json, &text)
        }
    }
}

/// After a change to one invitation: it as JSON, or a sentence for people.
fn changed(out: &mut impl Write, inv: &Invitation, json: bool, text: &str) -> Result<(), CliError> {
    if json {
        output::invitations_json(out, std::slice::from_ref(inv))?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

async fn create(out: &mut impl Write, h: &Client, a: CreateArgs) -> Result<(), CliError> {
    let mut all = a.emails;
    if let Some(path) = &a.from_file {
        all.extend(recipients::read(path)?);
    }
    let list = h
        .create_invitations(NewInvitations {
            recipients: all,
            name: a.name,
            role: a.role,
            note: a.note,
            expires: a.expires,
        })
        .await?;
    if a.json {
        output::invitations_json(out, &list)?;
    } else {
        let n = list.len();
        writeln!(
            out,
            "Queued {n} invitation{}; Herald mails queued invitations while it runs (the window or `herald serve`):",
            if n == 1 { "" } else { "s" }
        )?;
        output::invitations_table(out, &list)?;
    }
    Ok(())
}

async fn key(out: &mut impl Write, h: &Client, c: KeyCommand) -> Result<(), CliError> {
    match c {
        KeyCommand::Status { json } => {
            let s = h.key_status(()).await?;
            if json {
                output::key_status_json(out, &s)?;
            } else {
                output::key_status(out, &s)?;
            }
        }
        KeyCommand::Rotate => {
            let status = h.rotate_key(()).await?;
            let v = status
                .versions
                .iter()
                .find(|k| k.current)
                .map_or(0, |k| k.version);
            writeln!(out, "Key v{v} is now the current signing key; links signed by older keys keep working until they expire or their key is retired.")?;
        }
        KeyCommand::Retire { version } => {
            let r = h.retire_key(KeyVersion { version }).await?;
            let n = r.ended.len();
            writeln!(
                out,
                "Key v{} is retired and removed from the keyring; {n} link{} stopped working.",
                r.version,
                if n == 1 { "" } else { "s" }
            )?;
            if n > 0 {
                writeln!(
                    out,
                    "Run `herald key reissue` to give those invitations a new link."
                )?;
            }
        }
        KeyCommand::Reissue => {
            let r = h.reissue_links(()).await?;
            if r.rotated {
                writeln!(
                    out,
                    "Made key v{} the current signing key.",
                    r.current_version
                )?;
            }
            for v in &r.retired {
                writeln!(out, "Retired key v{v}, which the keyring no longer holds.")?;
            }
            let n = r.renewed.len();
            if n == 0 {
                writeln!(out, "Every pending invitation already has a working link.")?;
            } else {
                let ids: Vec<String> = r.renewed.iter().map(|i| format!("#{i}")).collect();
                writeln!(out, "{n} invitation{} got a new link signed by key v{} and are queued to be mailed: {}.", if n == 1 { "" } else { "s" }, r.current_version, ids.join(", "))?;
            }
        }
    }
    Ok(())
}

async fn owner(out: &mut impl Write, h: &Client, c: OwnerCommand) -> Result<(), CliError> {
    match c {
        OwnerCommand::Add { name, json } => {
            let new = h.add_owner(OwnerName { name }).await?;
            if json {
                output::new_owner_json(out, &new)?;
            } else {
                output::new_owner(out, &new)?;
            }
        }
        OwnerCommand::List { json } => {
            let list = h.owners(()).await?;
            if json {
                output::owners_json(out, &list)?;
            } else if list.is_empty() {
                writeln!(
                    out,
                    "No owners yet. Let a computer act through this Herald with `herald owner add NAME`."
                )?;
            } else {
                output::owners_table(out, &list)?;
            }
        }
        OwnerCommand::Remove { id } => {
            h.remove_owner(OwnerId { id }).await?;
            writeln!(
                out,
                "Owner #{id} is removed; their computer can no longer act on this Herald."
            )?;
        }
    }
    Ok(())
}

fn serve(h: Herald, a: ServeArgs) -> Result<(), CliError> {
    // First, so that the warnings below reach stderr.
    serve_log();
    // Read the keys now, so a locked or missing keyring is reported at start, not at the first
    // invitee's click.
    let keys = h.key_status()?;
    let general = h.general()?;
    let team = general.team;
    // Where the window would listen, unless --bind says otherwise.
    let site = h.site()?;
    let bind = match a.bind {
        Some(addr) => addr,
        None => site
            .listen_address(&general.public_url)
            .map_err(herald_core::Error::from)?,
    };
    // The window's setting, and any given here.
    let config = herald_server::Service::config(&h, &a.trusted_proxies)?;
    // The owner API: its own address, never the site's, and TLS with Herald's own key unless
    // a proxy on this machine terminates it.
    let plain_owner_api = a.owner_tls == OwnerTlsArg::None;
    herald_server::owner_bind_allowed(a.owner_bind, plain_owner_api)?;
    herald_server::owner_bind_apart(a.owner_bind, bind)?;
    let identity = if plain_owner_api {
        None
    } else {
        let (identity, origin) = ServerIdentity::load_or_create(h.keyring())?;
        if origin.owners_must_pair_again() && h.owners()?.iter().any(|o| o.paired) {
            tracing::warn!(
                "The owner API has a new TLS key (the old one was missing from the keyring): every paired computer must pair again (`herald owner add`)."
            );
        }
        let host = url_host(&general.public_url);
        Some((
            identity.server_config(&host)?,
            identity.spki_sha256(),
            identity.fingerprint(),
        ))
    };
    let herald = Arc::new(h);
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = herald_server::bind(bind).await?;
        let addr = listener.local_addr().map_err(herald_server::ServeError::Io)?;
        let owner_listener = herald_server::bind(a.owner_bind).await?;
        let owner_addr = owner_listener
            .local_addr()
            .map_err(herald_server::ServeError::Io)?;
        say(&format!(
            "Herald {} is serving the confirmation site for {team} on http://{addr} and mailing queued invitations; press Ctrl-C to stop.",
            env!("CARGO_PKG_VERSION")
        ))?;
        match &identity {
            Some((_, _, fingerprint)) => say(&format!(
                "Owner API on https://{owner_addr} (key {fingerprint}); add an owner's computer with `herald owner add NAME`."
            ))?,
            None => say(&format!(
                "Owner API on http://{owner_addr}, for the TLS proxy in front of it."
            ))?,
        }
        if !keys.needing_reissue.is_empty() {
            tracing::warn!(
                "Note: {} pending invitation(s) have no working link; run `herald key reissue`.",
                keys.needing_reissue.len()
            );
        }
        // One stop for everything: Ctrl-C or SIGTERM.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let wake = Arc::new(tokio::sync::Notify::new());
        let owner_wake = wake.clone();
        let local = Local::new(herald.clone()).on_change(Arc::new(move || owner_wake.notify_one()));
        let (tls, spki) = match identity {
            Some((tls, spki, _)) => (Some(tls), Some(spki)),
            None => (None, None),
        };
        let owner_api = tokio::spawn(herald_server::run_owner_api(
            owner_listener,
            tls,
            herald_api::http::router(local, spki),
            config.clone(),
            herald_server::stopped(stop_rx.clone()),
        ));
        // The outbox and the site, as the window runs them.
        let served = herald_server::Service {
            herald,
            site: Some(listener),
            config,
            wake,
            on_outbox: Arc::new(|e| tracing::info!("{}", outbox_line(&e))),
            on_site: Arc::new(|e| tracing::info!("{}", site_line(&e))),
        }
        .run(stop_rx)
        .await;
        let owner_served = owner_api.await;
        served?;
        if let Ok(r) = owner_served {
            r?;
        }
        Ok::<(), CliError>(())
    })
}

/// The public URL's host, which the owner API's certificate names too.
fn url_host(public_url: &str) -> Vec<String> {
    url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .into_iter()
        .collect()
}

/// `herald serve`'s log: what the outbox and the site report, one plain line each on stdout as
/// it happens, and warnings on stderr; no time or level, as a service manager's journal adds
/// its own. `RUST_LOG` says what else to show (`RUST_LOG=debug`).
fn serve_log() {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,herald=info"));
    let writer = io::stderr
        .with_max_level(tracing::Level::WARN)
        .or_else(io::stdout);
    // Set once per process; a second call (there is none) would keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// The line that starts `herald serve` on stdout, flushed at once (stdout may be a pipe).
fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn outbox_line(e: &herald_core::mail::OutboxEvent) -> String {
    use herald_core::mail::OutboxEvent as E;
    let count = |p: &herald_core::mail::Progress| format!("[{}/{}]", p.done, p.total);
    match e {
        E::Standby => "outbox: another Herald is mailing from this data folder; this one takes over when it stops".to_owned(),
        E::Active { took_over: false } => "outbox: mailing from this data folder".to_owned(),
        E::Active { took_over: true } => {
            "outbox: the other Herald stopped; mailing from here now".to_owned()
        }
        E::Reclaimed { ids } => format!(
            "outbox: {} invitation(s) interrupted by a stop are queued again",
            ids.len()
        ),
        E::Sent { id, email, progress } => {
            format!("outbox: sent #{id} to {email} {}", count(progress))
        }
        E::Retrying {
            id,
            email,
            reason,
            progress,
        } => format!(
            "outbox: #{id} to {email} will be retried: {reason} {}",
            count(progress)
        ),
        E::Failed {
            id,
            email,
            reason,
            hint,
            progress,
        } => format!(
            "outbox: #{id} to {email} failed: {} {}",
            hints::sentence(reason, *hint),
            count(progress)
        ),
        E::Stalled { message, hint } => {
            format!("outbox: waiting: {}", hints::sentence(message, *hint))
        }
    }
}

fn site_line(e: &herald_core::SiteEvent) -> String {
    use herald_core::SiteEvent as E;
    match e {
        E::Opened {
            id,
            automated: false,
        } => format!("site: #{id} opened its link"),
        E::Opened {
            id,
            automated: true,
        } => format!(
            "site: #{id}'s link was fetched by what looks like a mail scanner (not a decision)"
        ),
        E::Accepted { id } => format!("site: #{id} accepted"),
        E::Declined {
            id,
            never_again: false,
        } => format!("site: #{id} declined"),
        E::Declined {
            id,
            never_again: true,
        } => format!("site: #{id} declined and asked never to be invited again"),
        E::OptedOut { email } => format!("site: {email} unsubscribed: never invited again"),
        E::AskedAgain { id } => {
            format!("site: #{id} asks for a new invitation (`herald invite renew {id}`)")
        }
    }
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn password_line_loses_only_its_line_ending() {
        let p = read_password_line(&b" pass word \r\nsecond line"[..]).unwrap();
        assert_eq!(p.expose_secret(), " pass word ");
        assert_eq!(read_password_line(&b""[..]).unwrap().expose_secret(), "");
    }

    #[test]
    fn the_grammar_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
