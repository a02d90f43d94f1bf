//! The pages invitees see, one template for all: plain, readable on a phone, working without
//! JavaScript. The English wording lives here and in `templates/page.html` only, ready to be
//! swapped for a translation.

use std::sync::OnceLock;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use herald_core::{mail::readable_time, General, Invitation, LinkCheck, Superseded};
use sha2::Digest;

pub const STYLE: &str = include_str!("../templates/style.css");

/// `'sha256-…'` of the one inline stylesheet, for the Content-Security-Policy.
pub fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let digest = sha2::Sha256::digest(STYLE.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

#[derive(Template)]
#[template(path = "page.html")]
pub struct Page {
    lang: &'static str,
    style: &'static str,
    title: String,
    team: String,
    owner: String,
    heading: String,
    lines: Vec<String>,
    details: Option<Details>,
    answer: Option<AnswerForm>,
    code_form: bool,
    error: Option<String>,
    ask: Option<String>,
    unsubscribe: Option<String>,
    #[template(skip)]
    status: StatusCode,
}

pub struct Details {
    owner: String,
    team: String,
    role: String,
    email: String,
    expires: String,
    note: Option<String>,
}

pub struct AnswerForm {
    action: String,
    for_email: String,
    /// The typed-code path carries the address and code along, checked again on submit.
    email: Option<String>,
    code: Option<String>,
}

/// The settings as this invitation's pages speak: the owner who invited names themselves (see
/// `herald_core::mail::inviter`), as the mail did.
fn as_invited(g: &General, i: &Invitation) -> General {
    General {
        owner_name: herald_core::mail::inviter(g, i).to_owned(),
        ..g.clone()
    }
}

impl Page {
    fn new(status: StatusCode, general: Option<&General>, heading: impl Into<String>) -> Page {
        let heading = heading.into();
        Page {
            lang: "en",
            style: STYLE,
            title: match general {
                Some(g) => format!("{heading} · {}", g.team),
                None => heading.clone(),
            },
            team: general.map(|g| g.team.clone()).unwrap_or_default(),
            owner: general
                .map(|g| g.owner_name.clone())
                .unwrap_or_else(|| "The team's owner".to_owned()),
            heading,
            lines: Vec::new(),
            details: None,
            answer: None,
            code_form: false,
            error: None,
            ask: None,
            unsubscribe: None,
            status,
        }
    }

    fn line(mut self, l: impl Into<String>) -> Page {
        self.lines.push(l.into());
        self
    }

    fn details(mut self, g: &General, i: &Invitation) -> Page {
        self.details = Some(Details {
            owner: g.owner_name.clone(),
            team: g.team.clone(),
            role: i.role.clone(),
            email: i.email.clone(),
            expires: readable_time(i.expires_at),
            note: i.note.clone(),
        });
        self
    }

    /// The invitation with its Accept and Decline buttons.
    pub fn invitation(
        g: &General,
        i: &Invitation,
        action: String,
        code: Option<(String, String)>,
    ) -> Page {
        let g = &as_invited(g, i);
        let mut p = Page::new(
            StatusCode::OK,
            Some(g),
            format!("{} invited you to join {}", g.owner_name, g.team),
        )
        .details(g, i);
        let (email, code) = match code {
            Some((e, c)) => (Some(e), Some(c)),
            None => (None, None),
        };
        p.answer = Some(AnswerForm {
            action,
            for_email: i.email.clone(),
            email,
            code,
        });
        p
    }

    /// Any link that cannot be answered: why, in plain words. `ask` is where the "ask for a
    /// new invitation" button posts, for ended invitations.
    pub fn refused(g: &General, check: &LinkCheck, ask: Option<String>) -> Page {
        // The owner who invited is the one the invitee knows, here as in the mail.
        let invited = match check {
            LinkCheck::Decided(i)
            | LinkCheck::Expired(i)
            | LinkCheck::Revoked(i)
            | LinkCheck::Ended(_, i) => Some(as_invited(g, i)),
            LinkCheck::Live(_) | LinkCheck::Invalid => None,
        };
        let g = invited.as_ref().unwrap_or(g);
        let mut p = match check {
            LinkCheck::Decided(i) => {
                let what = if i.status == herald_core::Status::Accepted {
                    "accepted"
                } else {
                    "declined"
                };
                Page::new(
                    StatusCode::OK,
                    Some(g),
                    format!("You have already {what} this invitation"),
                )
                .line(format!(
                    "{} has been told. There is nothing more to do here.",
                    g.owner_name
                ))
            }
            LinkCheck::Expired(_) => {
                Page::new(StatusCode::GONE, Some(g), "This invitation has expired").line(
                    "Its time ran out before it was answered, so it can no longer be accepted.",
                )
            }
            LinkCheck::Revoked(_) => {
                Page::new(StatusCode::GONE, Some(g), "This invitation was withdrawn").line(format!(
                    "The invitation from {} was withdrawn, so it can no longer be accepted.",
                    g.owner_name
                ))
            }
            LinkCheck::Ended(reason, _) => {
                let why = match reason {
                    Superseded::Renewed => "a newer mail carries a fresh link",
                    Superseded::Reissued => "a newer mail carries a re-signed link",
                };
                Page::new(StatusCode::GONE, Some(g), "This link has been replaced")
                    .line(format!("This invitation is still open, but {why}. Please use the link in the most recent mail from {}.", g.team))
            }
            LinkCheck::Live(i) => return Page::invitation(g, i, String::new(), None),
            LinkCheck::Invalid => return Page::not_found(Some(g)),
        };
        p.ask = ask;
        p
    }

    pub fn not_found(g: Option<&General>) -> Page {
        Page::new(StatusCode::NOT_FOUND, g, "This link is not valid")
            .line("It may have been copied incompletely. Please open the link from the mail again, or type the code from the mail at the address it gives.")
    }

    pub fn answered(g: &General, i: &Invitation, never_again: bool) -> Page {
        let g = &as_invited(g, i);
        if i.status == herald_core::Status::Accepted {
            Page::new(StatusCode::OK, Some(g), format!("Welcome to {}", g.team)).line(format!(
                "You have accepted the invitation. {} has been told and will be in touch.",
                g.owner_name
            ))
        } else {
            let p = Page::new(StatusCode::OK, Some(g), "You have declined the invitation").line(
                format!("{} has been told. Thank you for answering.", g.owner_name),
            );
            if never_again {
                p.line(format!("{} will not be invited again.", i.email))
            } else {
                p
            }
        }
    }

    pub fn code_form(g: &General, error: Option<&str>) -> Page {
        let mut p = Page::new(
            StatusCode::OK,
            Some(g),
            "Answer an invitation with its code",
        )
        .line("Type the address the invitation was sent to and the code printed in the mail.");
        p.code_form = true;
        p.error = error.map(str::to_owned);
        if error.is_some() {
            p.status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        p
    }

    pub fn asked(g: &General, i: &Invitation, told: bool) -> Page {
        let g = &as_invited(g, i);
        if told {
            Page::new(StatusCode::OK, Some(g), "Your request has been sent").line(format!(
                "{} has been told that you would like a new invitation.",
                g.owner_name
            ))
        } else {
            Page::new(StatusCode::OK, Some(g), "Your request was already sent").line(format!(
                "{} was told recently; there is no need to ask again today.",
                g.owner_name
            ))
        }
    }

    pub fn unsubscribe_confirm(g: &General, action: String) -> Page {
        let mut p = Page::new(StatusCode::OK, Some(g), format!("Stop invitations from {}", g.team))
            .line("Press the button to never receive an invitation at this address again. Pending invitations to it are withdrawn.");
        p.unsubscribe = Some(action);
        p
    }

    pub fn unsubscribed(g: &General, email: &str) -> Page {
        Page::new(StatusCode::OK, Some(g), "You will not be invited again").line(format!(
            "{email} has been removed: {} cannot invite it again.",
            g.team
        ))
    }

    pub fn refused_request(status: StatusCode, heading: &str, line: &str) -> Page {
        Page::new(status, None, heading).line(line)
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        match self.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            // Never internals in a response.
            Err(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again later.",
            )
                .into_response(),
        }
    }
}
