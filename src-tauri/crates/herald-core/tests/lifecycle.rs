//! The core against real parts: SQLite files on disk, and a keyring of each test's own: in
//! memory, or the real OS keyring for the tests about the keyring itself (see
//! [`keyring_tests`]). Each test gets its own data folder and keyring service name, so tests
//! never see each other's keys.

use std::path::Path;

use herald_core::secrets::{KeyringError, MemoryKeyringFailure};
use herald_core::token::{self, Claims, HmacKey, Purpose};
use herald_core::{
    AuditAction, Error, ErrorKind, Herald, Hint, KeyPresence, Limits, LinkCheck, ListFilter,
    NewInvitations, OptOutSource, SmtpParams, Status, Superseded, TlsMode,
};
use secrecy::{ExposeSecret, SecretString};

use crate::common::{deliver, invite, params, Fixture, DAY, START};

/// The tests about the keyring itself (a key read back by a new process, deleted, lost,
/// replaced; the SMTP password kept there and dropped) run twice: on an in-memory keyring
/// always, and on the OS keyring with the feature `real-keyring-tests`, which needs a Secret
/// Service (CI turns it on inside `scripts/with-keyring.sh`).
macro_rules! keyring_tests {
    ($($name:ident),* $(,)?) => {
        mod memory_keyring {
            $( #[test] fn $name() { super::$name(super::Fixture::new()) } )*
        }
        #[cfg(feature = "real-keyring-tests")]
        mod os_keyring {
            $( #[test] fn $name() { super::$name(super::Fixture::os_keyring()) } )*
        }
    };
}

keyring_tests!(
    a_link_lives_until_it_expires_and_says_so,
    rotation_keeps_old_links_and_retirement_ends_them,
    a_key_lost_from_the_keyring_is_reported_and_reissued,
    a_different_key_in_the_keyring_is_noticed,
    smtp_password_goes_to_the_keyring_only,
    the_smtp_password_never_follows_a_changed_server,
);

fn token_for(h: &Herald, id: i64) -> String {
    h.mint_link(id).unwrap().token.expose().to_owned()
}

fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn bad_init_writes_nothing_and_open_needs_init() {
    let f = Fixture::new();
    let mut p = params();
    p.public_url = "http://invite.example.com".into();
    let e = Herald::init(f.opts(), &p).unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");
    assert!(!f.dir.path().join("data").exists());
    let e = Herald::open(f.opts()).unwrap_err();
    assert!(matches!(e, Error::NotInitialised { .. }), "{e}");
    assert!(!f.dir.path().join("data").exists());
}

fn a_link_lives_until_it_expires_and_says_so(f: Fixture) {
    let h = f.init();
    let ids = invite(
        &h,
        &[
            "Ada@Example.com",
            "ada@example.com",
            "Grace <grace@bücher.example>",
        ],
    );
    assert_eq!(ids.len(), 2, "duplicates fold");
    let grace = h.invitation(ids[1]).unwrap();
    assert_eq!(grace.email, "grace@xn--bcher-kva.example");
    assert_eq!(grace.name.as_deref(), Some("Grace"));
    assert_eq!(grace.expires_at, START + 7 * DAY);

    let t = token_for(&h, ids[0]);
    assert!(matches!(h.check_link(&t).unwrap(), LinkCheck::Live(i) if i.id == ids[0]));
    // Another process with a cold cache reads the key back from the keyring.
    assert!(matches!(
        f.reopen().check_link(&t).unwrap(),
        LinkCheck::Live(_)
    ));

    f.clock.advance(7 * DAY);
    assert!(matches!(h.check_link(&t).unwrap(), LinkCheck::Expired(_)));
    assert_eq!(h.invitation(ids[0]).unwrap().status, Status::Expired);
    let history = h.history(ids[0]).unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.action, last.to_status),
        (AuditAction::Expired, Some(Status::Expired))
    );
}

