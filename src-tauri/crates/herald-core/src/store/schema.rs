//! Versioned migrations. Each entry is applied once, in order, inside a transaction; the
//! database's `user_version` records how far it has come. Never edit a shipped migration: add
//! the next one.

use rusqlite_migration::{Migrations, M};

pub(crate) const MIGRATIONS: &[M<'static>] = &[
    M::up(V1),
    M::up(V2),
    M::up(V3),
    M::up(V4),
    M::up(V5),
    M::up(V6),
    M::up(V7),
    M::up(V8),
    M::up(V9),
    M::up(V10),
    M::up(V11),
];

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

const V1: &str = r#"
-- Small facts about this install (its id names its keyring entries).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Owner's settings as JSON documents by section. Never a password: those live in the keyring.
CREATE TABLE settings (
    section TEXT PRIMARY KEY,
    value   TEXT NOT NULL
) STRICT;

-- HMAC key versions. The key itself is only in the OS keyring; key_id is a public fingerprint
-- that tells whether the keyring still holds the same key.
CREATE TABLE key_versions (
    version    INTEGER PRIMARY KEY CHECK (version > 0),
    key_id     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL,
    name            TEXT,
    role            TEXT    NOT NULL,
    note            TEXT,
    status          TEXT    NOT NULL CHECK (status IN
                      ('queued','sending','sent','failed','accepted','declined','expired','revoked')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    decided_at      INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER,
    link_id         INTEGER REFERENCES links(id)
) STRICT;
CREATE INDEX invitations_by_status ON invitations (status, next_attempt_at);
CREATE INDEX invitations_by_email  ON invitations (email);

-- One row per link ever minted. The nonce is random per link and is how a token finds its row;
-- without the keyring's key it is worth nothing. No MAC, token or code is ever stored.
CREATE TABLE links (
    id            INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations(id),
    nonce         BLOB    NOT NULL UNIQUE CHECK (length(nonce) = 16),
    key_version   INTEGER NOT NULL REFERENCES key_versions(version),
    email         TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    ended_reason  TEXT CHECK (ended_reason IN ('renewed','revoked','key-retired','reissued'))
) STRICT;
CREATE INDEX links_by_invitation ON links (invitation_id);
CREATE INDEX links_by_key ON links (key_version) WHERE ended_at IS NULL;

-- Every change, by whom and why.
CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    invitation_id INTEGER REFERENCES invitations(id),
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL CHECK (actor IN ('owner','invitee','system')),
    action        TEXT    NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    detail        TEXT
) STRICT;
CREATE INDEX audit_by_invitation ON audit (invitation_id, id);
"#;

/// The outbox: what the server answered, and when the first attempt of the current mailing
/// was made (retries give up a bounded time after it).
const V2: &str = r#"
ALTER TABLE invitations ADD COLUMN message_id TEXT;
ALTER TABLE invitations ADD COLUMN first_attempt_at INTEGER;
"#;

/// Addresses that asked never to be invited again. The owner cannot remove one: that is the
/// point of the promise.
const V3: &str = r#"
CREATE TABLE opt_outs (
    email  TEXT PRIMARY KEY,
    at     INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('one-click','never-again'))
) STRICT;
"#;

/// Finding what has expired must not read every pending invitation: the outbox asks before
/// each claim, and a batch of thousands made that quadratic.
const V4: &str = r#"
CREATE INDEX invitations_pending_by_expiry ON invitations (expires_at)
    WHERE status IN ('queued','sent','failed');
"#;

/// The confirmation site: when the link was first opened by a person (`opened_at`) and first
/// fetched by what looks like a mail scanner (`scanned_at`), kept apart so the owner is not
/// misled; wrong typed codes, which lock the code path at five; and when the invitee last
/// asked for a new invitation (at most one notice a day).
const V5: &str = r#"
ALTER TABLE invitations ADD COLUMN opened_at INTEGER;
ALTER TABLE invitations ADD COLUMN scanned_at INTEGER;
ALTER TABLE invitations ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invitations ADD COLUMN asked_again_at INTEGER;
"#;

