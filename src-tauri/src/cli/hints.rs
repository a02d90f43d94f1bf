//! The command line's words for the core's hints: the command and the flags that do it. The
//! core names the way forward; only here does it become `herald invite resend 3`.

use herald_core::Hint;

/// The hint as the command line says it; `None` for a hint that is no business of the
/// command line's.
pub fn words(hint: Hint) -> Option<String> {
    Some(match hint {
        Hint::RunInit => {
            "run `herald init --team NAME --owner-name NAME --from ADDRESS --public-url URL` first"
                .to_owned()
        }
        Hint::ListInvitations => "`herald invite list` shows the ones there are".to_owned(),
        Hint::Resend { id } => format!("`herald invite resend {id}` mails it again"),
        Hint::Renew { id } => format!("`herald invite renew {id}` makes a new one"),
        Hint::ChangeLimits => "or change the limit with `herald limits`".to_owned(),
        Hint::KeyReissue => {
            "run `herald key reissue` to renew the invitations that need it under a new key"
                .to_owned()
        }
        Hint::KeyStatus => "`herald key status` lists them".to_owned(),
        Hint::KeyRotate => "run `herald key rotate` first, then retire it".to_owned(),
        Hint::SecureSmtp => {
            "use --tls starttls or --tls tls, or say --allow-insecure if you really mean it"
                .to_owned()
        }
        Hint::SmtpUser => "add --user NAME".to_owned(),
        Hint::SetSmtp => {
            "run `herald smtp set --host HOST [--user USER --password-stdin]`".to_owned()
        }
        Hint::CheckSmtp => "check `herald smtp set`: --tls, the port, --ca-file".to_owned(),
        Hint::GiveDataDir => "give one with --data-dir DIR or HERALD_DATA_DIR".to_owned(),
        Hint::NamePerRecipient => {
            "--name applies to one address only: write each as \"Name <address>\" instead"
                .to_owned()
        }
        Hint::QuitHerald => "quit the window and stop `herald serve`, then restore".to_owned(),
        Hint::ChangeBind => "give the address with --bind IP:PORT".to_owned(),
        Hint::KeyringOnServer => "on a server, run Herald inside a D-Bus session with an unlocked gnome-keyring-daemon (see docs/server.md)".to_owned(),
        Hint::UnlockKeyringOnServer => {
            "on a server, unlock gnome-keyring-daemon with --unlock".to_owned()
        }
        Hint::AddOwner => {
            "`herald owner add NAME` on the server makes a new pairing code".to_owned()
        }
        Hint::ListOwners => "`herald owner list` shows the ones there are".to_owned(),
        Hint::Disconnect => {
            "`herald disconnect` forgets the server; then pair again with `herald connect URL --code CODE`".to_owned()
        }
        Hint::RunOnServer => {
            "run it on the server, or `herald disconnect` to use Herald on this computer alone".to_owned()
        }
    })
}

/// The message and the command line's words for its hint, as one line's text.
pub fn sentence(message: &str, hint: Option<Hint>) -> String {
    crate::with_hint(message, hint.and_then(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_join_the_message() {
        assert_eq!(
            sentence("there is no invitation #9", Some(Hint::ListInvitations)),
            "there is no invitation #9; `herald invite list` shows the ones there are"
        );
        assert_eq!(
            sentence("done.", Some(Hint::SmtpUser)),
            "done. Add --user NAME."
        );
        assert_eq!(sentence("plain", None), "plain");
    }
}
