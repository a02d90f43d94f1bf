//! What the user can do about an error, named for what it is, not for how a face offers it.
//!
//! The core knows nothing about its faces (GitButler's `but-error` puts it the same way): an
//! error's message says what went wrong in words that fit every face, and its [`Hint`] names the
//! way forward. The command line words a hint with a command and its flags (`herald invite
//! resend 3`), the window with a screen or a button (Settings → Sending limits), and the
//! confirmation site shows owners' hints to nobody: invitees never see them.

/// The way forward from an error. Each face words it in its own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// Herald is not set up: give the team, the owner, the sender address and the public URL.
    RunInit,
    /// See which invitations there are.
    ListInvitations,
    /// Invitation `id` can be mailed again.
    Resend { id: i64 },
    /// Invitation `id` can get a new link.
    Renew { id: i64 },
    /// The limits of mails per address can be changed.
    ChangeLimits,
    /// Renew the invitations whose signing key is missing or different, under a new key.
    KeyReissue,
    /// See which signing key versions there are.
    KeyStatus,
    /// Make a new signing key the current one first.
    KeyRotate,
    /// Secure the SMTP connection (STARTTLS or TLS), or choose plaintext explicitly.
    SecureSmtp,
    /// Give the SMTP user name that goes with the password.
    SmtpUser,
    /// Set up the SMTP server.
    SetSmtp,
    /// Check the SMTP settings that decide the connection: security (TLS mode), port, CA file.
    CheckSmtp,
    /// Name the data folder explicitly.
    GiveDataDir,
    /// A display name given apart from the addresses applies to one address only: write each
    /// recipient as `Name <address>` instead.
    NamePerRecipient,
    /// Stop every Herald running on the data folder (the window, the service) first.
    QuitHerald,
    /// Choose the address the confirmation site listens on.
    ChangeBind,
    /// On a machine without a desktop session (a server), the keyring needs a D-Bus session
    /// with an unlocked gnome-keyring-daemon. Only given where that is how the keyring works.
    KeyringOnServer,
    /// On a machine without a desktop session (a server), gnome-keyring-daemon must be
    /// unlocked. Only given where that is how the keyring works.
    UnlockKeyringOnServer,
    /// A computer pairs with a new code, which adding the owner (again) on the server makes.
    AddOwner,
    /// See which owners there are.
    ListOwners,
    /// Forget the paired server on this computer (and pair again with a new code).
    Disconnect,
    /// This runs where the data is: on the always-on Herald itself.
    RunOnServer,
}
