//! The `audit` table: what happened to each invitation, by whom, append-only.

use rusqlite::params;

use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::{Actor, AuditAction, AuditEntry, Status};

/// One line, as written.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// `None` for lines about no invitation (a key made or retired, a code typed for an
    /// address Herald must not name).
    pub invitation: Option<i64>,
    pub actor: Actor,
    pub action: AuditAction,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub detail: Option<&'a str>,
    /// The owner who acted through the owner API; `None` otherwise (see `AuditEntry::owner`).
    pub owner: Option<&'a str>,
}

pub fn write(tx: &Tx<'_>, line: &Line<'_>, at: Timestamp) -> Result<()> {
    exec(
        tx,
        "INSERT INTO audit (invitation_id, at, actor, action, from_status, to_status, detail,
                            owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            line.invitation,
            at,
            line.actor,
            line.action,
            line.from,
            line.to,
            line.detail,
            line.owner
        ],
    )
    .map(drop)
    .or_db(tx)
}

/// A line that changes no status.
pub fn note(
    tx: &Tx<'_>,
    invitation: Option<i64>,
    actor: Actor,
    action: AuditAction,
    detail: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    note_by(tx, invitation, actor, action, detail, None, at)
}

/// [`note`], by an owner acting through the owner API.
pub fn note_by(
    tx: &Tx<'_>,
    invitation: Option<i64>,
    actor: Actor,
    action: AuditAction,
    detail: Option<&str>,
    owner: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    let line = Line {
        invitation,
        actor,
        action,
        from: None,
        to: None,
        detail,
        owner,
    };
    write(tx, &line, at)
}

/// An invitation's history, oldest first.
pub fn history(tx: &Tx<'_>, invitation_id: i64) -> Result<Vec<AuditEntry>> {
    rows(
        tx,
        "SELECT at, actor, action, from_status, to_status, detail, owner FROM audit
         WHERE invitation_id = ?1 ORDER BY id",
        [invitation_id],
        |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                from_status: r.get(3)?,
                to_status: r.get(4)?,
                detail: r.get(5)?,
                owner: r.get(6)?,
            })
        },
    )
    .or_db(tx)
}

/// How many mails to `email` a server took after `since`, and when the oldest of them was.
pub fn mails_sent_since(
    tx: &Tx<'_>,
    email: &str,
    since: Timestamp,
) -> Result<(u32, Option<Timestamp>)> {
    row(
        tx,
        "SELECT count(*), min(a.at) FROM audit a JOIN invitations i ON i.id = a.invitation_id
         WHERE i.email = ?1 AND a.action = ?2 AND a.at > ?3",
        params![email, AuditAction::Sent, since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .or_db(tx)
}

/// Every line after `after` (an audit id), oldest first, at most `limit`, with the address of
/// the invitation each is about: what a watching owner has not seen yet.
pub fn since(tx: &Tx<'_>, after: i64, limit: u32) -> Result<Vec<crate::events::Event>> {
    rows(
        tx,
        "SELECT a.id, a.invitation_id, i.email, a.at, a.actor, a.action, a.from_status,
                a.to_status, a.detail, a.owner
         FROM audit a LEFT JOIN invitations i ON i.id = a.invitation_id
         WHERE a.id > ?1 ORDER BY a.id LIMIT ?2",
        params![after, limit],
        |r| {
            Ok(crate::events::Event {
                id: r.get(0)?,
                invitation_id: r.get(1)?,
                email: r.get(2)?,
                entry: AuditEntry {
                    at: r.get(3)?,
                    actor: r.get(4)?,
                    action: r.get(5)?,
                    from_status: r.get(6)?,
                    to_status: r.get(7)?,
                    detail: r.get(8)?,
                    owner: r.get(9)?,
                },
            })
        },
    )
    .or_db(tx)
}

/// The id of the newest line, 0 when there is none.
pub fn last_id(tx: &Tx<'_>) -> Result<i64> {
    row(tx, "SELECT coalesce(max(id), 0) FROM audit", [], |r| {
        r.get(0)
    })
    .or_db(tx)
}