#[test]
fn forged_tokens_and_other_claims_are_refused() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let t = token_for(&h, id);

    let mut flipped = t.clone().into_bytes();
    flipped[30] = if flipped[30] == b'x' { b'y' } else { b'x' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        &flipped[..],
        &t[..t.len() - 1],
        &format!("{t}A"),
        "",
        "not a token",
    ] {
        assert_eq!(h.check_link(bad).unwrap(), LinkCheck::Invalid, "{bad:?}");
    }

    // A token minted with the right key and nonce but other claims is worthless.
    let key = h
        .keyring()
        .get_key(1)
        .unwrap()
        .expect("key v1 in the keyring");
    let inv = h.invitation(id).unwrap();
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    let nonce: Vec<u8> = db
        .query_row(
            "SELECT nonce FROM links WHERE invitation_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let nonce: [u8; token::NONCE_LEN] = nonce.try_into().unwrap();
    let good = Claims {
        key_version: 1,
        invitation_id: id,
        email: &inv.email,
        expires_at: inv.expires_at,
        nonce: &nonce,
    };
    assert_eq!(token::mint(&key, Purpose::Invitation, &good).expose(), t);
    for other in [
        Claims {
            email: "eve@example.com",
            ..good
        },
        Claims {
            expires_at: inv.expires_at + DAY,
            ..good
        },
        Claims {
            invitation_id: id + 1,
            ..good
        },
        Claims {
            key_version: 2,
            ..good
        },
    ] {
        let forged = token::mint(&key, Purpose::Invitation, &other);
        assert_eq!(h.check_link(forged.expose()).unwrap(), LinkCheck::Invalid);
    }
    let wrong_key = HmacKey::from_bytes(&[1; token::KEY_LEN]);
    let forged = token::mint(&wrong_key, Purpose::Invitation, &good);
    assert_eq!(h.check_link(forged.expose()).unwrap(), LinkCheck::Invalid);
    let unsubscribe = token::mint(&key, Purpose::Unsubscribe, &good);
    assert_eq!(
        h.check_link(unsubscribe.expose()).unwrap(),
        LinkCheck::Invalid
    );

    // Editing the address in the database kills the link instead of moving it.
    db.execute(
        "UPDATE links SET email = 'eve@example.com' WHERE invitation_id = ?1",
        [id],
    )
    .unwrap();
    assert_eq!(h.check_link(&t).unwrap(), LinkCheck::Invalid);
}

#[test]
fn resend_keeps_the_link_renew_replaces_it_revoke_ends_it() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let first = token_for(&h, id);

    let e = h.resend(id).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NothingToResend {
                status: Status::Queued,
                ..
            }
        ),
        "{e}"
    );
    f.mark_sent(id);
    assert_eq!(h.resend(id).unwrap().status, Status::Queued);
    assert_eq!(token_for(&h, id), first, "a resend mails the same link");

    f.clock.advance(DAY);
    let renewed = h.renew(id, Some("2d")).unwrap();
    assert_eq!(renewed.invitation.expires_at, START + 3 * DAY);
    let second = token_for(&h, id);
    assert_ne!(second, first);
    assert!(matches!(
        h.check_link(&first).unwrap(),
        LinkCheck::Ended(Superseded::Renewed, _)
    ));
    assert!(matches!(h.check_link(&second).unwrap(), LinkCheck::Live(_)));

    assert_eq!(h.revoke(id).unwrap().status, Status::Revoked);
    assert!(matches!(
        h.check_link(&second).unwrap(),
        LinkCheck::Revoked(_)
    ));
    let e = h.revoke(id).unwrap_err();
    assert!(matches!(e, Error::IllegalTransition { .. }), "{e}");
    let e = h.renew(id, None).unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    assert!(matches!(
        h.mint_link(id).unwrap_err(),
        Error::LinkEnded { .. }
    ));

    // A revoked address can be invited again; a pending one cannot.
    let again = invite(&h, &["ada@example.com"])[0];
    let e = h
        .create_invitations(&NewInvitations {
            recipients: vec!["ADA@example.com".into()],
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(
        matches!(e, Error::AlreadyInvited { id, .. } if id == again),
        "{e}"
    );

    let actions: Vec<AuditAction> = h
        .history(id)
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    use AuditAction::{Created, Renewed, Resend, Revoked};
    assert_eq!(actions, [Created, Resend, Renewed, Revoked]);
}

#[test]
fn an_expired_invitation_is_renewed_by_resend() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let old = token_for(&h, id);
    f.clock.advance(8 * DAY);
    let inv = h.resend(id).unwrap();
    assert_eq!(inv.status, Status::Queued);
    assert_eq!(inv.expires_at, START + 15 * DAY);
    assert!(matches!(
        h.check_link(&old).unwrap(),
        LinkCheck::Ended(Superseded::Renewed, _)
    ));
    assert!(matches!(
        h.check_link(&token_for(&h, id)).unwrap(),
        LinkCheck::Live(_)
    ));
}

