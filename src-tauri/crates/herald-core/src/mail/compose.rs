//! One invitation mail: plain text and HTML from templates (every value escaped in the HTML, no
//! remote images, no tracking), with the headers mail programs need to treat it well. Values
//! come from validated fields and go through lettre's header encoding, so no CR/LF in a name or
//! note can add a header.

use askama::Template;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use time::macros::format_description;
use time::OffsetDateTime;

use super::transport::MailError;
use crate::links::MintedLink;
use crate::model::Invitation;
use crate::settings::General;

/// Where the mail's links point, on the confirmation site.
#[derive(Debug, Clone)]
pub struct Links {
    pub accept: String,
    /// The page where the typed code is entered.
    pub code_page: String,
    pub unsubscribe: String,
}

pub fn links(general: &General, link: &MintedLink) -> Links {
    let base = general.public_url.trim_end_matches('/');
    Links {
        accept: format!("{base}/i/{}", link.token.expose()),
        code_page: format!("{base}/code"),
        unsubscribe: format!("{base}/u/{}", link.unsubscribe.expose()),
    }
}

/// What both parts of the mail say.
struct Fields<'a> {
    invitee_name: Option<&'a str>,
    owner: &'a str,
    team: &'a str,
    role: &'a str,
    note: Option<&'a str>,
    accept_url: &'a str,
    code_url: &'a str,
    code: &'a str,
    expires: &'a str,
    unsubscribe_url: &'a str,
}

#[derive(Template)]
#[template(path = "invitation.txt")]
struct Text<'a> {
    m: &'a Fields<'a>,
}

/// The HTML part: askama escapes every value, since names and notes are the owner's text.
#[derive(Template)]
#[template(path = "invitation.html")]
struct Html<'a> {
    m: &'a Fields<'a>,
}

/// A fresh Message-ID for each send, at the sender's domain, from the OS RNG.
pub fn new_message_id(from: &str) -> String {
    let domain = from.rsplit_once('@').map_or("herald.invalid", |(_, d)| d);
    let mut b = [0u8; 16];
    // A failing RNG would only make the id less unique; the time keeps it distinct.
    let _ = getrandom::fill(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "<{}.{hex}@{domain}>",
        OffsetDateTime::now_utc().unix_timestamp()
    )
}

/// `Sunday 29 November 2026, 14:05 UTC`: unambiguous for every reader.
pub fn readable_time(t: i64) -> String {
    let f = format_description!(
        "[weekday] [day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
    );
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&f).ok())
        .unwrap_or_else(|| crate::clock::rfc3339(t))
}

/// The invitation's plain-text and HTML parts, exactly as [`compose`] puts them in the message.
/// Public (but hidden) for the fuzz targets in fuzz/, which check the HTML escaping on the
/// rendered HTML itself instead of taking a MIME message apart; the app calls `compose`.
#[doc(hidden)]
pub fn render_parts(
    general: &General,
    invitation: &Invitation,
    link: &MintedLink,
) -> Result<(String, String), MailError> {
    let links = links(general, link);
    let code = link.code.expose_grouped();
    let expires = readable_time(invitation.expires_at);
    let fields = Fields {
        invitee_name: invitation.name.as_deref(),
        owner: inviter(general, invitation),
        team: &general.team,
        role: &invitation.role,
        note: invitation.note.as_deref(),
        accept_url: &links.accept,
        code_url: &links.code_page,
        code: &code,
        expires: &expires,
        unsubscribe_url: &links.unsubscribe,
    };
    let template_err = |e: askama::Error| MailError::Template(e.to_string());
    let text = Text { m: &fields }.render().map_err(template_err)?;
    let html = Html { m: &fields }.render().map_err(template_err)?;
    Ok((text, html))
}

pub fn compose(
    general: &General,
    invitation: &Invitation,
    link: &MintedLink,
    message_id: &str,
) -> Result<Message, MailError> {
    let (text, html) = render_parts(general, invitation, link)?;
    let links = links(general, link);
    let address = |a: &str| a.parse().map_err(|_| MailError::Address(a.to_owned()));
    let owner = inviter(general, invitation);
    let from = Mailbox::new(Some(owner.to_owned()), address(&general.from)?);
    let to = Mailbox::new(invitation.name.clone(), address(&invitation.email)?);
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject(owner, &general.team))
        .message_id(Some(message_id.to_owned()))
        .date_now()
        .user_agent(format!("Herald {}", env!("CARGO_PKG_VERSION")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", links.unsubscribe),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        // A person's invitation, not a bulk mailing: ask auto-responders to stay quiet.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
    if let Some(reply_to) = &general.reply_to {
        builder = builder.reply_to(Mailbox::new(Some(owner.to_owned()), address(reply_to)?));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Where the secrets go in a preview: the owner sees the mail as the invitee will, but never
/// the link, the code or the unsubscribe address (only the invitee may hold those).
pub const PLACEHOLDER_LINK: &str = "[invitation link: only the invitee receives it]";
pub const PLACEHOLDER_CODE: &str = "[code]";
pub const PLACEHOLDER_UNSUBSCRIBE: &str = "[one-click unsubscribe link]";

/// A mail as rendered for the owner's preview.
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

/// The invitation mail's subject and text, from the real templates, with placeholders where
/// the link, the code and the unsubscribe link go.
pub fn preview(
    general: &General,
    invitee_name: Option<&str>,
    role: &str,
    note: Option<&str>,
    expires_at: i64,
) -> Result<Rendered, MailError> {
    let base = general.public_url.trim_end_matches('/');
    let code_url = format!("{base}/code");
    let expires = readable_time(expires_at);
    let fields = Fields {
        invitee_name,
        owner: &general.owner_name,
        team: &general.team,
        role,
        note,
        accept_url: PLACEHOLDER_LINK,
        code_url: &code_url,
        code: PLACEHOLDER_CODE,
        expires: &expires,
        unsubscribe_url: PLACEHOLDER_UNSUBSCRIBE,
    };
    let text = Text { m: &fields }
        .render()
        .map_err(|e| MailError::Template(e.to_string()))?;
    Ok(Rendered {
        subject: subject(&general.owner_name, &general.team),
        text,
    })
}

/// Who invited, as the mail and the page say it: the owner who made the invitation through the
/// owner API, or the data folder's own owner.
pub fn inviter<'a>(general: &'a General, invitation: &'a Invitation) -> &'a str {
    invitation
        .invited_by
        .as_deref()
        .unwrap_or(&general.owner_name)
}

fn subject(owner: &str, team: &str) -> String {
    format!("{owner} invited you to join {team}")
}

/// The message `herald smtp test` sends: proves the settings work without inventing an
/// invitation (no link, no code).
pub fn test_message(general: &General, to: &str, message_id: &str) -> Result<Message, MailError> {
    let from: lettre::Address = general
        .from
        .parse()
        .map_err(|_| MailError::Address(general.from.clone()))?;
    let to: lettre::Address = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
    Message::builder()
        .from(Mailbox::new(Some(general.owner_name.clone()), from))
        .to(Mailbox::new(None, to))
        .subject(format!("Herald test message for {}", general.team))
        .message_id(Some(message_id.to_owned()))
        .date_now()
        .user_agent(format!("Herald {}", env!("CARGO_PKG_VERSION")))
        .body(format!(
            "This is a test message from Herald for {}.\n\nIf you can read it, Herald can mail invitations through this server.\n",
            general.team
        ))
        .map_err(|e| MailError::Build(e.to_string()))
}
