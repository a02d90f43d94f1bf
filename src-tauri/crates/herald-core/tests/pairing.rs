//! Pairing owners' computers with an always-on Herald, client and server both in this process,
//! the server on a real SQLite file, the client's credential in a keyring of its own. The
//! TLS connection is stood in for by the SPKI hash each side passes: the same for a direct
//! connection, another for a proxy that intercepts TLS.

use std::path::Path;

use herald_core::pairing::{CODE_VALID_SECS, PAIRING_TRIES, SESSION_SECS};
use herald_core::secrets::{KeyringError, MemoryKeyring, MemoryKeyringFailure, OwnerCredentials};
use herald_core::{
    ClientPairing, Credential, Error, ErrorKind, Herald, Hint, NewOwner, PairFinish, PairReply,
    PairStart, PairingError, SEEN_EVERY_SECS,
};
use secrecy::ExposeSecret;

use crate::common::Fixture;

const SERVER_SPKI: [u8; 32] = [0x5e; 32];
const PROXY_SPKI: [u8; 32] = [0xbd; 32];

fn pairing_error(e: Error) -> PairingError {
    match e {
        Error::Pairing(p) => p,
        other => panic!("not a pairing error: {other:?}"),
    }
}

/// The whole exchange as the owner's computer and the server run it, with the SPKI the client
/// sees; the client's error or its credential.
fn pair(h: &Herald, code: &str, seen: &[u8; 32]) -> Result<Credential, PairingError> {
    let (client, start) = ClientPairing::start(code)?;
    let reply = h.pair_start(&start, &SERVER_SPKI).map_err(pairing_error)?;
    let (credential, finish) = client.finish(&reply, seen)?;
    h.pair_finish(&finish).map_err(pairing_error)?;
    Ok(credential)
}

/// The same code with its secret changed in one place.
fn wrong(code: &NewOwner) -> String {
    let c = code.code.expose_secret();
    let last = c.chars().last().unwrap();
    let other = if last == 'Z' { 'Y' } else { 'Z' };
    format!("{}{other}", &c[..c.len() - 1])
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

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_owner_pairs_and_its_credential_works_from_the_keyring() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada's laptop").unwrap();
    assert_eq!(new.expires_at, f.clock.now() + CODE_VALID_SECS);
    let listed = h.owners().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].paired);
    assert_eq!(listed[0].pairing_expires_at, Some(new.expires_at));

    let credential = pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap();
    assert_eq!(credential.owner_id, new.id);

    // The owner's computer keeps it in its own keyring, by server address.
    let client_keyring = MemoryKeyring::new();
    let store = OwnerCredentials::new(client_keyring.shared(), "herald-client-test");
    store
        .set("https://Invite.Example.com:8751/", &credential)
        .unwrap();
    assert_eq!(
        client_keyring.accounts("herald-client-test"),
        ["owner-credential/invite.example.com:8751"]
    );
    let kept = store.get("invite.example.com:8751").unwrap().unwrap();
    assert_eq!(kept, credential);

    let header = format!("Bearer {}", kept.expose().expose_secret());
    let owner = h.authenticate(&header).unwrap();
    assert_eq!((owner.id, owner.name.as_str()), (new.id, "Ada's laptop"));
    let listed = h.owners().unwrap();
    assert!(listed[0].paired);
    assert_eq!(listed[0].pairing_expires_at, None);
    assert_eq!(listed[0].last_seen_at, Some(f.clock.now()));

    // Seen is noted at most once a minute.
    f.clock.advance(SEEN_EVERY_SECS - 1);
    h.authenticate(&header).unwrap();
    assert_eq!(
        h.owners().unwrap()[0].last_seen_at,
        Some(f.clock.now() - 59)
    );
    f.clock.advance(1);
    h.authenticate(kept.expose().expose_secret()).unwrap();
    assert_eq!(h.owners().unwrap()[0].last_seen_at, Some(f.clock.now()));

    store.delete("invite.example.com:8751").unwrap();
    assert!(store.get("invite.example.com:8751").unwrap().is_none());
}