#[test]
fn a_bad_batch_creates_nothing() {
    let f = Fixture::new();
    let h = f.init();
    let e = h
        .create_invitations(&NewInvitations {
            recipients: vec!["ok@example.com".into(), "broken".into()],
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("\"broken\""), "{e}");
    let e = h
        .create_invitations(&NewInvitations {
            recipients: vec!["ok@example.com".into()],
            role: Some("admin\r\nBcc: eve@example.com".into()),
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("role"), "{e}");
    assert!(h.invitations(&ListFilter::default()).unwrap().is_empty());
    // Nothing minted either: the first key is made on first real use.
    assert!(h.key_status().unwrap().versions.is_empty());
}

fn rotation_keeps_old_links_and_retirement_ends_them(f: Fixture) {
    let h = f.init();
    let old_id = invite(&h, &["ada@example.com"])[0];
    let old = token_for(&h, old_id);
    assert_eq!(h.rotate_key().unwrap(), 2);
    let new_id = invite(&h, &["grace@example.com"])[0];
    assert_eq!(h.invitation(new_id).unwrap().key_version, 2);
    assert!(matches!(h.check_link(&old).unwrap(), LinkCheck::Live(_)));

    let e = h.retire_key(2).unwrap_err();
    assert!(matches!(e, Error::RetireCurrentKey(2)), "{e}");
    assert!(matches!(
        h.retire_key(9).unwrap_err(),
        Error::NoSuchKeyVersion(9)
    ));

    f.mark_sent(old_id);
    let report = h.retire_key(1).unwrap();
    assert_eq!(report.ended, vec![old_id]);
    assert_eq!(h.check_link(&old).unwrap(), LinkCheck::Invalid);
    assert!(
        f.reopen().keyring().get_key(1).unwrap().is_none(),
        "deleted from the keyring"
    );
    assert!(matches!(
        h.retire_key(1).unwrap_err(),
        Error::KeyAlreadyRetired(1)
    ));

    let status = h.key_status().unwrap();
    assert_eq!(status.versions[0].presence, KeyPresence::Retired);
    assert!(status.versions[1].current);
    assert_eq!(status.needing_reissue, vec![old_id]);

    let r = h.reissue().unwrap();
    assert_eq!(
        (r.current_version, r.rotated, r.renewed.clone()),
        (2, false, vec![old_id])
    );
    let inv = h.invitation(old_id).unwrap();
    assert_eq!(
        (inv.status, inv.key_version, inv.expires_at),
        (Status::Queued, 2, START + 7 * DAY)
    );
    assert!(matches!(
        h.check_link(&token_for(&h, old_id)).unwrap(),
        LinkCheck::Live(_)
    ));
    assert!(h.key_status().unwrap().needing_reissue.is_empty());
}

fn a_key_lost_from_the_keyring_is_reported_and_reissued(f: Fixture) {
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let old = token_for(&h, id);
    h.keyring().delete_key(1).unwrap();

    let h = f.reopen();
    let e = h
        .create_invitations(&NewInvitations {
            recipients: vec!["grace@example.com".into()],
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::KeyMissing {
                version: 1,
                pending: 1
            }
        ),
        "{e}"
    );
    assert_eq!(e.hint(), Some(Hint::KeyReissue), "{e}");
    let e = h.check_link(&old).unwrap_err();
    assert!(matches!(e, Error::KeyMissing { .. }), "{e}");
    let status = h.key_status().unwrap();
    assert_eq!(status.versions[0].presence, KeyPresence::Missing);
    assert_eq!(status.needing_reissue, vec![id]);

    let r = h.reissue().unwrap();
    assert_eq!((r.current_version, r.rotated), (2, true));
    assert_eq!((r.retired.clone(), r.renewed.clone()), (vec![1], vec![id]));
    assert_eq!(h.check_link(&old).unwrap(), LinkCheck::Invalid);
    assert!(matches!(
        h.check_link(&token_for(&h, id)).unwrap(),
        LinkCheck::Live(_)
    ));
    invite(&h, &["grace@example.com"]);
}

fn a_different_key_in_the_keyring_is_noticed(f: Fixture) {
    let h = f.init();
    invite(&h, &["ada@example.com"]);
    h.keyring()
        .put_key(1, &HmacKey::generate().unwrap())
        .unwrap();
    let h = f.reopen();
    let e = h.mint_link(1).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { version: 1 }), "{e}");
    assert_eq!(
        h.key_status().unwrap().versions[0].presence,
        KeyPresence::Mismatch
    );
    assert_eq!(h.reissue().unwrap().renewed, vec![1]);
    h.mint_link(1).unwrap();
}

