//! The invitation mail, rendered from owner-typed values (team, owner, invitee name, role,
//! note), addresses and the site's address. Each value first passes the validation the app
//! applies (`validate::text` and friends); one that does not is replaced by a plain default,
//! as the app would have refused it.
//!
//! - Rendering and composing never fail or panic for validated values.
//! - The HTML part has exactly the template's own tags: no value can open a tag, an attribute
//!   or an entity (askama escapes them all), so `<script` from a note stays text.
//! - The plain-text part carries the values verbatim (no HTML escaping leaks into it).
//! - The header section is CRLF lines of the expected headers, each once, in ASCII, so no
//!   value can add a header (Bcc:) or end the headers early.
#![no_main]

use herald_core::mail;
use herald_core::settings::General;
use herald_core::token::{self, Claims, HmacKey, Purpose, KEY_LEN, NONCE_LEN};
use herald_core::validate::{self, Email, MAX_NAME_LEN, MAX_NOTE_LEN, MAX_ROLE_LEN, MAX_TEAM_LEN};
use herald_core::{Invitation, MintedLink, Status};
use libfuzzer_sys::fuzz_target;

/// The owner's values, from the input's NUL-separated fields in this order, so that seeds are
/// plain text written by hand. An empty or missing field is "none" (the default for the
/// required ones). No value the app accepts contains a NUL (validation refuses control
/// characters), so splitting on it hides nothing.
struct Input<'a> {
    team: &'a str,
    owner: &'a str,
    name: Option<&'a str>,
    role: &'a str,
    note: Option<&'a str>,
    email: &'a str,
    from: &'a str,
    reply_to: Option<&'a str>,
    public_url: &'a str,
    /// Seconds since 1970, in decimal; any i64 (the mail prints it as a date).
    expires_at: i64,
}

impl<'a> Input<'a> {
    fn read(data: &'a str) -> Input<'a> {
        let mut f = data.split('\0');
        let mut next = || f.next().unwrap_or_default();
        let some = |s: &'a str| (!s.is_empty()).then_some(s);
        Input {
            team: next(),
            owner: next(),
            name: some(next()),
            role: next(),
            note: some(next()),
            email: next(),
            from: next(),
            reply_to: some(next()),
            public_url: next(),
            expires_at: next().trim().parse().unwrap_or(1_900_000_000),
        }
    }
}

fn text_or(field: &'static str, value: &str, max: usize, default: &str) -> String {
    validate::text(field, value, max).unwrap_or_else(|_| default.to_owned())
}

fn optional(field: &'static str, value: Option<&str>, max: usize) -> Option<String> {
    validate::optional_text(field, value, max).unwrap_or(None)
}

fn email_or(value: &str, default: &str) -> String {
    Email::parse(value).map_or_else(|_| default.to_owned(), Email::into_string)
}

/// The start of each tag (`<p`, `</strong`, `<!DOCTYPE`...), in order.
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .map(|(i, _)| {
            let rest = &html[i..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

const HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Date",
    "User-Agent",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
];

fn check_headers(message: &[u8], reply_to: bool) {
    let message = std::str::from_utf8(message).expect("the message is UTF-8");
    let (head, _) = message
        .split_once("\r\n\r\n")
        .expect("the headers end with an empty line");
    assert!(head.is_ascii(), "non-ASCII header: {head:?}");
    let mut seen: Vec<&str> = Vec::new();
    for line in head.split("\r\n") {
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "bare CR or LF in a header line: {line:?}"
        );
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the header before.
            assert!(!seen.is_empty(), "the headers start with a continuation");
            continue;
        }
        let (name, _) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a header line: {line:?}"));
        seen.push(name);
    }
    let mut expected: Vec<&str> = HEADERS.to_vec();
    if reply_to {
        expected.push("Reply-To");
    }
    expected.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, expected, "unexpected header set; headers:\n{head}");
}

fn link(key: &HmacKey, invitation: &Invitation) -> MintedLink {
    let nonce = [9u8; NONCE_LEN];
    let claims = Claims {
        key_version: 1,
        invitation_id: invitation.id,
        email: &invitation.email,
        expires_at: invitation.expires_at,
        nonce: &nonce,
    };
    MintedLink {
        invitation_id: invitation.id,
        token: token::mint(key, Purpose::Invitation, &claims),
        code: token::code(key, &claims),
        unsubscribe: token::mint(key, Purpose::Unsubscribe, &claims),
    }
}

fn invitation(
    email: String,
    name: Option<String>,
    role: String,
    note: Option<String>,
    expires_at: i64,
) -> Invitation {
    Invitation {
        id: 1,
        email,
        name,
        role,
        note,
        status: Status::Queued,
        created_at: 1_800_000_000,
        expires_at,
        sent_at: None,
        decided_at: None,
        attempts: 0,
        last_error: None,
        key_version: 1,
        opened_at: None,
        scanned_at: None,
        invited_by: None,
    }
}

fuzz_target!(|data: &str| {
    let input = Input::read(data);
    let general = General {
        team: text_or("team name", input.team, MAX_TEAM_LEN, "Team"),
        owner_name: text_or("owner name", input.owner, MAX_NAME_LEN, "Owner"),
        from: email_or(input.from, "invites@example.com"),
        public_url: validate::public_url(input.public_url)
            .unwrap_or_else(|_| "https://invite.example.com".to_owned()),
        reply_to: input
            .reply_to
            .and_then(|r| Email::parse(r).ok())
            .map(Email::into_string),
        default_expiry_secs: 7 * 86_400,
    };
    let name = optional("name", input.name, MAX_NAME_LEN);
    let note = optional("note", input.note, MAX_NOTE_LEN);
    let inv = invitation(
        email_or(input.email, "ada@example.com"),
        name.clone(),
        text_or("role", input.role, MAX_ROLE_LEN, "member"),
        note.clone(),
        input.expires_at,
    );
    let key = HmacKey::from_bytes(&[5; KEY_LEN]);
    let link = link(&key, &inv);

    let (text, html) = mail::render_parts(&general, &inv, &link).expect("the mail renders");

    // The same mail with harmless values of the same shape: its tags are the template's.
    let plain_general = General {
        team: "Team".to_owned(),
        owner_name: "Owner".to_owned(),
        ..general.clone()
    };
    let plain_inv = invitation(
        inv.email.clone(),
        name.as_ref().map(|_| "Name".to_owned()),
        "member".to_owned(),
        note.as_ref().map(|_| "Note".to_owned()),
        inv.expires_at,
    );
    let (_, plain_html) =
        mail::render_parts(&plain_general, &plain_inv, &link).expect("the plain mail renders");
    assert_eq!(
        tags(&html),
        tags(&plain_html),
        "a value changed the HTML's tags"
    );
    assert_eq!(html.matches('>').count(), plain_html.matches('>').count());
    assert_eq!(html.matches('"').count(), plain_html.matches('"').count());
    // The template has no script, so none can come from a value.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for value in [&general.team, &general.owner_name, &inv.role]
        .into_iter()
        .chain(name.as_ref())
        .chain(note.as_ref())
    {
        assert!(
            text.contains(value.as_str()),
            "{value:?} is not verbatim in the text"
        );
    }

    // The preview shares the text template; it must agree that these values render.
    mail::preview(
        &general,
        name.as_deref(),
        &inv.role,
        note.as_deref(),
        inv.expires_at,
    )
    .expect("the preview renders");

    let message_id = mail::new_message_id(&general.from);
    let message = mail::compose(&general, &inv, &link, &message_id).expect("the mail composes");
    check_headers(&message.formatted(), general.reply_to.is_some());
});
