//! The `invitations` table: reading invitations, making them, and the one way a status changes
//! ([`transition`]).

use std::sync::LazyLock;

use rusqlite::{params, OptionalExtension, Row};

use super::audit::{self, Line};
use super::columns::status_list;
use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::model::{Actor, AuditAction, Invitation, ListFilter, Status};
use crate::token::NONCE_LEN;

/// The columns [`from_row`] reads, from `invitations i JOIN links l ON l.id = i.link_id`.
pub(super) const COLUMNS: &str = "i.id, i.email, i.name, i.role, i.note, i.status, i.created_at,
    i.expires_at, i.sent_at, i.decided_at, i.attempts, i.last_error, l.key_version, i.opened_at,
    i.scanned_at, i.invited_by";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        note: r.get(4)?,
        status: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        sent_at: r.get(8)?,
        decided_at: r.get(9)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
        key_version: r.get(12)?,
        opened_at: r.get(13)?,
        scanned_at: r.get(14)?,
        invited_by: r.get(15)?,
    })
}

/// `status IN (...)` for the statuses still waiting for the invitee.
static PENDING: LazyLock<String> = LazyLock::new(|| status_list(Status::is_pending));

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<Invitation>> {
    row(
        tx,
        &format!(
            "SELECT {COLUMNS} FROM invitations i JOIN links l ON l.id = i.link_id
             WHERE i.id = ?1"
        ),
        [id],
        from_row,
    )
    .optional()
    .or_db(tx)
}

/// Like [`get`], for an invitation that must exist.
pub fn must_get(tx: &Tx<'_>, id: i64) -> Result<Invitation> {
    get(tx, id)?.ok_or(Error::NoSuchInvitation(id))
}

pub fn list(tx: &Tx<'_>, filter: &ListFilter) -> Result<Vec<Invitation>> {
    rows(
        tx,
        &format!(
            "SELECT {COLUMNS} FROM invitations i JOIN links l ON l.id = i.link_id
             WHERE (?1 IS NULL OR i.status = ?1)
             ORDER BY i.id"
        ),
        [filter.status],
        from_row,
    )
    .or_db(tx)
}

/// The id of a pending invitation to this address, if any.
pub fn pending_for_email(tx: &Tx<'_>, email: &str) -> Result<Option<i64>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT id FROM invitations WHERE email = ?1 AND status IN {} ORDER BY id LIMIT 1",
            *PENDING
        )
    });
    row(tx, &SQL, [email], |r| r.get(0)).optional().or_db(tx)
}

/// How many mails to this address are in the outbox (queued, or being handed over now).
pub fn mails_waiting_for(tx: &Tx<'_>, email: &str) -> Result<u32> {
    row(
        tx,
        "SELECT count(*) FROM invitations WHERE email = ?1 AND status IN (?2, ?3)",
        params![email, Status::Queued, Status::Sending],
        |r| r.get(0),
    )
    .or_db(tx)
}

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: &'a str,
    pub note: Option<&'a str>,
    pub expires_at: Timestamp,
    /// The owner inviting through the owner API, if any.
    pub invited_by: Option<&'a str>,
}

/// Inserts a queued invitation with its first link, and its first line of history; returns
/// its id.
pub fn insert(
    tx: &Tx<'_>,
    new: &NewInvitation<'_>,
    nonce: &[u8; NONCE_LEN],
    key_version: u32,
    now: Timestamp,
) -> Result<i64> {
    exec(
        tx,
        "INSERT INTO invitations (email, name, role, note, status, created_at, updated_at, expires_at,
                                  invited_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
        params![
            new.email,
            new.name,
            new.role,
            new.note,
            Status::Queued,
            now,
            new.expires_at,
            new.invited_by
        ],
    )
    .or_db(tx)?;
    let id = tx.conn.last_insert_rowid();
    super::links::insert(tx, id, nonce, key_version, now, None)?;
    let line = Line {
        invitation: Some(id),
        actor: Actor::Owner,
        action: AuditAction::Created,
        from: None,
        to: Some(Status::Queued),
        detail: None,
        owner: new.invited_by,
    };
    audit::write(tx, &line, now)?;
    Ok(id)
}

/// What a status change records beside the status.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stamp<'a> {
    pub sent_at: bool,
    pub decided_at: bool,
    /// Sets `opened_at` if it is not set yet: an answer is also an opening by a person (the
    /// funnel never shows more answers than openings), noted in the same UPDATE as the answer.
    pub opened_at: bool,
    pub last_error: Option<&'a str>,
}

/// One status change, as [`transition`] carries it out and the audit log records it.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub id: i64,
    pub to: Status,
    pub actor: Actor,
    pub action: AuditAction,
    pub detail: Option<&'a str>,
    pub stamp: Stamp<'a>,
    pub at: Timestamp,
    /// The owner who acted through the owner API, if one did.
    pub owner: Option<&'a str>,
}

impl<'a> Transition<'a> {
    /// A change with no detail and nothing stamped; see [`Transition::detail`] and
    /// [`Transition::stamp`].
    pub fn new(id: i64, to: Status, actor: Actor, action: AuditAction, at: Timestamp) -> Self {
        Transition {
            id,
            to,
            actor,
            action,
            detail: None,
            stamp: Stamp::default(),
            at,
            owner: None,
        }
    }