fn smtp_password_goes_to_the_keyring_only(f: Fixture) {
    let h = f.init();
    let password = "correct horse battery staple";
    let p = SmtpParams {
        host: "SMTP.Example.com".into(),
        port: 587,
        tls: TlsMode::Starttls,
        user: Some("owner".into()),
        password: Some(SecretString::from(password)),
        allow_insecure: false,
        ca_file: None,
        bounce_address: None,
    };
    let smtp = h.set_smtp(&p).unwrap().settings;
    assert_eq!(smtp.host, "smtp.example.com");
    assert!(h.has_smtp_password().unwrap());
    assert_eq!(
        h.keyring()
            .smtp_password()
            .unwrap()
            .unwrap()
            .expose_secret(),
        password
    );
    assert!(!contains(
        &all_bytes_under(&f.dir.path().join("data")),
        password
    ));
    assert!(!format!("{p:?}").contains(password));

    let insecure = SmtpParams {
        tls: TlsMode::None,
        password: None,
        ..p.clone()
    };
    let e = h.set_smtp(&insecure).unwrap_err();
    assert_eq!(e.hint(), Some(Hint::SecureSmtp), "{e}");
    assert_eq!(
        h.smtp().unwrap().unwrap().tls,
        TlsMode::Starttls,
        "unchanged"
    );
    let local = SmtpParams {
        host: "127.0.0.1".into(),
        tls: TlsMode::None,
        user: None,
        password: None,
        ..p
    };
    h.set_smtp(&local).unwrap();
    assert!(!h.has_smtp_password().unwrap(), "no user, no password kept");
}