/// The window's table pages through 100,000 rows by any column: an index per sort order, so a
/// page far down is a skip along an index, not a sort of the whole table. Each index ends in
/// the rowid, which is the tie-breaker the listing uses. The expressions match `SortKey` in
/// listing.rs exactly, or SQLite cannot use them.
const V6: &str = r#"
CREATE INDEX invitations_by_name ON invitations (coalesce(name, email) COLLATE NOCASE);
CREATE INDEX invitations_by_role ON invitations (role COLLATE NOCASE);
CREATE INDEX invitations_by_status_id ON invitations (status);
CREATE INDEX invitations_by_expiry ON invitations (expires_at);
"#;

/// Search by address, name or role without reading every row: a trigram index (FTS5, in the
/// bundled SQLite) finds any substring of three characters or more, case-insensitively. It
/// holds only the index; the text stays in `invitations` (external content), and the
/// triggers keep the two in step within the same transaction. Shorter searches keep using
/// LIKE (listing.rs), since a trigram index cannot answer them.
const V7: &str = r#"
CREATE VIRTUAL TABLE invitations_search USING fts5(
    email, name, role,
    content = 'invitations', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO invitations_search (invitations_search) VALUES ('rebuild');
CREATE TRIGGER invitations_search_insert AFTER INSERT ON invitations BEGIN
    INSERT INTO invitations_search (rowid, email, name, role)
    VALUES (new.id, new.email, new.name, new.role);
END;
CREATE TRIGGER invitations_search_delete AFTER DELETE ON invitations BEGIN
    INSERT INTO invitations_search (invitations_search, rowid, email, name, role)
    VALUES ('delete', old.id, old.email, old.name, old.role);
END;
CREATE TRIGGER invitations_search_update AFTER UPDATE OF email, name, role ON invitations BEGIN
    INSERT INTO invitations_search (invitations_search, rowid, email, name, role)
    VALUES ('delete', old.id, old.email, old.name, old.role);
    INSERT INTO invitations_search (rowid, email, name, role)
    VALUES (new.id, new.email, new.name, new.role);
END;
"#;

/// Wrong typed codes are counted per link, not per invitation: a renewed invitation mails a
/// new code, which starts a count of its own (before, five wrong tries by anyone who knew the
/// address locked the code path of that invitation for good). What the current links had
/// counted is kept.
const V8: &str = r#"
ALTER TABLE links ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
UPDATE links SET code_failures =
    (SELECT i.code_failures FROM invitations i WHERE i.link_id = links.id)
    WHERE id IN (SELECT link_id FROM invitations WHERE link_id IS NOT NULL);
ALTER TABLE invitations DROP COLUMN code_failures;
"#;

/// Owners' computers that act through an always-on Herald (`herald serve`), and the pairing
/// codes that let one in. Neither table holds a code, a credential, or anything that pairs
/// without them: a pending pairing keeps the SPAKE2 password derived from its code sealed with
/// the pairing key, which lives only in the OS keyring (see `pairing::PairingKey`), and the
/// fingerprint of that key (deleted on use or expiry); an owner keeps the SHA-256 of its
/// credential. Ids are AUTOINCREMENT so that a removed owner's id is never
/// given to another: audit lines and old credentials keep naming the one they meant. A removed
/// owner keeps its row (name, dates) for the audit, without its verifier.
/// Several owners: who invited (the name the mail and the page give) and who did what. Names,
/// not ids: an owner removed later still made what they made. NULL for what came before, or for
/// the data folder's own owner acting on this computer; faces show `general.owner_name` then.
const V10: &str = r#"
ALTER TABLE invitations ADD COLUMN invited_by TEXT;
ALTER TABLE audit ADD COLUMN owner TEXT;
"#;

const V9: &str = r#"
CREATE TABLE owners (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    added_at            INTEGER NOT NULL,
    paired_at           INTEGER,
    last_seen_at        INTEGER,
    removed_at          INTEGER,
    credential_verifier BLOB CHECK (credential_verifier IS NULL OR length(credential_verifier) = 32)
) STRICT;

-- One pending pairing per owner. The session_* columns hold the attempt in progress between
-- its two steps: hashes of what the client must send and of the credential it will hold
-- (neither can be recomputed without the session key, which is never stored).
CREATE TABLE owner_pairings (
    owner_id            INTEGER PRIMARY KEY REFERENCES owners(id) ON DELETE CASCADE,
    sealed_password     BLOB    NOT NULL CHECK (length(sealed_password) = 32),
    pairing_key_id      BLOB    NOT NULL CHECK (length(pairing_key_id) = 8),
    expires_at          INTEGER NOT NULL,
    tries               INTEGER NOT NULL DEFAULT 0,
    session_started_at  INTEGER,
    session_confirm     BLOB CHECK (session_confirm IS NULL OR length(session_confirm) = 32),
    session_credential  BLOB CHECK (session_credential IS NULL OR length(session_credential) = 32)
) STRICT;
"#;

/// The overview's figures, kept up to date instead of counted: reading them scanned every
/// invitation (45 ms at 100,000, three frames of the window). How many invitations have each
/// status; how many were ever delivered and opened (one row); and per quarter hour, how many
/// were made, accepted and declined: every time zone in use is a whole number of quarter hours
/// from UTC, so an owner's days anywhere are sums of quarter hours. Filled from the rows there
/// are; then triggers keep them exact in the same transaction as whatever changes a row (the
/// core's statements, a restore, a hand-edited database alike), "the old row out, the new row
/// in", each guarded so an update that changes nothing counted costs nothing.
const V11: &str = r#"
CREATE TABLE status_counts (
    status TEXT    PRIMARY KEY CHECK (status IN
             ('queued','sending','sent','failed','accepted','declined','expired','revoked')),
    n      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO status_counts (status, n)
    SELECT s.column1, (SELECT count(*) FROM invitations i WHERE i.status = s.column1)
    FROM (VALUES ('queued'), ('sending'), ('sent'), ('failed'), ('accepted'), ('declined'),
                 ('expired'), ('revoked')) s;

CREATE TABLE funnel_counts (
    one       INTEGER PRIMARY KEY CHECK (one = 1),
    delivered INTEGER NOT NULL,
    opened    INTEGER NOT NULL
) STRICT;
INSERT INTO funnel_counts (one, delivered, opened)
    SELECT 1, count(sent_at), count(opened_at) FROM invitations;

CREATE TABLE quarter_tallies (
    tally   TEXT    NOT NULL CHECK (tally IN ('invited','accepted','declined')),
    quarter INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (tally, quarter)
) STRICT, WITHOUT ROWID;
INSERT INTO quarter_tallies (tally, quarter, n)
    SELECT 'invited', created_at / 900, count(*) FROM invitations GROUP BY 2;
INSERT INTO quarter_tallies (tally, quarter, n)
    SELECT status, decided_at / 900, count(*) FROM invitations
    WHERE status IN ('accepted','declined') AND decided_at IS NOT NULL GROUP BY 1, 2;

CREATE TRIGGER counts_insert AFTER INSERT ON invitations BEGIN
    UPDATE status_counts SET n = n + 1 WHERE status = new.status;
    UPDATE funnel_counts SET delivered = delivered + (new.sent_at IS NOT NULL),
                             opened = opened + (new.opened_at IS NOT NULL);
    INSERT INTO quarter_tallies (tally, quarter, n) VALUES ('invited', new.created_at / 900, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO quarter_tallies (tally, quarter, n)
        SELECT new.status, new.decided_at / 900, 1
        WHERE new.status IN ('accepted','declined') AND new.decided_at IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER counts_delete AFTER DELETE ON invitations BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = old.status;
    UPDATE funnel_counts SET delivered = delivered - (old.sent_at IS NOT NULL),
                             opened = opened - (old.opened_at IS NOT NULL);
    UPDATE quarter_tallies SET n = n - 1
        WHERE tally = 'invited' AND quarter = old.created_at / 900;
    UPDATE quarter_tallies SET n = n - 1
        WHERE tally = old.status AND quarter = old.decided_at / 900;
END;

CREATE TRIGGER counts_status AFTER UPDATE OF status ON invitations
WHEN old.status IS NOT new.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = old.status;
    UPDATE status_counts SET n = n + 1 WHERE status = new.status;
END;

CREATE TRIGGER counts_funnel AFTER UPDATE OF sent_at, opened_at ON invitations
WHEN (old.sent_at IS NULL) IS NOT (new.sent_at IS NULL)
  OR (old.opened_at IS NULL) IS NOT (new.opened_at IS NULL) BEGIN
    UPDATE funnel_counts
        SET delivered = delivered + (new.sent_at IS NOT NULL) - (old.sent_at IS NOT NULL),
            opened = opened + (new.opened_at IS NOT NULL) - (old.opened_at IS NOT NULL);
END;

CREATE TRIGGER counts_invited AFTER UPDATE OF created_at ON invitations
WHEN old.created_at IS NOT new.created_at BEGIN
    UPDATE quarter_tallies SET n = n - 1
        WHERE tally = 'invited' AND quarter = old.created_at / 900;
    INSERT INTO quarter_tallies (tally, quarter, n) VALUES ('invited', new.created_at / 900, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER counts_decided AFTER UPDATE OF status, decided_at ON invitations
WHEN (old.status IS NOT new.status OR old.decided_at IS NOT new.decided_at)
 AND (old.status IN ('accepted','declined') OR new.status IN ('accepted','declined')) BEGIN
    UPDATE quarter_tallies SET n = n - 1
        WHERE tally = old.status AND quarter = old.decided_at / 900;
    INSERT INTO quarter_tallies (tally, quarter, n)
        SELECT new.status, new.decided_at / 900, 1
        WHERE new.status IN ('accepted','declined') AND new.decided_at IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    /// A database from before the kept counts (V11) gets them from the rows it holds.
    #[test]
    fn the_kept_counts_start_from_the_rows_there_are() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        let m = super::migrations();
        m.to_version(&mut c, 10).unwrap();
        c.execute_batch(
            "INSERT INTO invitations (id, email, role, status, created_at, updated_at, expires_at,
                                      sent_at, opened_at, decided_at) VALUES
                 (1, 'a@x.example', 'member', 'accepted', 1800, 0, 0, 1900, 2000, 2700),
                 (2, 'b@x.example', 'member', 'accepted', 1801, 0, 0, 1900, NULL, 2701),
                 (3, 'c@x.example', 'member', 'queued',   3600, 0, 0, NULL, NULL, NULL),
                 (4, 'd@x.example', 'member', 'declined', 3600, 0, 0, 1900, NULL, 9000);",
        )
        .unwrap();
        m.to_latest(&mut c).unwrap();
        let statuses: Vec<(String, i64)> = c
            .prepare("SELECT status, n FROM status_counts WHERE n > 0 ORDER BY status")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let named = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
        };
        assert_eq!(
            statuses,
            named(&[("accepted", 2), ("declined", 1), ("queued", 1)])
        );
        let all: i64 = c
            .query_row("SELECT count(*) FROM status_counts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(all, 8, "a row for every status, counted or not");
        let funnel: (i64, i64) = c
            .query_row("SELECT delivered, opened FROM funnel_counts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(funnel, (3, 1));
        let tallies: Vec<(String, i64, i64)> = c
            .prepare("SELECT tally, quarter, n FROM quarter_tallies ORDER BY 1, 2")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want = [
            ("accepted", 3, 2),
            ("declined", 10, 1),
            ("invited", 2, 2),
            ("invited", 4, 2),
        ];
        assert_eq!(
            tallies,
            want.iter()
                .map(|(t, q, n)| (t.to_string(), *q, *n))
                .collect::<Vec<_>>()
        );
    }

    /// A database from before the search index gets every invitation it holds indexed.
    #[test]
    fn the_search_index_takes_in_existing_invitations() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        let m = super::migrations();
        m.to_version(&mut c, 6).unwrap();
        c.execute(
            "INSERT INTO invitations (id, email, name, role, status, created_at, updated_at,
                                      expires_at)
             VALUES (7, 'ada@example.com', 'Ada Lovelace', 'member', 'queued', 0, 0, 0)",
            [],
        )
        .unwrap();
        m.to_latest(&mut c).unwrap();
        let found: Vec<i64> = c
            .prepare("SELECT rowid FROM invitations_search WHERE invitations_search MATCH ?1")
            .unwrap()
            .query_map(["\"LOVEL\""], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, [7]);
    }
}
