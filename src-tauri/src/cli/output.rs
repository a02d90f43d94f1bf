//! How the command line prints things: aligned text for people, one JSON object per line for
//! scripts. Only `Invitation`, owners and key metadata reach here, so no token or invitation
//! code can be printed; the one secret printed is a new owner's pairing code, which the person
//! who ran `herald owner add` must read off to type on the owner's computer.

use std::io::{self, Write};

use herald_api::types::NewOwnerCode;
use herald_core::{rfc3339, AuditEntry, Invitation, KeyStatus, OwnerInfo, Timestamp};
use serde::Serialize;

/// The JSON form of an invitation: the documented fields, times in RFC 3339 or null.
#[derive(Debug, Serialize)]
pub struct InvitationJson<'a> {
    pub id: i64,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: &'a str,
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: String,
    pub sent_at: Option<String>,
    pub decided_at: Option<String>,
    /// When a person first opened the link; never a decision.
    pub opened_at: Option<String>,
    /// When something that looks like a mail scanner first fetched the link.
    pub scanned_at: Option<String>,
    pub attempts: u32,
    pub last_error: Option<&'a str>,
    /// The owner who invited through the owner API; absent for the data folder's own owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<&'a str>,
}

impl<'a> From<&'a Invitation> for InvitationJson<'a> {
    fn from(i: &'a Invitation) -> Self {
        InvitationJson {
            id: i.id,
            email: &i.email,
            name: i.name.as_deref(),
            role: &i.role,
            status: i.status.as_str(),
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
            sent_at: i.sent_at.map(rfc3339),
            decided_at: i.decided_at.map(rfc3339),
            opened_at: i.opened_at.map(rfc3339),
            scanned_at: i.scanned_at.map(rfc3339),
            attempts: i.attempts,
            last_error: i.last_error.as_deref(),
            invited_by: i.invited_by.as_deref(),
        }
    }
}

pub fn json_lines<T: Serialize>(
    out: &mut impl Write,
    items: impl IntoIterator<Item = T>,
) -> io::Result<()> {
    for item in items {
        serde_json::to_writer(&mut *out, &item)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn invitations_json(out: &mut impl Write, list: &[Invitation]) -> io::Result<()> {
    json_lines(out, list.iter().map(InvitationJson::from))
}

/// A table with a header; columns as wide as their widest cell.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < widths.len() {
                s.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut header.iter().copied()))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

pub fn invitations_table(out: &mut impl Write, list: &[Invitation]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.status.to_string(),
                i.email.clone(),
                i.name.clone().unwrap_or_default(),
                i.role.clone(),
                rfc3339(i.expires_at),
            ]
        })
        .collect();
    table(
        out,
        &["ID", "STATUS", "EMAIL", "NAME", "ROLE", "EXPIRES"],
        &rows,
    )
}