/// A keyring that is locked or cannot be reached stops everything that needs a key, as a
/// failure around Herald, and nothing is written; once it is back, all works again.
#[test]
fn a_locked_or_unreachable_keyring_is_reported_and_changes_nothing() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let token = token_for(&h, id);
    for failure in [
        MemoryKeyringFailure::Locked,
        MemoryKeyringFailure::Unreachable,
    ] {
        f.memory().fail_with(Some(failure));
        // A new process: nothing in its key cache, so it must ask the keyring.
        let cold = f.reopen();
        let e = cold
            .create_invitations(&NewInvitations {
                recipients: vec!["grace@example.com".into()],
                ..NewInvitations::default()
            })
            .unwrap_err();
        match failure {
            MemoryKeyringFailure::Locked => assert!(
                matches!(e, Error::Keyring(KeyringError::Locked { .. })),
                "{e}"
            ),
            _ => assert!(
                matches!(e, Error::Keyring(KeyringError::Unreachable { .. })),
                "{e}"
            ),
        }
        assert_eq!(e.kind(), ErrorKind::Environment);
        assert!(matches!(
            cold.check_link(&token).unwrap_err(),
            Error::Keyring(_)
        ));
        assert!(matches!(cold.rotate_key().unwrap_err(), Error::Keyring(_)));
        assert!(matches!(cold.key_status().unwrap_err(), Error::Keyring(_)));
    }
    f.memory().fail_with(None);
    let h = f.reopen();
    assert_eq!(h.invitations(&ListFilter::default()).unwrap().len(), 1);
    assert_eq!(h.key_status().unwrap().versions.len(), 1, "no key was made");
    assert!(matches!(h.check_link(&token).unwrap(), LinkCheck::Live(_)));
}

/// The keyring is written before the settings: when it refuses the password, the settings
/// stay as they were.
#[test]
fn a_keyring_that_refuses_the_password_leaves_the_settings_as_they_were() {
    let f = Fixture::new();
    let h = f.init();
    f.memory().fail_with(Some(MemoryKeyringFailure::Refused));
    let e = h
        .set_smtp(&SmtpParams {
            host: "smtp.example.com".into(),
            port: 587,
            tls: TlsMode::Starttls,
            user: Some("owner".into()),
            password: Some(SecretString::from("hunter2")),
            allow_insecure: false,
            ca_file: None,
            bounce_address: None,
        })
        .unwrap_err();
    assert!(
        matches!(e, Error::Keyring(KeyringError::Refused { .. })),
        "{e}"
    );
    assert!(h.smtp().unwrap().is_none());
    f.memory().fail_with(None);
    assert!(!h.has_smtp_password().unwrap());
    assert!(f.memory().accounts(&f.service).is_empty());
}

/// A stored password is for the server and user it was typed for: saving the settings with
/// another host, port or user and no new password removes it, so it can never be handed to
/// a server the owner did not give it to. Other changes keep it.
fn the_smtp_password_never_follows_a_changed_server(f: Fixture) {
    let h = f.init();
    let p = SmtpParams {
        host: "smtp.example.com".into(),
        port: 587,
        tls: TlsMode::Starttls,
        user: Some("owner".into()),
        password: Some(SecretString::from("hunter2 for example.com")),
        allow_insecure: false,
        ca_file: None,
        bounce_address: None,
    };
    assert!(!h.set_smtp(&p).unwrap().password_dropped);
    let keep = SmtpParams {
        password: None,
        ..p.clone()
    };
    // The same server and user, another TLS mode and bounce address: kept.
    let saved = h
        .set_smtp(&SmtpParams {
            host: "SMTP.EXAMPLE.COM".into(),
            tls: TlsMode::Tls,
            bounce_address: Some("bounces@example.com".into()),
            ..keep.clone()
        })
        .unwrap();
    assert!(!saved.password_dropped);
    assert!(h.has_smtp_password().unwrap());
    for changed in [
        SmtpParams {
            host: "mail.attacker.example".into(),
            ..keep.clone()
        },
        SmtpParams {
            port: 2525,
            ..keep.clone()
        },
        SmtpParams {
            user: Some("someone-else".into()),
            ..keep.clone()
        },
    ] {
        h.set_smtp(&p).unwrap();
        let saved = h.set_smtp(&changed).unwrap();
        assert!(saved.password_dropped, "{changed:?}");
        assert!(!h.has_smtp_password().unwrap(), "{changed:?}");
        // Saving again says nothing more was removed.
        assert!(!h.set_smtp(&changed).unwrap().password_dropped);
    }
    // A new server with its own password keeps that one.
    let own = SmtpParams {
        host: "smtp.elsewhere.example".into(),
        password: Some(SecretString::from("its own")),
        ..p.clone()
    };
    assert!(!h.set_smtp(&own).unwrap().password_dropped);
    assert_eq!(
        h.keyring()
            .smtp_password()
            .unwrap()
            .unwrap()
            .expose_secret(),
        "its own"
    );
}

