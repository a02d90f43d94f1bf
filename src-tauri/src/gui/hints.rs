//! The window's words for the core's hints: the screen, the section or the button that does
//! it. The core names the way forward; the command line words the same hint as a command.

use herald_core::Hint;

/// The hint as the window says it; `None` for a hint that is no business of the window's
/// (how to run the keyring on a server, say).
pub fn words(hint: Hint) -> Option<String> {
    Some(match hint {
        Hint::RunInit => {
            "finish the first step of the setup (team, sender and public address) first".to_owned()
        }
        Hint::ListInvitations => "the Status screen lists the ones there are".to_owned(),
        Hint::Resend { id } => {
            format!("open #{id} on the Status screen and press Resend to mail it again")
        }
        Hint::Renew { id } => {
            format!("open #{id} on the Status screen and press Renew to give it a new link")
        }
        Hint::ChangeLimits => "or raise the limit in Settings → Sending limits".to_owned(),
        Hint::KeyReissue => "press Rotate key in Settings → Signing keys, then renew the invitations that need it from the Status screen".to_owned(),
        Hint::KeyStatus => "Settings → Signing keys lists them".to_owned(),
        Hint::KeyRotate => {
            "press Rotate key in Settings → Signing keys first, then retire it".to_owned()
        }
        Hint::SecureSmtp => "choose STARTTLS or TLS under Security, or tick “Allow plaintext to another machine” if you really mean it".to_owned(),
        Hint::SmtpUser => "fill in the user name".to_owned(),
        Hint::SetSmtp => {
            "fill in the mail server first (the setup, or Settings → Mail server)".to_owned()
        }
        Hint::CheckSmtp => {
            "check Security and Port in Settings → Mail server (and the CA file, if one is set)"
                .to_owned()
        }
        Hint::GiveDataDir => {
            "set HERALD_DATA_DIR to a folder of your own and start Herald again".to_owned()
        }
        Hint::NamePerRecipient => "write each as “Name <address>”".to_owned(),
        Hint::QuitHerald => {
            "quit Herald (Settings → Quit Herald) and stop `herald serve`, then restore".to_owned()
        }
        Hint::ChangeBind => "the address is set in Settings → Confirmation site".to_owned(),
        Hint::AddOwner => {
            "ask whoever runs your always-on Herald for a new pairing code".to_owned()
        }
        Hint::Disconnect => "forget the server in Settings → Server, then connect again with a new code".to_owned(),
        Hint::RunOnServer => "do it on the server itself".to_owned(),
        // The window has no list of owners (yet): that is the server's business.
        Hint::KeyringOnServer | Hint::UnlockKeyringOnServer | Hint::ListOwners => return None,
    })
}

/// The message and the window's words for its hint as one text, for the places that show a
/// single string (the site's state, the outbox's live events, the keyring's problem).
pub fn sentence(message: &str, hint: Option<Hint>) -> String {
    crate::with_hint(message, hint.and_then(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_names_screens_not_commands() {
        for hint in [
            Hint::RunInit,
            Hint::ListInvitations,
            Hint::Resend { id: 3 },
            Hint::Renew { id: 3 },
            Hint::ChangeLimits,
            Hint::KeyReissue,
            Hint::KeyStatus,
            Hint::KeyRotate,
            Hint::SecureSmtp,
            Hint::SmtpUser,
            Hint::SetSmtp,
            Hint::CheckSmtp,
            Hint::GiveDataDir,
            Hint::NamePerRecipient,
            Hint::ChangeBind,
            Hint::AddOwner,
        ] {
            let w = words(hint).unwrap();
            assert!(!w.contains("--"), "{hint:?}: {w}");
        }
        assert_eq!(
            sentence("x already has a pending invitation (#3)", Some(Hint::Resend { id: 3 })),
            "x already has a pending invitation (#3); open #3 on the Status screen and press Resend to mail it again"
        );
        assert_eq!(words(Hint::KeyringOnServer), None);
    }
}