pub fn invitation_detail(
    out: &mut impl Write,
    i: &Invitation,
    history: &[AuditEntry],
) -> io::Result<()> {
    let opt = |t: Option<Timestamp>| t.map(rfc3339).unwrap_or_else(|| "-".to_owned());
    writeln!(out, "Invitation #{}", i.id)?;
    writeln!(out, "  email:      {}", i.email)?;
    writeln!(out, "  name:       {}", i.name.as_deref().unwrap_or("-"))?;
    writeln!(out, "  role:       {}", i.role)?;
    if let Some(note) = &i.note {
        writeln!(out, "  note:       {note}")?;
    }
    writeln!(out, "  status:     {}", i.status)?;
    writeln!(out, "  created:    {}", rfc3339(i.created_at))?;
    writeln!(out, "  expires:    {}", rfc3339(i.expires_at))?;
    writeln!(out, "  sent:       {}", opt(i.sent_at))?;
    writeln!(out, "  opened:     {}", opt(i.opened_at))?;
    writeln!(out, "  scanned:    {}", opt(i.scanned_at))?;
    writeln!(out, "  decided:    {}", opt(i.decided_at))?;
    writeln!(out, "  attempts:   {}", i.attempts)?;
    if let Some(e) = &i.last_error {
        writeln!(out, "  last error: {e}")?;
    }
    writeln!(out, "  signed by:  key v{}", i.key_version)?;
    writeln!(out, "History:")?;
    for h in history {
        let change = match (h.from_status, h.to_status) {
            (Some(f), Some(t)) => format!(" ({f} → {t})"),
            (None, Some(t)) => format!(" (→ {t})"),
            _ => String::new(),
        };
        let detail = h
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        // An owner who acted through the owner API is named; the data folder's own is not.
        let by = h
            .owner
            .as_deref()
            .map(|o| format!(" by {o}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {:<7}  {}{by}{change}{detail}",
            rfc3339(h.at),
            h.actor.as_str(),
            h.action
        )?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct KeyJson<'a> {
    version: u32,
    key_id: &'a str,
    created_at: String,
    retired_at: Option<String>,
    current: bool,
    presence: herald_core::KeyPresence,
    live_links: usize,
}

pub fn key_status_json(out: &mut impl Write, s: &KeyStatus) -> io::Result<()> {
    json_lines(
        out,
        s.versions.iter().map(|k| KeyJson {
            version: k.version,
            key_id: &k.key_id,
            created_at: rfc3339(k.created_at),
            retired_at: k.retired_at.map(rfc3339),
            current: k.current,
            presence: k.presence,
            live_links: k.live_links,
        }),
    )
}

pub fn key_status(out: &mut impl Write, s: &KeyStatus) -> io::Result<()> {
    writeln!(out, "Keyring service: {}", s.keyring_service)?;
    if s.versions.is_empty() {
        writeln!(
            out,
            "No signing key yet: the first is made, in the keyring, with the first invitation."
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = s
        .versions
        .iter()
        .map(|k| {
            let state = match k.presence {
                herald_core::KeyPresence::Present if k.current => "current",
                herald_core::KeyPresence::Present => "verifying",
                herald_core::KeyPresence::Missing => "MISSING from keyring",
                herald_core::KeyPresence::Mismatch => "DIFFERENT key in keyring",
                herald_core::KeyPresence::Retired => "retired",
            };
            vec![
                format!("v{}", k.version),
                k.key_id.clone(),
                rfc3339(k.created_at),
                state.to_owned(),
                k.live_links.to_string(),
            ]
        })
        .collect();
    table(
        out,
        &["VERSION", "FINGERPRINT", "CREATED", "STATE", "LIVE LINKS"],
        &rows,
    )?;
    if !s.needing_reissue.is_empty() {
        let ids: Vec<String> = s.needing_reissue.iter().map(|i| format!("#{i}")).collect();
        writeln!(
            out,
            "{} pending invitation(s) have no working link ({}): run `herald key reissue`.",
            ids.len(),
            ids.join(", ")
        )?;
    }
    Ok(())
}

/// `herald owner add`: the code, and the command that uses it on the owner's computer.
pub fn new_owner(out: &mut impl Write, o: &NewOwnerCode) -> io::Result<()> {
    let (code, url) = (&o.code, &o.url);
    writeln!(out, "Added owner #{} ({}).", o.id, o.name)?;
    writeln!(
        out,
        "On their computer, before {} (15 minutes), run:",
        rfc3339(o.expires_at)
    )?;
    writeln!(out)?;
    writeln!(out, "    herald connect {url} --code {code}")?;
    writeln!(out)?;
    writeln!(out, "The code works once, and only with this Herald. Pass it on in person or over a channel you trust: whoever uses it first becomes this owner.")?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct NewOwnerJson<'a> {
    id: i64,
    name: &'a str,
    code: &'a str,
    expires_at: String,
    url: &'a str,
}

pub fn new_owner_json(out: &mut impl Write, o: &NewOwnerCode) -> io::Result<()> {
    json_lines(
        out,
        [NewOwnerJson {
            id: o.id,
            name: &o.name,
            code: &o.code,
            expires_at: rfc3339(o.expires_at),
            url: &o.url,
        }],
    )
}

/// The JSON form of an owner: never a secret.
#[derive(Debug, Serialize)]
struct OwnerJson<'a> {
    id: i64,
    name: &'a str,
    added_at: String,
    paired: bool,
    paired_at: Option<String>,
    last_seen_at: Option<String>,
    pairing_expires_at: Option<String>,
}

pub fn owners_json(out: &mut impl Write, list: &[OwnerInfo]) -> io::Result<()> {
    json_lines(
        out,
        list.iter().map(|o| OwnerJson {
            id: o.id,
            name: &o.name,
            added_at: rfc3339(o.added_at),
            paired: o.paired,
            paired_at: o.paired_at.map(rfc3339),
            last_seen_at: o.last_seen_at.map(rfc3339),
            pairing_expires_at: o.pairing_expires_at.map(rfc3339),
        }),
    )
}

pub fn owners_table(out: &mut impl Write, list: &[OwnerInfo]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|o| {
            let paired = match (o.paired_at, o.pairing_expires_at) {
                (Some(t), _) => rfc3339(t),
                (None, Some(until)) => format!("code valid until {}", rfc3339(until)),
                (None, None) => "no (code expired)".to_owned(),
            };
            vec![
                o.id.to_string(),
                o.name.clone(),
                rfc3339(o.added_at),
                paired,
                o.last_seen_at
                    .map(rfc3339)
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    table(out, &["ID", "NAME", "ADDED", "PAIRED", "LAST SEEN"], &rows)
}