/// Mail services that file a copy of everything they send are named when the settings point
/// at them, whether by the sender's domain or the server.
#[test]
fn a_server_that_keeps_sent_copies_is_named() {
    let f = Fixture::new();
    let h = f.init();
    let p = SmtpParams {
        host: "smtp.gmail.com".into(),
        port: 587,
        tls: TlsMode::Starttls,
        user: None,
        password: None,
        allow_insecure: false,
        ca_file: None,
        bounce_address: None,
    };
    let saved = h.set_smtp(&p).unwrap();
    let copy = saved.sent_copy.expect("gmail keeps copies");
    assert!(copy.to_string().contains("Sent folder"), "{copy}");
    let saved = h
        .set_smtp(&SmtpParams {
            host: "smtp.postmarkapp.com".into(),
            ..p
        })
        .unwrap();
    assert_eq!(saved.sent_copy, None);
}

#[test]
fn no_token_or_code_is_ever_stored() {
    let f = Fixture::new();
    let h = f.init();
    let ids = invite(&h, &["ada@example.com", "grace@example.com"]);
    h.rotate_key().unwrap();
    h.renew(ids[1], None).unwrap();
    let data = all_bytes_under(&f.dir.path().join("data"));
    for id in ids {
        let link = h.mint_link(id).unwrap();
        assert!(!contains(&data, link.token.expose()));
        assert!(!contains(&data, link.code.expose()));
        assert!(!format!("{link:?}").contains(link.token.expose()));
    }
}

#[test]
fn init_again_updates_settings_and_keeps_the_install() {
    let f = Fixture::new();
    let h = f.init();
    invite(&h, &["ada@example.com"]);
    let mut p = params();
    p.team = "Difference Engines".into();
    p.default_expiry = Some("3d".into());
    let (h, outcome) = Herald::init(f.opts(), &p).unwrap();
    assert_eq!(outcome, herald_core::InitOutcome::Updated);
    assert_eq!(h.general().unwrap().team, "Difference Engines");
    assert!(matches!(
        h.check_link(&token_for(&h, 1)).unwrap(),
        LinkCheck::Live(_)
    ));
    let grace = invite(&h, &["grace@example.com"])[0];
    assert_eq!(h.invitation(grace).unwrap().expires_at, START + 3 * DAY);
}

/// What the outbox does when the server accepts the mail.