#[test]
fn five_wrong_codes_lock_it_and_then_the_right_one_is_refused() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    for n in 1..=PAIRING_TRIES {
        let e = pair(&h, &wrong(&new), &SERVER_SPKI).unwrap_err();
        assert_eq!(
            e,
            PairingError::WrongCodeOrIntercepted {
                tries_left: PAIRING_TRIES - n
            }
        );
    }
    let e = pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap_err();
    assert_eq!(e, PairingError::Locked);
    let as_error = Error::from(e);
    assert_eq!(as_error.kind(), ErrorKind::Request);
    assert_eq!(as_error.hint(), Some(Hint::AddOwner));
    assert!(!h.owners().unwrap()[0].paired);
}

#[test]
fn a_wrong_code_does_not_use_the_code_up() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    let e = pair(&h, &wrong(&new), &SERVER_SPKI).unwrap_err();
    assert_eq!(e.to_string(), "the pairing code is wrong, or something between you and the server is intercepting the connection; 4 tries left");
    let e = pair(&h, &wrong(&new), &SERVER_SPKI).unwrap_err();
    assert!(e.to_string().ends_with("; 3 tries left"), "{e}");
    // Typed loosely, the right code still works.
    let loose = new.code.expose_secret().to_lowercase().replace('-', " ");
    let credential = pair(&h, &loose, &SERVER_SPKI).unwrap();
    h.authenticate(credential.expose().expose_secret()).unwrap();
}

#[test]
fn a_used_code_is_refused() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    let first = pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap();
    let e = pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap_err();
    assert_eq!(e, PairingError::Used);
    // The first pairing is untouched by the second attempt.
    h.authenticate(first.expose().expose_secret()).unwrap();
}

#[test]
fn an_expired_code_is_refused() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    f.clock.advance(CODE_VALID_SECS - 1);
    let (client, start) = ClientPairing::start(new.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    f.clock.advance(1);
    let (_, finish) = client.finish(&reply, &SERVER_SPKI).unwrap();
    // Expired between the two steps: refused, and nothing kept.
    let e = pairing_error(h.pair_finish(&finish).unwrap_err());
    assert_eq!(e, PairingError::Expired);
    assert_eq!(
        e.to_string(),
        "that pairing code has expired (codes work for 15 minutes); ask for a new one"
    );
    assert_eq!(
        pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap_err(),
        PairingError::Expired
    );
    let listed = h.owners().unwrap();
    assert!(!listed[0].paired);
    assert_eq!(listed[0].pairing_expires_at, None);
}

#[test]
fn a_slow_second_step_must_start_again() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    let (client, start) = ClientPairing::start(new.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let (_, finish) = client.finish(&reply, &SERVER_SPKI).unwrap();
    f.clock.advance(SESSION_SECS + 1);
    let e = pairing_error(h.pair_finish(&finish).unwrap_err());
    assert_eq!(e, PairingError::NoSession);
    pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap();
}