    /// The owner acting through the owner API, for the audit line.
    pub fn by(self, owner: Option<&'a str>) -> Self {
        Transition { owner, ..self }
    }

    pub fn detail(self, detail: &'a str) -> Self {
        Transition {
            detail: Some(detail),
            ..self
        }
    }

    pub fn stamp(self, stamp: Stamp<'a>) -> Self {
        Transition { stamp, ..self }
    }
}

/// Why [`transition`] did not change the status.
#[derive(Debug)]
pub enum TransitionError {
    NotFound,
    /// The state machine forbids the step from this status (or another writer moved the
    /// invitation on between the read and the update).
    Illegal(Status),
    Store(Error),
}

/// The one way a status changes. Asks the state machine, then updates only if the row still
/// has the status just read (so a concurrent writer's change is never overwritten), and logs
/// the change. Returns the status it came from.
pub fn transition(tx: &Tx<'_>, t: &Transition<'_>) -> Result<Status, TransitionError> {
    let store = |e| TransitionError::Store(tx.err(e));
    let from: Status = row(
        tx,
        "SELECT status FROM invitations WHERE id = ?1",
        [t.id],
        |r| r.get(0),
    )
    .optional()
    .map_err(store)?
    .ok_or(TransitionError::NotFound)?;
    if !from.can_become(t.to) {
        return Err(TransitionError::Illegal(from));
    }
    let n = exec(
        tx,
        "UPDATE invitations SET status = ?3, updated_at = ?4,
             sent_at    = CASE WHEN ?5 THEN ?4 ELSE sent_at END,
             decided_at = CASE WHEN ?6 THEN ?4 ELSE decided_at END,
             last_error = CASE WHEN ?7 IS NOT NULL THEN ?7 ELSE last_error END,
             opened_at  = CASE WHEN ?8 THEN coalesce(opened_at, ?4) ELSE opened_at END
         WHERE id = ?1 AND status = ?2",
        params![
            t.id,
            from,
            t.to,
            t.at,
            t.stamp.sent_at,
            t.stamp.decided_at,
            t.stamp.last_error,
            t.stamp.opened_at
        ],
    )
    .map_err(store)?;
    if n != 1 {
        return Err(TransitionError::Illegal(from));
    }
    let line = Line {
        invitation: Some(t.id),
        actor: t.actor,
        action: t.action,
        from: Some(from),
        to: Some(t.to),
        detail: t.detail,
        owner: t.owner,
    };
    audit::write(tx, &line, t.at).map_err(TransitionError::Store)?;
    Ok(from)
}

/// Ids of pending invitations whose expiry has passed (not `sending`: the worker finishes
/// recording its outcome first).
pub fn due_for_expiry(tx: &Tx<'_>, now: Timestamp) -> Result<Vec<i64>> {
    // Named, because without statistics SQLite prefers the status index and reads every
    // pending invitation; this runs before every outbox claim. The list of statuses must be
    // the partial index's (migration V4), literally.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT id FROM invitations INDEXED BY invitations_pending_by_expiry
             WHERE status IN {} AND expires_at <= ?1",
            status_list(|s| s.can_become(Status::Expired))
        )
    });
    rows(tx, &SQL, [now], |r| r.get(0)).or_db(tx)
}

/// Which first look at a link is being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLook {
    /// A person opened it.
    Opened,
    /// Something that looks like a mail scanner fetched it.
    Scanned,
}

/// Records the first look of its kind; false if there was one already.
pub fn record_first_look(tx: &Tx<'_>, id: i64, look: FirstLook, now: Timestamp) -> Result<bool> {
    let sql = match look {
        FirstLook::Opened => {
            "UPDATE invitations SET opened_at = ?2 WHERE id = ?1 AND opened_at IS NULL"
        }
        FirstLook::Scanned => {
            "UPDATE invitations SET scanned_at = ?2 WHERE id = ?1 AND scanned_at IS NULL"
        }
    };
    Ok(exec(tx, sql, params![id, now]).or_db(tx)? == 1)
}

/// Records that the invitee asked for a new invitation, unless they did after `not_since`;
/// false if they did.
pub fn record_asked_again(
    tx: &Tx<'_>,
    id: i64,
    now: Timestamp,
    not_since: Timestamp,
) -> Result<bool> {
    let n = exec(
        tx,
        "UPDATE invitations SET asked_again_at = ?2
         WHERE id = ?1 AND (asked_again_at IS NULL OR asked_again_at <= ?3)",
        params![id, now, not_since],
    )
    .or_db(tx)?;
    Ok(n == 1)
}

/// What an answer must re-check inside its own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerTarget {
    /// The current link.
    pub link_id: Option<i64>,
    pub status: Status,
    pub email: String,
}

pub fn answer_target(tx: &Tx<'_>, id: i64) -> Result<Option<AnswerTarget>> {
    row(
        tx,
        "SELECT link_id, status, email FROM invitations WHERE id = ?1",
        [id],
        |r| {
            Ok(AnswerTarget {
                link_id: r.get(0)?,
                status: r.get(1)?,
                email: r.get(2)?,
            })
        },
    )
    .optional()
    .or_db(tx)
}