#[test]
fn an_opt_out_withdraws_and_blocks_for_good() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["ada@example.com"])[0];
    let t = token_for(&h, id);
    assert!(h
        .opt_out("ADA@example.com", OptOutSource::OneClick)
        .unwrap());
    assert!(
        !h.opt_out("ada@example.com", OptOutSource::NeverAgain)
            .unwrap(),
        "already"
    );
    assert!(h.is_opted_out("ada@example.com").unwrap());
    assert_eq!(h.invitation(id).unwrap().status, Status::Revoked);
    assert!(matches!(h.check_link(&t).unwrap(), LinkCheck::Revoked(_)));
    let last = h.history(id).unwrap().pop().unwrap();
    assert_eq!(
        (last.action, last.actor),
        (AuditAction::OptedOut, herald_core::Actor::Invitee)
    );

    let e = h
        .create_invitations(&NewInvitations {
            recipients: vec!["grace@example.com".into(), "Ada <ada@example.com>".into()],
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(matches!(e, Error::OptedOut { .. }), "{e}");
    assert!(e.to_string().contains("nobody can override it"), "{e}");
    assert_eq!(
        h.invitations(&ListFilter::default()).unwrap().len(),
        1,
        "all or nothing"
    );
}

#[test]
fn mails_per_address_are_limited_per_day_and_month() {
    let f = Fixture::new();
    let h = f.init();
    assert_eq!(
        h.limits().unwrap(),
        Limits {
            per_day: 3,
            per_month: 5
        }
    );
    assert!(h
        .set_limits(Limits {
            per_day: 0,
            per_month: 5
        })
        .is_err());
    assert!(h
        .set_limits(Limits {
            per_day: 4,
            per_month: 3
        })
        .is_err());
    h.set_limits(Limits {
        per_day: 2,
        per_month: 3,
    })
    .unwrap();

    let id = invite(&h, &["ada@example.com"])[0];
    deliver(&h);
    h.resend(id).unwrap();
    deliver(&h);
    let e = h.resend(id).unwrap_err();
    assert!(
        matches!(
            e,
            Error::MailLimit {
                count: 2,
                period: "day",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        h.invitation(id).unwrap().status,
        Status::Sent,
        "nothing changed"
    );

    f.clock.advance(DAY + 1);
    h.resend(id).unwrap();
    deliver(&h);
    f.clock.advance(DAY + 1);
    let e = h.renew(id, None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::MailLimit {
                count: 3,
                period: "30 days",
                ..
            }
        ),
        "{e}"
    );
    f.clock.advance(30 * DAY);
    h.renew(id, None).unwrap();
}

fn wrong_code_rows(f: &Fixture, id: Option<i64>) -> i64 {
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    db.query_row(
        "SELECT count(*) FROM audit WHERE action = 'wrong-code' AND invitation_id IS ?1",
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

/// Five wrong codes lock the code path of that link only: a renewed invitation mails a new
/// code, which starts a count of its own. Before, anyone who knew an invitee's address could
/// deny them the code path for good.
#[test]
fn a_renewed_code_starts_a_new_count() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["grace@example.com"])[0];
    deliver(&h);
    let code = h.mint_link(id).unwrap().code.expose().to_owned();
    for _ in 0..herald_core::CODE_ATTEMPTS {
        let (check, _) = h.check_code("grace@example.com", "ZZZZZZZZ").unwrap();
        assert_eq!(check, herald_core::CodeCheck::Refused);
    }
    // Locked: even the right code is refused now; resending the same mail keeps the count.
    let (check, _) = h.check_code("grace@example.com", &code).unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);
    h.resend(id).unwrap();
    deliver(&h);
    let (check, _) = h.check_code("grace@example.com", &code).unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);

    h.renew(id, None).unwrap();
    deliver(&h);
    let fresh = h.mint_link(id).unwrap().code.expose().to_owned();
    assert_ne!(fresh, code);
    let (check, _) = h.check_code("grace@example.com", &fresh).unwrap();
    assert!(
        matches!(check, herald_core::CodeCheck::Valid(ref c) if matches!(**c, LinkCheck::Live(_))),
        "{check:?}"
    );
    // The old code stays dead.
    let (check, _) = h.check_code("grace@example.com", &code).unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);
}

