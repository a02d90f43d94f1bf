//! Looking before leaping: what a list of people would give (each line ready, or why not) and
//! what the mail will say, before anything is queued. Read-only, and judged by the same rules
//! `create_invitations` applies, so the preview and the real thing cannot disagree.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::invitations::{DEFAULT_ROLE, MAX_BATCH};
use crate::recipients;
use crate::store::invitations;
use crate::validate::{self, MAX_NAME_LEN, MAX_NOTE_LEN, MAX_ROLE_LEN};

/// What would become of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// It would be queued.
    Ready,
    /// Not an address Herald can mail; the message says why.
    Invalid { message: String },
    /// The same address appears on an earlier line; only that one counts.
    Duplicate { first_line: u32 },
    /// The address asked never to be invited again.
    OptedOut,
    /// The address has a pending invitation already.
    AlreadyInvited { id: i64 },
    /// The per-address mail limit would be passed; the message says until when.
    RateLimited { message: String },
    /// Past the most one batch may hold.
    OverBatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecipientCheck {
    /// The line of the pasted text or file (1-based).
    pub line: u32,
    pub input: String,
    /// Normalised (punycode domain, lower case), when the line is an address.
    pub email: Option<String>,
    pub name: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecipientsPreview {
    pub entries: Vec<RecipientCheck>,
    /// How many lines would be queued.
    pub ready: u32,
    /// The most addresses one batch takes.
    pub max_batch: u32,
}

/// An invitation being written: raw input, as the owner types it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MailDraft {
    /// The invitee's name, when there is one person.
    pub name: Option<String>,
    pub role: Option<String>,
    pub note: Option<String>,
    /// Like `7d`; the data folder's default when absent.
    pub expires: Option<String>,
}

/// The mail as the invitee will read it, with placeholders for the link, code and
/// unsubscribe address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MailPreview {
    /// `Ada Lovelace <invites@example.com>`
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub expires_at: Timestamp,
}

impl Herald {
    /// Judges every line of a pasted list or CSV file, changing nothing.
    pub fn check_recipients(&self, text: &str) -> Result<RecipientsPreview> {
        let entries = recipients::parse(text)?;
        self.sweep_expired()?;
        let now = self.clock.now();
        let mut first_seen: HashMap<String, u32> = HashMap::new();
        let mut ready = 0u32;
        let checks = self.store.read(|tx| {
            let mut out = Vec::with_capacity(entries.len());
            for e in &entries {
                let line = u32::try_from(e.line).unwrap_or(u32::MAX);
                let (name, email) = match validate::recipient(&e.text) {
                    Ok(r) => r,
                    Err(err) => {
                        out.push(RecipientCheck {
                            line,
                            input: e.text.clone(),
                            email: None,
                            name: None,
                            verdict: Verdict::Invalid {
                                message: err.to_string(),
                            },
                        });
                        continue;
                    }
                };
                let email = email.into_string();
                let verdict = if let Some(&first_line) = first_seen.get(&email) {
                    Verdict::Duplicate { first_line }
                } else {
                    first_seen.insert(email.clone(), line);
                    match invitations::pending_for_email(tx, &email)? {
                        Some(id) => Verdict::AlreadyInvited { id },
                        None => match self.check_may_mail(tx, &email, 1, now) {
                            Ok(()) if ready as usize >= MAX_BATCH => Verdict::OverBatch,
                            Ok(()) => Verdict::Ready,
                            Err(Error::OptedOut { .. }) => Verdict::OptedOut,
                            Err(e @ Error::MailLimit { .. }) => Verdict::RateLimited {
                                message: e.to_string(),
                            },
                            Err(e) => return Err(e),
                        },
                    }
                };
                if verdict == Verdict::Ready {
                    ready += 1;
                }
                out.push(RecipientCheck {
                    line,
                    input: e.text.clone(),
                    email: Some(email),
                    name,
                    verdict,
                });
            }
            Ok(out)
        })?;
        Ok(RecipientsPreview {
            entries: checks,
            ready,
            max_batch: MAX_BATCH as u32,
        })
    }

    /// The invitation mail for a draft, validated as `create_invitations` would.
    pub fn preview_mail(&self, draft: &MailDraft) -> Result<MailPreview> {
        self.preview_mail_by(draft, None)
    }

    /// [`Herald::preview_mail`] for invitations `by` would make: the mail names them.
    pub(crate) fn preview_mail_by(
        &self,
        draft: &MailDraft,
        by: Option<&str>,
    ) -> Result<MailPreview> {
        let mut general = self.general()?;
        if let Some(by) = by {
            general.owner_name = by.to_owned();
        }
        let name = validate::optional_text("name", draft.name.as_deref(), MAX_NAME_LEN)?;
        let role = match draft.role.as_deref() {
            Some(r) => validate::text("role", r, MAX_ROLE_LEN)?,
            None => DEFAULT_ROLE.to_owned(),
        };
        let note = validate::optional_text("note", draft.note.as_deref(), MAX_NOTE_LEN)?;
        let expires_at = self
            .clock
            .now()
            .saturating_add(self.ttl(draft.expires.as_deref())?);
        let rendered = crate::mail::preview(
            &general,
            name.as_deref(),
            &role,
            note.as_deref(),
            expires_at,
        )
        .map_err(|e| Error::Template(e.to_string()))?;
        Ok(MailPreview {
            from: format!("{} <{}>", general.owner_name, general.from),
            reply_to: general.reply_to,
            subject: rendered.subject,
            text: rendered.text,
            expires_at,
        })
    }
}