/// A TLS-intercepting proxy relays every message faithfully, but the client sees the proxy's
/// key: pairing fails on the client, the server keeps nothing, and what the proxy saw is no
/// use to it (it cannot complete pairing itself, and no credential crossed it).
#[test]
fn a_machine_in_the_middle_makes_pairing_fail_and_gains_nothing() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    let (client, start) = ClientPairing::start(new.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let e = client.finish(&reply, &PROXY_SPKI).unwrap_err();
    // The code was right, so the client can say what it is: interception, not a typo.
    assert_eq!(e, PairingError::Intercepted);
    assert_eq!(Error::from(e).kind(), ErrorKind::Environment);

    // The proxy, holding both messages, tries to finish for the client.
    let forged = PairFinish {
        owner_id: new.id,
        client_confirm: reply.server_confirm.clone(),
    };
    let e = pairing_error(h.pair_finish(&forged).unwrap_err());
    assert_eq!(e, PairingError::NotConfirmed { tries_left: 3 });
    let listed = h.owners().unwrap();
    assert!(!listed[0].paired);
    let db = rusqlite::Connection::open(h.database_path()).unwrap();
    let verifier: Option<Vec<u8>> = db
        .query_row(
            "SELECT credential_verifier FROM owners WHERE id = ?1",
            [new.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(verifier, None);

    // The owner, connecting directly, still pairs with the same code.
    pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap();
}

#[test]
fn only_a_paired_owners_own_credential_is_authorized() {
    let f = Fixture::new();
    let h = f.init();
    let ada = h.add_owner("Ada").unwrap();
    let bob = h.add_owner("Bob").unwrap();
    let ada_cred = pair(&h, ada.code.expose_secret(), &SERVER_SPKI).unwrap();
    let bob_cred = pair(&h, bob.code.expose_secret(), &SERVER_SPKI).unwrap();
    let ada_text = ada_cred.expose().expose_secret().to_owned();
    let bob_text = bob_cred.expose().expose_secret().to_owned();

    // Bob's secret under Ada's id; a flipped character; junk; nothing.
    let forged = bob_text.replacen(&format!(".{}.", bob.id), &format!(".{}.", ada.id), 1);
    let mut flipped = ada_text.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let unknown = ada_text.replacen(&format!(".{}.", ada.id), ".99.", 1);
    for bad in [
        "",
        "Bearer ",
        "herald1.1.",
        &forged,
        &flipped,
        &unknown,
        "Basic YWRhOnB3",
    ] {
        let e = h.authenticate(bad).unwrap_err();
        assert!(
            matches!(e, Error::Pairing(PairingError::NotAuthorized)),
            "{bad}: {e:?}"
        );
    }

    // Removing Ada cuts her off at once; Bob carries on.
    assert!(h.is_owner_active(ada.id).unwrap());
    h.remove_owner(ada.id).unwrap();
    assert!(!h.is_owner_active(ada.id).unwrap());
    let e = h.authenticate(&ada_text).unwrap_err();
    assert!(matches!(e, Error::Pairing(PairingError::NotAuthorized)));
    assert_eq!(e.hint(), Some(Hint::AddOwner));
    h.authenticate(&bob_text).unwrap();
    let names: Vec<String> = h.owners().unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Bob"]);

    // Removing again, or an owner never added, says so.
    let e = h.remove_owner(ada.id).unwrap_err();
    assert!(matches!(e, Error::Pairing(PairingError::NoSuchOwner(id)) if id == ada.id));
    assert_eq!(e.hint(), Some(Hint::ListOwners));
    // A new owner never gets a removed owner's id, so an old credential cannot fit it.
    let again = h.add_owner("Ada").unwrap();
    assert!(again.id > bob.id);
}

#[test]
fn a_removed_owners_pending_code_stops_working() {
    let f = Fixture::new();
    let h = f.init();
    let new = h.add_owner("Ada").unwrap();
    h.remove_owner(new.id).unwrap();
    assert_eq!(
        pair(&h, new.code.expose_secret(), &SERVER_SPKI).unwrap_err(),
        PairingError::UnknownCode
    );
}

#[test]
fn the_database_holds_neither_code_nor_credential() {
    let f = Fixture::new();
    let h = f.init();
    let pending = h.add_owner("Pending").unwrap();
    let paired = h.add_owner("Paired").unwrap();
    let credential = pair(&h, paired.code.expose_secret(), &SERVER_SPKI).unwrap();
    h.authenticate(credential.expose().expose_secret()).unwrap();
    drop(h);
    let bytes = all_bytes_under(&f.dir.path().join("data"));
    let cred_text = credential.expose();
    let cred_b64 = cred_text.expose_secret().rsplit('.').next().unwrap();
    for code in [&pending, &paired] {
        let text = code.code.expose_secret();
        let secret: String = text.split('-').skip(1).collect();
        for needle in [text, &secret[..], &secret[..5], &secret[5..]] {
            assert!(!contains(&bytes, needle.as_bytes()), "{needle}");
        }
    }
    assert!(!contains(&bytes, cred_b64.as_bytes()));
    // Nor the credential's raw bytes.
    let raw = base64_decode(cred_b64);
    assert!(!contains(&bytes, &raw));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[test]
fn owner_names_are_validated() {
    let f = Fixture::new();
    let h = f.init();
    assert!(matches!(h.add_owner("  "), Err(Error::Invalid(_))));
    assert!(matches!(h.add_owner("a\nb"), Err(Error::Invalid(_))));
    assert!(h.owners().unwrap().is_empty());
}

#[test]
fn the_owner_api_is_on_the_public_host() {
    let f = Fixture::new();
    let h = f.init();
    assert_eq!(
        h.owner_api_url().unwrap(),
        "https://invite.example.com:8751"
    );
}

// ---------------------------------------------------------------------------------------------
// What a copy of the database is worth to someone without the code.

/// The SPAKE2 password of a code, worked out here from the protocol's definition: HKDF-SHA-256
/// of the secret, salted with the label, the owner id as info.
fn spake_password(code: &NewOwner) -> [u8; 32] {
    let text = code.code.expose_secret();
    let secret: String = text.split('-').skip(1).collect();
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"herald pairing v1"), secret.as_bytes());
    let mut out = [0u8; 32];
    hk.expand(&code.id.to_be_bytes(), &mut out).unwrap();
    out
}

/// An attacker's client, written from the protocol's definition, that takes the SPAKE2
/// password as raw bytes instead of a code: exactly what someone who found the password in
/// the database would run. It sends its confirmation even when the server's does not check
/// out.
struct RawClient {
    owner_id: i64,
    spake: spake2::Spake2<spake2::Ed25519Group>,
    message: Vec<u8>,
}

impl RawClient {
    fn start(owner_id: i64, password: &[u8]) -> (RawClient, PairStart) {
        let client_id = format!("herald pairing v1 owner {owner_id}");
        let (spake, message) = spake2::Spake2::<spake2::Ed25519Group>::start_a(
            &spake2::Password::new(password),
            &spake2::Identity::new(client_id.as_bytes()),
            &spake2::Identity::new(b"herald pairing v1 server"),
        );
        let start = PairStart {
            owner_id,
            message: message.clone(),
        };
        (
            RawClient {
                owner_id,
                spake,
                message,
            },
            start,
        )
    }

    /// Whether the server's confirmation matched, and the finish to send regardless.
    fn finish(self, reply: &PairReply, spki: &[u8; 32]) -> (bool, PairFinish) {
        use hmac::Mac;
        use sha2::Digest;
        let key = self.spake.finish(&reply.message).unwrap();
        let mut h = sha2::Sha256::new();
        for part in [
            &b"herald pairing v1"[..],
            &self.owner_id.to_be_bytes()[..],
            &self.message,
            &reply.message,
            &spki[..],
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        let t: [u8; 32] = h.finalize().into();
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(&t), &key);
        let confirm = |info: &[u8]| {
            let mut k = [0u8; 32];
            hk.expand(info, &mut k).unwrap();
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&k).unwrap();
            mac.update(&t);
            mac.finalize().into_bytes().to_vec()
        };
        let server_ok = confirm(b"herald pairing v1 server confirm") == reply.server_confirm;
        let finish = PairFinish {
            owner_id: self.owner_id,
            client_confirm: confirm(b"herald pairing v1 client confirm"),
        };
        (server_ok, finish)
    }
}

