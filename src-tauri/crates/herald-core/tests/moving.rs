//! Moving a Herald to another computer: `export` on one, `import` on another. Each "computer"
//! is a data folder with an in-memory keyring of its own, so nothing but the file crosses.

use herald_core::secrets::MemoryKeyringFailure;
use herald_core::token::HmacKey;
use herald_core::{
    Error, ErrorKind, Herald, KeyPresence, LinkCheck, MoveError, SmtpParams, TlsMode,
};
use secrecy::{ExposeSecret, SecretString};

use crate::common::{invite, Fixture};

const PASSPHRASE: &str = "correct horse battery staple";

fn passphrase(p: &str) -> SecretString {
    SecretString::from(p)
}

fn token_for(h: &Herald, id: i64) -> String {
    h.mint_link(id).unwrap().token.expose().to_owned()
}

/// A Herald with links under two key versions and an SMTP password, exported to a file.
fn exported(f: &Fixture) -> (std::path::PathBuf, Vec<String>) {
    let h = f.init();
    h.set_smtp(&SmtpParams {
        host: "smtp.example.com".into(),
        port: 587,
        tls: TlsMode::Starttls,
        user: Some("owner".into()),
        password: Some(passphrase("the smtp password")),
        allow_insecure: false,
        ca_file: None,
        bounce_address: None,
    })
    .unwrap();
    let first = invite(&h, &["ada@example.com"]);
    let mut tokens = vec![token_for(&h, first[0])];
    h.rotate_key().unwrap();
    let second = invite(&h, &["grace@example.com"]);
    tokens.push(token_for(&h, second[0]));
    let file = f.dir.path().join("herald.move");
    let e = h.export(&file, &passphrase(PASSPHRASE)).unwrap();
    assert_eq!(e.invitations, 2);
    assert_eq!(e.key_versions, [1, 2]);
    assert!(e.missing_keys.is_empty());
    assert!(e.smtp_password);
    (file, tokens)
}

#[test]
fn links_and_the_smtp_password_survive_the_move() {
    let laptop = Fixture::new();
    let (file, tokens) = exported(&laptop);
    let server = Fixture::new();
    let i = Herald::import(server.opts(), &file, &passphrase(PASSPHRASE)).unwrap();
    assert_eq!(i.invitations, 2);
    assert_eq!(i.key_versions, [1, 2]);
    assert!(i.smtp_password);
    let h = i.herald;
    for t in &tokens {
        assert!(
            matches!(h.check_link(t).unwrap(), LinkCheck::Live(_)),
            "{t}"
        );
    }
    assert_eq!(
        h.keyring()
            .smtp_password()
            .unwrap()
            .unwrap()
            .expose_secret(),
        "the smtp password"
    );
    let status = h.key_status().unwrap();
    assert!(status
        .versions
        .iter()
        .all(|v| v.presence == KeyPresence::Present));
    // New links are signed with the current key, as before the move.
    let new = invite(&h, &["alan@example.com"]);
    assert!(matches!(
        h.check_link(&token_for(&h, new[0])).unwrap(),
        LinkCheck::Live(_)
    ));
    // Under an install id of its own: the laptop's entries are not the server's names.
    let laptop_accounts = laptop.memory().accounts(&laptop.service);
    let server_accounts = server.memory().accounts(&server.service);
    assert_eq!(server_accounts.len(), laptop_accounts.len());
    assert!(server_accounts.iter().all(|a| !laptop_accounts.contains(a)));
}

#[test]
fn a_failed_import_leaves_nothing_behind() {
    let laptop = Fixture::new();
    let (file, _) = exported(&laptop);
    let server = Fixture::new();
    let data = server.opts().data_dir;
    let empty = |what: &str| {
        assert!(!data.join("herald.db").exists(), "{what}: a database");
        let left: Vec<_> = std::fs::read_dir(&data)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{what}: {left:?}");
        assert!(
            server.memory().accounts(&server.service).is_empty(),
            "{what}: keyring"
        );
    };

    let e = Herald::import(
        server.opts(),
        &file,
        &passphrase("not the right one at all"),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Move(MoveError::WrongPassphrase { .. })),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::Request);
    empty("a wrong passphrase");

    // The keyring refuses the entries: the database is not put in place either.
    server
        .memory()
        .fail_with(Some(MemoryKeyringFailure::Refused));
    let e = Herald::import(server.opts(), &file, &passphrase(PASSPHRASE)).unwrap_err();
    assert!(matches!(e, Error::Keyring(_)), "{e}");
    server.memory().fail_with(None);
    empty("a refusing keyring");

    // Altered anywhere, the file is refused as a whole.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let altered = laptop.dir.path().join("altered.move");
    std::fs::write(&altered, &bytes).unwrap();
    let e = Herald::import(server.opts(), &altered, &passphrase(PASSPHRASE)).unwrap_err();
    assert!(
        matches!(e, Error::Move(MoveError::NotAnExport { .. })),
        "{e}"
    );
    empty("an altered file");

    let junk = laptop.dir.path().join("junk.move");
    std::fs::write(&junk, b"hello").unwrap();
    let e = Herald::import(server.opts(), &junk, &passphrase(PASSPHRASE)).unwrap_err();
    assert!(
        matches!(e, Error::Move(MoveError::NotAnExport { .. })),
        "{e}"
    );
    empty("not an export");

    Herald::import(server.opts(), &file, &passphrase(PASSPHRASE)).unwrap();
}

#[test]
fn a_key_the_keyring_lost_is_reported_and_stays_out() {
    let laptop = Fixture::new();
    let h = laptop.init();
    invite(&h, &["ada@example.com"]);
    h.rotate_key().unwrap();
    invite(&h, &["grace@example.com"]);
    h.keyring()
        .put_key(1, &HmacKey::generate().unwrap())
        .unwrap();
    let file = laptop.dir.path().join("herald.move");
    let e = h.export(&file, &passphrase(PASSPHRASE)).unwrap();
    assert_eq!(e.key_versions, [2]);
    assert_eq!(e.missing_keys, [1]);
    let server = Fixture::new();
    let h = Herald::import(server.opts(), &file, &passphrase(PASSPHRASE))
        .unwrap()
        .herald;
    let presence: Vec<KeyPresence> = h
        .key_status()
        .unwrap()
        .versions
        .iter()
        .map(|v| v.presence)
        .collect();
    assert_eq!(presence, [KeyPresence::Missing, KeyPresence::Present]);
}

#[test]
fn an_export_needs_a_real_passphrase_and_a_new_file() {
    let f = Fixture::new();
    let h = f.init();
    let file = f.dir.path().join("herald.move");
    let e = h.export(&file, &passphrase("short")).unwrap_err();
    assert!(matches!(e, Error::Move(MoveError::WeakPassphrase)), "{e}");
    assert!(!file.exists());
    std::fs::write(&file, b"keep me").unwrap();
    let e = h.export(&file, &passphrase(PASSPHRASE)).unwrap_err();
    assert!(matches!(e, Error::Move(MoveError::Exists { .. })), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    // Nothing left beside the database either.
    let left: Vec<_> = std::fs::read_dir(f.opts().data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !["herald.db", "herald.db-wal", "herald.db-shm"].contains(&n.as_str()))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