/// The check and the count are one step: ten wrong codes at once, each from its own
/// connection (as from separate processes), are looked at one after another, so no more
/// than five are ever checked and then the right one is refused too.
#[test]
fn simultaneous_wrong_codes_are_all_counted() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["grace@example.com"])[0];
    deliver(&h);
    let code = h.mint_link(id).unwrap().code.expose().to_owned();
    let handles: Vec<Herald> = (0..10).map(|_| f.reopen()).collect();
    // Each handle reads its key once before the race, as a running site would have.
    for hh in &handles {
        hh.check_link("warm-up").unwrap();
        hh.mint_link(id).unwrap();
    }
    let barrier = std::sync::Barrier::new(handles.len());
    std::thread::scope(|s| {
        for hh in &handles {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let (check, _) = hh.check_code("grace@example.com", "ZZZZZZZZ").unwrap();
                assert_eq!(check, herald_core::CodeCheck::Refused);
            });
        }
    });
    assert_eq!(
        wrong_code_rows(&f, Some(id)),
        i64::from(herald_core::CODE_ATTEMPTS),
        "exactly five wrong codes were looked at and counted"
    );
    let (check, _) = h.check_code("grace@example.com", &code).unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);
}

/// A code typed for an address with no open invitation goes through the same kind of write
/// as a wrong code for a known address (one audit row), so it costs the same time: how long
/// the answer takes does not tell who has been invited.
#[test]
fn a_code_for_an_unknown_address_costs_what_a_wrong_one_costs() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["grace@example.com"])[0];
    deliver(&h);
    let (check, _) = h.check_code("nobody@example.com", "ZZZZZZZZ").unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);
    assert_eq!(wrong_code_rows(&f, None), 1);
    let (check, _) = h.check_code("grace@example.com", "ZZZZZZZZ").unwrap();
    assert_eq!(check, herald_core::CodeCheck::Refused);
    assert_eq!(wrong_code_rows(&f, Some(id)), 1);
    // The anonymous row never names the address that was typed.
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    let detail: String = db
        .query_row(
            "SELECT detail FROM audit WHERE invitation_id IS NULL AND action = 'wrong-code'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!detail.contains("nobody"), "{detail}");
    // The owner's history of the invitation shows only what concerns it.
    assert_eq!(
        h.history(id)
            .unwrap()
            .iter()
            .filter(|e| e.action == AuditAction::WrongCode)
            .count(),
        1
    );
}

/// Answering marks the invitation opened: the funnel never shows more answers than openings,
/// even when the opening was taken for a scanner's.
#[test]
fn an_answer_marks_the_invitation_opened() {
    let f = Fixture::new();
    let h = f.init();
    let id = invite(&h, &["grace@example.com"])[0];
    deliver(&h);
    let token = token_for(&h, id);
    let (check, _) = h
        .visit_link(
            &token,
            herald_core::Visit {
                head: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        matches!(check, LinkCheck::Live(ref i) if i.opened_at.is_none() && i.scanned_at.is_some())
    );
    let (answered, _) = h.answer_link(&token, herald_core::Answer::Accept).unwrap();
    assert!(matches!(answered, herald_core::Answered::Done(ref i) if i.opened_at == Some(START)));
}

/// A person who opens the link seconds after the mail arrives is not taken for a scanner on
/// timing alone: their browser says a person navigated there. Without that, the timing
/// still counts.
#[test]
fn a_quick_person_is_not_taken_for_a_scanner() {
    let f = Fixture::new();
    let h = f.init();
    let ids = invite(&h, &["grace@example.com", "alan@example.com"]);
    deliver(&h);
    deliver(&h);
    let browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36";
    let (person, _) = h
        .visit_link(
            &token_for(&h, ids[0]),
            herald_core::Visit {
                head: false,
                user_agent: Some(browser),
                user_navigation: true,
            },
        )
        .unwrap();
    assert!(
        matches!(person, LinkCheck::Live(ref i) if i.opened_at.is_some() && i.scanned_at.is_none())
    );
    let (machine, _) = h
        .visit_link(
            &token_for(&h, ids[1]),
            herald_core::Visit {
                head: false,
                user_agent: Some(browser),
                user_navigation: false,
            },
        )
        .unwrap();
    assert!(
        matches!(machine, LinkCheck::Live(ref i) if i.opened_at.is_none() && i.scanned_at.is_some())
    );
}