/// Copies the database's files (the main file and its write-ahead log), as someone reading
/// the disk would, and opens the copy.
fn copy_database(h: &Herald, to: &Path) -> rusqlite::Connection {
    let db = h.database_path();
    let copy = to.join("stolen.sqlite");
    std::fs::copy(db, &copy).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        let mut copy_wal = copy.as_os_str().to_owned();
        copy_wal.push("-wal");
        std::fs::copy(&wal, copy_wal).unwrap();
    }
    rusqlite::Connection::open(&copy).unwrap()
}

struct StolenRow {
    sealed_password: Vec<u8>,
    session_confirm: Option<Vec<u8>>,
    session_credential: Option<Vec<u8>>,
}

fn stolen_row(db: &rusqlite::Connection, owner_id: i64) -> StolenRow {
    db.query_row(
        "SELECT sealed_password, session_confirm, session_credential
         FROM owner_pairings WHERE owner_id = ?1",
        [owner_id],
        |r| {
            Ok(StolenRow {
                sealed_password: r.get(0)?,
                session_confirm: r.get(1)?,
                session_credential: r.get(2)?,
            })
        },
    )
    .unwrap()
}

fn verifier_of(h: &Herald, owner_id: i64) -> Option<Vec<u8>> {
    let db = rusqlite::Connection::open(h.database_path()).unwrap();
    db.query_row(
        "SELECT credential_verifier FROM owners WHERE id = ?1",
        [owner_id],
        |r| r.get(0),
    )
    .unwrap()
}

