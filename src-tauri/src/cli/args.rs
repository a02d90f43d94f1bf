//! The command line's grammar. Every command and option has help text; `--help` works at every
//! level. Values are taken as text and validated by the core, so the CLI and the window give
//! the same message for the same mistake.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use herald_core::{Status, TlsMode};

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Invite people to your team by email. Herald mints each link itself and mails it over SMTP, so it never passes through your mail client.",
    long_about = None,
    after_help = "Without a command, Herald opens its window.\nData: the OS app-data folder, or --data-dir / HERALD_DATA_DIR. Secrets: the OS keyring."
)]
pub struct Cli {
    /// The folder that holds Herald's database [default: the OS app-data folder]
    #[arg(long, global = true, env = "HERALD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set Herald up in the data folder (run again to change these settings)
    Init(InitArgs),
    /// Set how Herald reaches your mail server
    #[command(subcommand)]
    Smtp(SmtpCommand),
    /// Create, list and manage invitations
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Inspect and manage the signing keys kept in the OS keyring
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show or change how often one address may be mailed
    Limits(LimitsArgs),
    /// Run the confirmation site and mail queued invitations (headless, for an always-on host)
    Serve(ServeArgs),
    /// Print what happens as it happens: mails sent, links opened, answers (Ctrl-C stops)
    Watch(WatchArgs),
    /// Pair this computer with an always-on Herald (`herald serve`), so that every owner
    /// command acts there
    Connect(ConnectArgs),
    /// Forget the paired server and delete this computer's credential for it
    Disconnect,
    /// Let owners' computers act through this Herald: pairing codes, the list, removal
    #[command(subcommand)]
    Owner(OwnerCommand),
    /// Write a consistent copy of the database to FILE (never over an existing file)
    Backup(BackupArgs),
    /// Put a backup in place of the database (quit the window and `herald serve` first)
    Restore(RestoreArgs),
    /// Write this Herald (data, signing keys, SMTP password) to FILE, encrypted with a
    /// passphrase, to move it to another computer
    Export(ExportArgs),
    /// Set Herald up in an empty data folder from a file `herald export` wrote; links already
    /// mailed keep working
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write the export; it must not exist yet
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Read the passphrase from standard input (one line) instead of asking on the terminal
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file `herald export` wrote
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Read the passphrase from standard input (one line) instead of asking on the terminal
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server's owner API, as `herald owner add` printed it: https://HOST:PORT
    #[arg(value_name = "URL")]
    pub url: String,
    /// The one-time pairing code `herald owner add` made, like 7-K3M9Q-T2XHV
    #[arg(long, value_name = "CODE")]
    pub code: String,
    /// Print the connection as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Print one JSON object per event
    #[arg(long)]
    pub json: bool,
    /// Start after this event id (as --json prints it) instead of with what comes next
    #[arg(long, value_name = "ID")]
    pub after: Option<i64>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup; it must not exist yet
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file `herald backup` wrote
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// At most this many mails to one address in a day [default: 3]
    #[arg(long, value_name = "N")]
    pub per_day: Option<u32>,
    /// At most this many mails to one address in 30 days [default: 5]
    #[arg(long, value_name = "N")]
    pub per_month: Option<u32>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Your team's name, as invitees will see it
    #[arg(long, value_name = "NAME")]
    pub team: String,
    /// Your name, as invitees will see it
    #[arg(long, value_name = "NAME")]
    pub owner_name: String,
    /// The address invitations are sent from
    #[arg(long, value_name = "ADDRESS")]
    pub from: String,
    /// The confirmation site's address as invitees reach it (https://, or http:// to this
    /// machine only: localhost, 127.0.0.1, ::1)
    #[arg(long, value_name = "URL")]
    pub public_url: String,
    /// Where replies go, if not to the sender address
    #[arg(long, value_name = "ADDRESS")]
    pub reply_to: Option<String>,
    /// How long new invitations stay valid: 1h to 30d [default: 7d]
    #[arg(long, value_name = "DURATION")]
    pub default_expiry: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SmtpCommand {
    /// Save the SMTP server settings; the password goes to the OS keyring
    Set(SmtpSetArgs),
    /// Send a test message (no invitation, no link) and report the server's answer
    Test {
        /// Where to send the test message
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TlsArg {
    /// Plain connection upgraded with STARTTLS, which must succeed (usually port 587)
    Starttls,
    /// TLS from the first byte (usually port 465)
    Tls,
    /// No encryption: only to this machine, or with --allow-insecure
    None,
}

impl From<TlsArg> for TlsMode {
    fn from(t: TlsArg) -> TlsMode {
        match t {
            TlsArg::Starttls => TlsMode::Starttls,
            TlsArg::Tls => TlsMode::Tls,
            TlsArg::None => TlsMode::None,
        }
    }
}

#[derive(Debug, Args)]
pub struct SmtpSetArgs {
    /// The SMTP server's host name
    #[arg(long, value_name = "HOST")]
    pub host: String,
    /// The SMTP server's port [default: 587 for starttls, 465 for tls, 25 for none]
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// How the connection is secured
    #[arg(long, value_enum, default_value = "starttls")]
    pub tls: TlsArg,
    /// The user name to log in with
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from standard input (one line), so it never shows in the process list
    #[arg(long, requires = "user")]
    pub password_stdin: bool,
    /// Allow an unencrypted connection to a host that is not this machine
    #[arg(long)]
    pub allow_insecure: bool,
    /// Also trust this root certificate (PEM), for a server with a private CA
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Where bounces go (the envelope sender), if not to the sender address
    #[arg(long, value_name = "ADDRESS")]
    pub bounce_address: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Invite one or more people; each gets their own link by mail
    Create(CreateArgs),
    /// List invitations, oldest first
    List(ListArgs),
    /// Show one invitation and its history
    Show(IdArgs),
    /// Mail the same link again (an expired invitation gets a new link)
    Resend(IdArgs),
    /// Replace the link with a new one and a new expiry; the old link stops working
    Renew(RenewArgs),
    /// Withdraw an invitation; its link stops working at once
    Revoke(IdArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Addresses, as ada@example.com or "Ada Lovelace <ada@example.com>"
    #[arg(value_name = "EMAIL", required_unless_present = "from_file")]
    pub emails: Vec<String>,
    /// Also invite everyone in FILE: one address per line (blank lines and # comments
    /// skipped), or a CSV whose header names an "email" column and optionally "name"; - reads
    /// standard input
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<std::path::PathBuf>,
    /// The invitee's name (with a single address)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The role they are invited to [default: member]
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// A short personal note for the mail
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// How long the link stays valid: 1h to 30d, like 12h, 7d, 2w [default: the data folder's]
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// Print one JSON object per invitation
    #[arg(long)]
    pub json: bool,
}

/// `--status`: the core's own names, listed in `--help`, parsed by the core.
fn status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Status::ALL.iter().map(|s| s.as_str()))
        .try_map(|s| herald_core::state::parse_input(&s))
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only invitations with this status
    #[arg(long, value_parser = status_parser())]
    pub status: Option<Status>,
    /// Print one JSON object per invitation
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The invitation's number, as `herald invite list` shows it
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Print the invitation as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// The invitation's number, as `herald invite list` shows it
    #[arg(value_name = "ID")]
    pub id: i64,
    /// How long the new link stays valid [default: the data folder's]
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// Print the invitation as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List the key versions and whether the keyring still holds them
    Status {
        /// Print one JSON object per key version
        #[arg(long)]
        json: bool,
    },
    /// Make a new current key; links signed by older keys keep working
    Rotate,
    /// Retire key version N: every link it signed stops working, and it leaves the keyring
    Retire {
        /// The key version, as `herald key status` shows it
        #[arg(value_name = "N")]
        version: u32,
    },
    /// Give pending invitations whose key is lost or retired a new link under the current key
    Reissue,
}

#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Add an owner and make a one-time pairing code for their computer (valid 15 minutes)
    Add {
        /// Who or which computer this is, as the list will show it
        #[arg(value_name = "NAME")]
        name: String,
        /// Print the owner and the code as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// List the owners: whether each has paired, and when each was last seen
    List {
        /// Print one JSON object per owner
        #[arg(long)]
        json: bool,
    },
    /// Remove an owner: their computer can no longer act on this Herald, from now on
    Remove {
        /// The owner's number, as `herald owner list` shows it
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on [default: where the window listens: the public URL's
    /// address when it is on this machine (http://127.0.0.1:PORT), else the data folder's
    /// setting (the window's Settings), else 127.0.0.1:8750]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// A reverse proxy or tunnel in front of Herald whose X-Forwarded-For names the real
    /// client (for per-client limits); repeat for several, added to those in the window's
    /// Settings. Nobody else's header is believed
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where paired owners' computers reach this Herald (the owner API); never the site's port
    #[arg(long, value_name = "ADDR", default_value = herald_server::DEFAULT_OWNER_BIND)]
    pub owner_bind: SocketAddr,
    /// The owner API's TLS: Herald's own certificate (the default; owners pin its key when they
    /// pair), or none behind a proxy that terminates TLS, on a loopback address only
    #[arg(long, value_enum, default_value = "herald")]
    pub owner_tls: OwnerTlsArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OwnerTlsArg {
    /// Herald's own certificate, whose key stays in the OS keyring
    Herald,
    /// Plain HTTP, for a TLS-terminating proxy on this machine (loopback addresses only)
    None,
}
