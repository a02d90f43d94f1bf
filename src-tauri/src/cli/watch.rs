//! `herald watch`: one line (or one JSON object) per event as it happens, here or on the
//! paired server, until Ctrl-C. A lost server is said once, and when it answers again what
//! happened meanwhile follows: nothing is skipped.

use std::io::Write;

use futures_util::StreamExt;
use herald_api::{Client, WatchItem};
use herald_core::{AuditAction, Event};
use serde::Serialize;

use super::args::WatchArgs;
use super::CliError;

/// One event as `--json` prints it: the fields of `herald invite show --json`'s history lines,
/// plus which invitation and the event's id (to resume with `--after`).
#[derive(Serialize)]
struct EventJson<'a> {
    id: i64,
    invitation: Option<i64>,
    email: Option<&'a str>,
    at: String,
    action: AuditAction,
    actor: herald_core::Actor,
    status: Option<herald_core::Status>,
    detail: Option<&'a str>,
    /// The owner who acted through the owner API; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
}

pub async fn watch(out: &mut impl Write, client: &Client, a: WatchArgs) -> Result<(), CliError> {
    let mut events = client.watch(a.after).await?;
    if !a.json {
        writeln!(
            out,
            "Watching {} for what happens (Ctrl-C stops).",
            client.place()
        )?;
        out.flush()?;
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let item = tokio::select! {
            item = events.next() => item,
            _ = &mut ctrl_c => return Ok(()),
        };
        match item {
            None => return Ok(()),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(WatchItem::Event(e))) => {
                if a.json {
                    serde_json::to_writer(&mut *out, &json(&e)).map_err(std::io::Error::from)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{}", line(&e))?;
                }
            }
            // Said on stderr in both forms: stdout stays one event per line.
            Some(Ok(WatchItem::Lost(e))) => {
                eprintln!("herald: {e}; trying again, and nothing will be missed");
            }
            Some(Ok(WatchItem::Back)) => eprintln!("herald: the server answers again"),
        }
        out.flush()?;
    }
}

fn json(e: &Event) -> EventJson<'_> {
    EventJson {
        id: e.id,
        invitation: e.invitation_id,
        email: e.email.as_deref(),
        at: herald_core::rfc3339(e.entry.at),
        action: e.entry.action,
        actor: e.entry.actor,
        status: e.entry.to_status,
        detail: e.entry.detail.as_deref(),
        owner: e.entry.owner.as_deref(),
    }
}

/// `2026-12-02T14:03:11Z  #12 ada@example.com  accepted (status accepted)`.
fn line(e: &Event) -> String {
    let mut s = format!("{}  ", herald_core::rfc3339(e.entry.at));
    match (e.invitation_id, &e.email) {
        (Some(id), Some(email)) => s.push_str(&format!("#{id} {email}  ")),
        (Some(id), None) => s.push_str(&format!("#{id}  ")),
        _ => {}
    }
    s.push_str(&e.entry.action.to_string());
    if let Some(o) = &e.entry.owner {
        s.push_str(&format!(" by {o}"));
    }
    if let Some(to) = e.entry.to_status {
        s.push_str(&format!(" → {to}"));
    }
    if let Some(d) = &e.entry.detail {
        s.push_str(&format!(": {d}"));
    }
    s
}