/// Someone copies the database while a code waits, and again while its owner is between the
/// two steps. Without the code, what they copied neither pairs, nor finishes the attempt in
/// flight, nor works as a credential; the owner pairs as usual.
#[test]
fn a_copy_of_the_database_taken_while_a_code_waits_cannot_pair() {
    let f = Fixture::new();
    let h = f.init();
    let loot = tempfile::tempdir().unwrap();
    let ada = h.add_owner("Ada").unwrap();
    let password = spake_password(&ada);

    // The key that seals it is in the keyring, next to the others.
    let install = h.keyring().install_id().to_owned();
    assert!(f
        .memory()
        .accounts(&f.service)
        .contains(&format!("{install}/pairing-key")));

    // 1. While the code waits: the password is nowhere in the files, and the row's value is
    //    not it.
    let db = copy_database(&h, loot.path());
    let stolen = stolen_row(&db, ada.id);
    drop(db);
    assert_eq!(stolen.sealed_password.len(), 32);
    assert_ne!(stolen.sealed_password, password);
    assert!(!contains(
        &all_bytes_under(&f.dir.path().join("data")),
        &password
    ));
    assert!(!contains(&all_bytes_under(loot.path()), &password));

    // The attack the stored password used to allow: run the client with it. The server's
    // confirmation does not check out, and the confirmation sent anyway is refused.
    let (thief, start) = RawClient::start(ada.id, &stolen.sealed_password);
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let (server_ok, finish) = thief.finish(&reply, &SERVER_SPKI);
    assert!(!server_ok);
    let e = pairing_error(h.pair_finish(&finish).unwrap_err());
    assert_eq!(e, PairingError::NotConfirmed { tries_left: 3 });
    assert_eq!(verifier_of(&h, ada.id), None);

    // 2. Between the owner's two steps: the row holds hashes of the confirmation and of the
    //    credential, and neither is any use.
    let (client, start) = ClientPairing::start(ada.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let loot2 = tempfile::tempdir().unwrap();
    let db = copy_database(&h, loot2.path());
    let stolen = stolen_row(&db, ada.id);
    drop(db);
    let session_confirm = stolen.session_confirm.unwrap();
    let session_credential = stolen.session_credential.unwrap();
    let (credential, finish) = client.finish(&reply, &SERVER_SPKI).unwrap();
    assert_ne!(finish.client_confirm, session_confirm);
    let raw_credential = base64_decode(
        credential
            .expose()
            .expose_secret()
            .rsplit('.')
            .next()
            .unwrap(),
    );
    assert_ne!(raw_credential, session_credential);
    // The owner's finish goes through, and the stored verifier is the hash from the copy:
    // presented as a credential, it is refused.
    h.pair_finish(&finish).unwrap();
    assert_eq!(verifier_of(&h, ada.id), Some(session_credential.clone()));
    h.authenticate(credential.expose().expose_secret()).unwrap();
    let as_credential = format!("herald1.{}.{}", ada.id, base64_encode(&session_credential));
    assert!(matches!(
        h.authenticate(&as_credential).unwrap_err(),
        Error::Pairing(PairingError::NotAuthorized)
    ));

    // 3. An attempt in flight cannot be finished from a copy either: the thief sends the
    //    stored hash (the only confirmation-shaped thing it has), and it is refused.
    let bob = h.add_owner("Bob").unwrap();
    let (client, start) = ClientPairing::start(bob.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let loot3 = tempfile::tempdir().unwrap();
    let db = copy_database(&h, loot3.path());
    let stolen = stolen_row(&db, bob.id);
    drop(db);
    let forged = PairFinish {
        owner_id: bob.id,
        client_confirm: stolen.session_confirm.unwrap(),
    };
    let e = pairing_error(h.pair_finish(&forged).unwrap_err());
    assert_eq!(e, PairingError::NotConfirmed { tries_left: 3 });
    assert_eq!(verifier_of(&h, bob.id), None);
    // (That ended the attempt; the owner's own finish must start again, and then works.)
    let (_, finish) = client.finish(&reply, &SERVER_SPKI).unwrap();
    assert_eq!(
        pairing_error(h.pair_finish(&finish).unwrap_err()),
        PairingError::NoSession
    );
    pair(&h, bob.code.expose_secret(), &SERVER_SPKI).unwrap();

    // The attacker's client is faithful to the protocol: given the real password (which only
    // the code yields), it pairs. So what failed above failed for want of the code.
    let cy = h.add_owner("Cy").unwrap();
    let (honest, start) = RawClient::start(cy.id, &spake_password(&cy));
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let (server_ok, finish) = honest.finish(&reply, &SERVER_SPKI);
    assert!(server_ok);
    assert_eq!(h.pair_finish(&finish).unwrap().id, cy.id);
}

/// The pairing key leaves the keyring (a reset keyring, an entry deleted by hand) while codes
/// wait: each fails saying to ask for a new one, uses up no try and stores nothing; a new code
/// works. A locked keyring is the keyring's own error.
#[test]
fn a_pairing_key_lost_from_the_keyring_fails_waiting_codes_clearly() {
    let f = Fixture::new();
    let h = f.init();
    let ada = h.add_owner("Ada").unwrap();

    // Lost before the first step.
    h.keyring().delete_pairing_key().unwrap();
    let e = pair(&h, ada.code.expose_secret(), &SERVER_SPKI).unwrap_err();
    assert_eq!(e, PairingError::PairingKeyLost);
    assert_eq!(
        e.to_string(),
        "this server's pairing key is no longer in its keyring, so the pairing codes it gave out cannot work; ask for a new one"
    );
    let as_error = Error::from(e);
    assert_eq!(as_error.hint(), Some(Hint::AddOwner));
    assert_eq!(as_error.kind(), ErrorKind::Request);
    let (tries, session): (u32, Option<i64>) = rusqlite::Connection::open(h.database_path())
        .unwrap()
        .query_row(
            "SELECT tries, session_started_at FROM owner_pairings WHERE owner_id = ?1",
            [ada.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((tries, session), (0, None));
    assert_eq!(verifier_of(&h, ada.id), None);

    // The next owner added makes a new key; Ada's code, sealed with the old one, still fails
    // the same way (not as a wrong code).
    let bob = h.add_owner("Bob").unwrap();
    assert_eq!(
        pair(&h, ada.code.expose_secret(), &SERVER_SPKI).unwrap_err(),
        PairingError::PairingKeyLost
    );

    // Lost between the two steps.
    let (client, start) = ClientPairing::start(bob.code.expose_secret()).unwrap();
    let reply = h.pair_start(&start, &SERVER_SPKI).unwrap();
    let (_, finish) = client.finish(&reply, &SERVER_SPKI).unwrap();
    h.keyring().delete_pairing_key().unwrap();
    assert_eq!(
        pairing_error(h.pair_finish(&finish).unwrap_err()),
        PairingError::PairingKeyLost
    );
    assert_eq!(verifier_of(&h, bob.id), None);
    assert!(h.owners().unwrap().iter().all(|o| !o.paired));

    // A locked keyring: its own error and hints, for adding and for pairing alike, and
    // nothing written.
    let cy = h.add_owner("Cy").unwrap();
    f.memory().fail_with(Some(MemoryKeyringFailure::Locked));
    let e = h.add_owner("Dee").unwrap_err();
    assert!(
        matches!(e, Error::Keyring(KeyringError::Locked { .. })),
        "{e:?}"
    );
    assert_eq!(
        e.hint(),
        KeyringError::Locked {
            detail: String::new()
        }
        .hint()
    );
    assert_eq!(e.kind(), ErrorKind::Environment);
    let (_, start) = ClientPairing::start(cy.code.expose_secret()).unwrap();
    let e = h.pair_start(&start, &SERVER_SPKI).unwrap_err();
    assert!(
        matches!(e, Error::Keyring(KeyringError::Locked { .. })),
        "{e:?}"
    );
    f.memory().fail_with(None);
    let names: Vec<String> = h.owners().unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Ada", "Bob", "Cy"]);

    // Cy's code, made with the new key, has lost no try to any of this and pairs.
    let credential = pair(&h, cy.code.expose_secret(), &SERVER_SPKI).unwrap();
    h.authenticate(credential.expose().expose_secret()).unwrap();
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
