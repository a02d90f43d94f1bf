//! Input validation. Each failure is its own variant with a message that names the field and
//! says what to change. Everything a user types passes through here before anything is stored.

use std::time::Duration;

/// The longest address SMTP can carry (RFC 5321: 256-octet path minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_ROLE_LEN: usize = 40;
pub const MAX_NOTE_LEN: usize = 1000;
pub const MAX_TEAM_LEN: usize = 80;

pub const MIN_EXPIRY: Duration = Duration::from_secs(3600);
pub const MAX_EXPIRY: Duration = Duration::from_secs(30 * 24 * 3600);
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the email address is empty")]
    EmailEmpty,
    #[error("{input:?} is not an email address: it has no @")]
    EmailNoAt { input: String },
    #[error("{input:?} is not an email address: {reason}")]
    EmailLocalPart { input: String, reason: &'static str },
    #[error("{input:?} is not an email address: the domain {reason}")]
    EmailDomain { input: String, reason: String },
    #[error(
        "{input:?} is too long for an email address ({len} characters; at most {MAX_EMAIL_LEN})"
    )]
    EmailTooLong { input: String, len: usize },
    #[error("the {field} is empty")]
    Empty { field: &'static str },
    #[error("the {field} is too long ({len} characters; at most {max})")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the {field} contains a control character ({found}); use plain text on one line")]
    ControlCharacter { field: &'static str, found: String },
    #[error("the {field} contains an invisible text-direction character ({found}), which can disguise what a reader sees; remove it")]
    BidiControl { field: &'static str, found: String },
    #[error("the {field} contains an invisible character ({found}), which can make two different names look the same; remove it")]
    InvisibleCharacter { field: &'static str, found: String },
    #[error("{input:?} is not an expiry: write a number and a unit, like 12h, 7d or 2w")]
    ExpiryFormat { input: String },
    #[error("an expiry of {input} is out of range: choose from 1h to 30d")]
    ExpiryRange { input: String },
    #[error("{input:?} is not a usable public URL: {reason}")]
    PublicUrl { input: String, reason: &'static str },
    #[error("{input:?} is not a usable SMTP host: {reason}")]
    SmtpHost { input: String, reason: String },
    #[error("the SMTP port must be between 1 and 65535")]
    SmtpPort,
    #[error("plaintext SMTP to {host} would send passwords and links readable on the network")]
    InsecureSmtp { host: String },
    #[error("no email addresses were given")]
    NoRecipients,
    #[error("too many addresses in one batch ({count}; at most {max})")]
    BatchTooLarge { count: usize, max: usize },
    #[error("the SMTP password is empty")]
    EmptyPassword,
    #[error("limits of {per_day} a day and {per_month} in 30 days do not work: allow at least 1 a day, no fewer in 30 days than in a day, and at most {max} in 30 days")]
    Limits {
        per_day: u32,
        per_month: u32,
        max: u32,
    },
    #[error("\"{0}\" is not an address to listen on; write an IP address and a port, like 127.0.0.1:8750 (or 0.0.0.0:8750 for every network interface)")]
    BindAddress(String),
    #[error("{0:?} is not an IP address; a trusted proxy is named by its address, like 127.0.0.1 or ::1")]
    ProxyAddress(String),
    #[error("cannot use {path} as a CA certificate: {reason}")]
    CaFile { path: String, reason: String },
    #[error("a password needs a user name")]
    PasswordWithoutUser,
    #[error("one name was given for {count} addresses")]
    NameWithManyRecipients { count: usize },
    #[error("{first}; {} also invalid, and nothing was created", more_addresses(*more))]
    BatchRefused {
        first: Box<ValidationError>,
        more: usize,
    },
}

impl ValidationError {
    /// The way forward, for each face to word; `None` when the message says all there is.
    pub fn hint(&self) -> Option<crate::Hint> {
        use crate::Hint;
        match self {
            ValidationError::InsecureSmtp { .. } => Some(Hint::SecureSmtp),
            ValidationError::PasswordWithoutUser => Some(Hint::SmtpUser),
            ValidationError::NameWithManyRecipients { .. } => Some(Hint::NamePerRecipient),
            ValidationError::BatchRefused { first, .. } => first.hint(),
            _ => None,
        }
    }
}

fn more_addresses(n: usize) -> String {
    match n {
        1 => "1 more address is".to_owned(),
        n => format!("{n} more addresses are"),
    }
}

/// A validated, normalised address. The only way to make one is [`Email::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address: surrounding blanks are trimmed, the domain is turned
    /// into lower-case ASCII (internationalised domains become punycode, so a look-alike domain
    /// shows as `xn--...`), and the local part is lower-cased. Real mailboxes ignore case, and one
    /// spelling per person keeps duplicates, limits and opt-outs honest.
    pub fn parse(input: &str) -> Result<Email, ValidationError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::EmailEmpty);
        }
        let shown = || truncate_for_message(trimmed);
        if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
            return Err(ValidationError::EmailLocalPart {
                input: shown(),
                reason: if c == '\r' || c == '\n' {
                    "it contains a line break"
                } else {
                    "it contains a control character"
                },
            });
        }
        if trimmed.chars().count() > MAX_EMAIL_LEN * 4 {
            return Err(ValidationError::EmailTooLong {
                input: shown(),
                len: trimmed.chars().count(),
            });
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(ValidationError::EmailNoAt { input: shown() });
        };
        check_local_part(local).map_err(|reason| ValidationError::EmailLocalPart {
            input: shown(),
            reason,
        })?;
        let domain = normalise_domain(domain).map_err(|reason| ValidationError::EmailDomain {
            input: shown(),
            reason,
        })?;
        let address = format!("{}@{}", local.to_ascii_lowercase(), domain);
        if address.len() > MAX_EMAIL_LEN {
            return Err(ValidationError::EmailTooLong {
                input: shown(),
                len: address.len(),
            });
        }
        Ok(Email(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Input echoed in a message is cut short, so one bad argument cannot flood a terminal.
fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// The dot-atom form of RFC 5322, which is what real addresses use. Quoted local parts are
/// legal but almost never real, and they are a favourite of header-injection tricks.
fn check_local_part(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if local.len() > 64 {
        return Err("the part before the @ is longer than 64 characters");
    }
    if local.starts_with('"') {
        return Err("quoted addresses are not supported");
    }
    if !local.is_ascii() {
        return Err("the part before the @ must be plain ASCII");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("dots must sit between other characters");
    }
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";
    if local
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || SPECIALS.contains(c)))
    {
        return Err("the part before the @ contains a character addresses cannot have (such as a space, comma, @ or angle bracket)");
    }
    Ok(())
}

/// Lower-case ASCII via IDNA (UTS 46), then the DNS rules: letters, digits and hyphens in
/// labels of 1–63 characters, at least two labels, a top-level label that is not all digits.
pub fn normalise_domain(domain: &str) -> Result<String, String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err("is missing".to_owned());
    }
    if domain.starts_with('[') {
        return Err("is an IP address literal; use a domain name".to_owned());
    }
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| "is not a valid internationalised domain name".to_owned())?;
    if ascii.len() > 253 {
        return Err("is longer than 253 characters".to_owned());
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("{ascii:?} needs a dot, like example.com"));
    }
    for label in &labels {
        if label.is_empty() {
            return Err("has an empty part between dots".to_owned());
        }
        if label.len() > 63 {
            return Err("has a part longer than 63 characters".to_owned());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "{ascii:?} contains characters a domain cannot have"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a part that starts or ends with a hyphen".to_owned());
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("ends in a number; use a domain name".to_owned());
    }
    Ok(ascii)
}

/// Unicode's explicit direction controls (embeddings, overrides, isolates, marks): they can
/// make `Eve` render as something else in a mail header or on a page.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing (or only blank space) and have no job in a name, a role, a
/// team name or a note: zero-width space, word joiner, byte-order mark, soft hyphen, Hangul
/// fillers, invisible operators, tag characters and the like. They let "Ada" and "Ad\u{200B}a"
/// be two different people who look the same in a mail or in the owner's list, so they are
/// refused rather than stripped (the owner should see exactly what was stored).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'
            | '\u{E0002}'..='\u{E001F}'
    )
}

/// Tag characters (U+E0001, U+E0020 to U+E007F) are invisible too; their one use today is
/// the flags of regions, a black flag followed by tags (🏴 + "gbsct" + cancel tag). Anywhere
/// else they smuggle hidden text.
fn stray_tag(value: &str) -> Option<char> {
    let is_tag = |c: char| matches!(c, '\u{E0001}' | '\u{E0020}'..='\u{E007F}');
    let mut after_flag = false;
    for c in value.chars() {
        if is_tag(c) {
            if !after_flag {
                return Some(c);
            }
        } else {
            after_flag = c == '\u{1F3F4}';
        }
    }
    None
}

/// The zero-width joiner and non-joiner do have a job: Persian and Kurdish names need the
/// non-joiner between letters, Indic scripts both, and emoji sequences the joiner. That job is
/// always between two non-ASCII characters; beside an ASCII character, a space or another
/// joiner, at either end, they only disguise.
fn misplaced_joiner(value: &str) -> Option<char> {
    let chars: Vec<char> = value.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        if c != '\u{200C}' && c != '\u{200D}' {
            return None;
        }
        let shapes = |n: Option<&char>| {
            n.is_some_and(|&n| {
                !n.is_ascii() && !n.is_whitespace() && n != '\u{200C}' && n != '\u{200D}'
            })
        };
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        (!(shapes(before) && shapes(chars.get(i + 1)))).then_some(c)
    })
}

/// Line and paragraph separators: not control characters to Unicode, but line breaks to
/// anything that renders them, and these values are one line each.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// How an invisible character is named in a message.
fn describe(c: char) -> String {
    match c {
        '\r' => "carriage return, CR".to_owned(),
        '\n' => "line feed, LF".to_owned(),
        '\0' => "NUL".to_owned(),
        '\t' => "tab".to_owned(),
        '\u{200B}' => "U+200B, zero-width space".to_owned(),
        '\u{200C}' => "U+200C, zero-width non-joiner".to_owned(),
        '\u{200D}' => "U+200D, zero-width joiner".to_owned(),
        '\u{FEFF}' => "U+FEFF, zero-width no-break space".to_owned(),
        '\u{2028}' => "U+2028, line separator".to_owned(),
        '\u{2029}' => "U+2029, paragraph separator".to_owned(),
        c => format!("U+{:04X}", c as u32),
    }
}

/// One recipient as people write them: `ada@example.com` or `Ada Lovelace <ada@example.com>`
/// (the form mail programs copy). Returns the display name, if any, and the address.
pub fn recipient(input: &str) -> Result<(Option<String>, Email), ValidationError> {
    let s = input.trim();
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        // Quotes and blanks together, until neither is left at either end: trimming them in
        // turn left `" "Ada` as `"Ada`, which read back as `Ada` once written out as
        // `"Ada <ada@example.com>` (found by fuzz/ email).
        let name = s[..open].trim_matches(|c: char| c == '"' || c.is_whitespace());
        let email = Email::parse(&s[open + 1..s.len() - 1])?;
        let name = optional_text("name", Some(name), MAX_NAME_LEN)?;
        return Ok((name, email));
    }
    Ok((None, Email::parse(s)?))
}

/// One line of human text (name, role, team, note): trimmed; no control, line-separator,
/// direction-override or invisible characters, because these values reach mail headers and
/// pages, where such characters break lines or disguise what a reader sees; bounded length.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() || is_line_separator(c))
    {
        return Err(ValidationError::ControlCharacter {
            field,
            found: describe(c),
        });
    }
    if let Some(c) = value.chars().find(|c| is_bidi_control(*c)) {
        return Err(ValidationError::BidiControl {
            field,
            found: describe(c),
        });
    }
    if let Some(c) = value
        .chars()
        .find(|&c| is_invisible(c))
        .or_else(|| misplaced_joiner(value))
        .or_else(|| stray_tag(value))
    {
        return Err(ValidationError::InvisibleCharacter {
            field,
            found: describe(c),
        });
    }
    let len = value.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, len, max });
    }
    Ok(value.to_owned())
}

/// Like [`text`], but an empty value means "none".
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// `90m`, `12h`, `7d`, `2w` → a duration from 1 hour to 30 days. humantime reads the
/// number and unit (and sums like `1d 12h`); the bounds are Herald's.
pub fn expiry(input: &str) -> Result<Duration, ValidationError> {
    let s = input.trim();
    let d = humantime::parse_duration(s).map_err(|e| match e {
        // A number too large for any duration is a range problem, not a typo.
        humantime::DurationError::NumberOverflow => ValidationError::ExpiryRange {
            input: truncate_for_message(s),
        },
        _ => ValidationError::ExpiryFormat {
            input: truncate_for_message(s),
        },
    })?;
    if d < MIN_EXPIRY || d > MAX_EXPIRY {
        return Err(ValidationError::ExpiryRange {
            input: truncate_for_message(s),
        });
    }
    Ok(d)
}

/// The address invitees reach. Links carry tokens, so it must be https, except on this machine
/// (http://localhost, http://127.0.0.1) where nothing crosses a network.
pub fn public_url(input: &str) -> Result<String, ValidationError> {
    let s = input.trim();
    let err = |reason| ValidationError::PublicUrl {
        input: truncate_for_message(s),
        reason,
    };
    let url = url::Url::parse(s)
        .map_err(|_| err("write a full address like https://invite.example.com"))?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(err("write a full address like https://invite.example.com"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("it must not have a ?query or #fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url.host_str().unwrap_or_default()) => {}
        "http" => {
            return Err(err(
                "links carry secrets, so it must start with https:// (plain http is allowed only to this machine: localhost, 127.0.0.1, ::1)",
            ))
        }
        _ => return Err(err("it must start with https://")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn smtp_host(input: &str) -> Result<String, ValidationError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(ValidationError::Empty { field: "SMTP host" });
    }
    if s.parse::<std::net::IpAddr>().is_ok() || s.eq_ignore_ascii_case("localhost") {
        return Ok(s.to_ascii_lowercase());
    }
    let err = |reason: String| ValidationError::SmtpHost {
        input: truncate_for_message(s),
        reason,
    };
    if s.contains("://") || s.contains(':') || s.contains('/') {
        return Err(err(
            "give the host name alone, like smtp.example.com, and the port separately".to_owned(),
        ));
    }
    normalise_domain(s).map_err(|r| err(format!("the name {r}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            Email::parse("grace@bücher.example").unwrap().as_str(),
            "grace@xn--bcher-kva.example"
        );
        assert_eq!(
            Email::parse("x+tag@EXAMPLE.com.").unwrap().as_str(),
            "x+tag@example.com"
        );
    }

    #[test]
    fn bad_addresses_say_why() {
        assert_eq!(Email::parse("  "), Err(ValidationError::EmailEmpty));
        assert!(matches!(
            Email::parse("ada"),
            Err(ValidationError::EmailNoAt { .. })
        ));
        for (input, needle) in [
            ("@example.com", "nothing before the @"),
            ("a..b@example.com", "dots"),
            ("a b@example.com", "cannot have"),
            ("ada@example.com\r\nBcc: eve@example.com", "line break"),
            ("\"ada\"@example.com", "quoted"),
            ("ada@localhost", "needs a dot"),
            ("ada@exa_mple.com", "cannot have"),
            ("ada@[127.0.0.1]", "IP address"),
            ("ada@example.123", "number"),
            ("ada@-example.com", "hyphen"),
        ] {
            let e = Email::parse(input).unwrap_err().to_string();
            assert!(e.contains(needle), "{input:?}: {e}");
        }
        let long = format!("{}@example.com", "a".repeat(64)) + &".example".repeat(30);
        assert!(matches!(
            Email::parse(&long),
            Err(ValidationError::EmailTooLong { .. } | ValidationError::EmailDomain { .. })
        ));
    }

    #[test]
    fn recipients_with_display_names() {
        let (name, email) = recipient("  \"Ada Lovelace\" <Ada@Example.com> ").unwrap();
        assert_eq!(name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(email.as_str(), "ada@example.com");
        let (name, email) = recipient("<grace@example.com>").unwrap();
        assert_eq!(name, None);
        assert_eq!(email.as_str(), "grace@example.com");
        assert!(matches!(
            recipient("Eve\u{202e} <eve@example.com>"),
            Err(ValidationError::BidiControl { .. })
        ));
        assert!(matches!(
            recipient("Eve <eve>"),
            Err(ValidationError::EmailNoAt { .. })
        ));
    }

    #[test]
    fn display_names_read_back_the_same() {
        // Each name, written out as `Name <address>` the way the window shows it, must read
        // back as itself (fuzz/ email found the first two).
        for input in [
            "\" \"Ada <ada@example.com>",
            "cre\"\"}\"\"\n\"\" <ada@example.com>",
            "  \"\"Hopper, Grace\"\"  <grace@example.com>",
        ] {
            let (name, email) = recipient(input).unwrap();
            let name = name.expect("a name");
            assert!(
                !name.starts_with(['"', ' ']) && !name.ends_with(['"', ' ']),
                "{name:?}"
            );
            let again = recipient(&format!("{name} <{email}>")).unwrap();
            assert_eq!(again, (Some(name), email), "{input:?}");
        }
    }

    #[test]
    fn text_refuses_control_and_direction_characters() {
        assert_eq!(text("name", "  Ada  ", 10).unwrap(), "Ada");
        let e = text("name", "Ada\r\nBcc: x", 100).unwrap_err();
        assert!(e.to_string().contains("CR"), "{e}");
        assert!(matches!(
            text("role", "a\0b", 100),
            Err(ValidationError::ControlCharacter { .. })
        ));
        assert!(matches!(
            text("name", "abc\u{202E}fed", 100),
            Err(ValidationError::BidiControl { .. })
        ));
        assert!(matches!(
            text("name", "", 10),
            Err(ValidationError::Empty { .. })
        ));
        assert!(matches!(
            text("name", &"é".repeat(11), 10),
            Err(ValidationError::TooLong {
                len: 11,
                max: 10,
                ..
            })
        ));
        assert_eq!(optional_text("note", Some("   "), 10), Ok(None));
    }

    #[test]
    fn text_refuses_invisible_characters_and_line_separators() {
        for (input, found) in [
            ("Ad\u{200B}a", "U+200B, zero-width space"),
            ("\u{FEFF}Ada", "U+FEFF"),
            ("Ada\u{2060}", "U+2060"),
            ("ad\u{00AD}min", "U+00AD"),
            ("\u{3164}", "U+3164"),
            ("\u{115F}Ada", "U+115F"),
            ("Ada\u{E0041}\u{E007F}", "U+E0041"),
            ("Ada\u{180E}", "U+180E"),
            // Joiners beside ASCII, beside a space, at an end, or doubled.
            ("Ad\u{200D}a", "U+200D, zero-width joiner"),
            ("Ada\u{200C}", "U+200C"),
            ("\u{200C}مهر", "U+200C"),
            ("مهر \u{200C}آیین", "U+200C"),
            ("مهر\u{200C}\u{200C}آیین", "U+200C"),
        ] {
            let e = text("name", input, 100).unwrap_err();
            assert!(
                matches!(&e, ValidationError::InvisibleCharacter { field: "name", found: f } if f == found || f.starts_with(found)),
                "{input:?}: {e}"
            );
            assert!(e.to_string().contains("invisible character"), "{e}");
        }
        for input in ["Ada\u{2028}Bcc: x", "a\u{2029}b"] {
            assert!(
                matches!(
                    text("name", input, 100),
                    Err(ValidationError::ControlCharacter { .. })
                ),
                "{input:?}"
            );
        }
        // Joiners doing their job stay: Persian with a ZWNJ, Devanagari, an emoji sequence.
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Ada";
        // A kanji with an ideographic variation selector, as Japanese names may need.
        let kanji = "\u{845B}\u{E0100}城";
        for ok in [
            "مهر\u{200C}آیین",
            "क्\u{200D}ष",
            "👩\u{200D}💻 Ada",
            "Zoë Ångström",
            scotland,
            kanji,
        ] {
            assert_eq!(text("name", ok, 100).as_deref(), Ok(ok));
        }
        // In a display name too.
        assert!(matches!(
            recipient("Ad\u{200B}a <ada@example.com>"),
            Err(ValidationError::InvisibleCharacter { .. })
        ));
    }

    #[test]
    fn expiry_is_bounded() {
        assert_eq!(expiry("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(expiry("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(expiry("2w").unwrap(), Duration::from_secs(14 * 86_400));
        assert!(matches!(
            expiry("30m"),
            Err(ValidationError::ExpiryRange { .. })
        ));
        assert!(matches!(
            expiry("31d"),
            Err(ValidationError::ExpiryRange { .. })
        ));
        // Years are a unit, just far too long.
        assert!(matches!(
            expiry("7y"),
            Err(ValidationError::ExpiryRange { .. })
        ));
        assert_eq!(expiry("1d 12h").unwrap(), Duration::from_secs(36 * 3600));
        assert_eq!(expiry("1.5d").unwrap(), Duration::from_secs(36 * 3600));
        assert!(matches!(
            expiry("99999999999999999999w"),
            Err(ValidationError::ExpiryFormat { .. } | ValidationError::ExpiryRange { .. })
        ));
        for bad in ["", "d", "7", "-7d", "7 parsecs", "7d!"] {
            assert!(
                matches!(expiry(bad), Err(ValidationError::ExpiryFormat { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_url_wants_https_off_this_machine() {
        assert_eq!(
            public_url("https://invite.example.com/").unwrap(),
            "https://invite.example.com"
        );
        assert_eq!(
            public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            public_url("http://localhost:8080/").unwrap(),
            "http://localhost:8080"
        );
        assert!(public_url("http://invite.example.com").is_err());
        assert!(public_url("ftp://invite.example.com").is_err());
        assert!(public_url("https://user:pw@invite.example.com").is_err());
        assert!(public_url("https://invite.example.com/?a=b").is_err());
        assert!(public_url("invite.example.com").is_err());
    }

    #[test]
    fn smtp_hosts() {
        assert_eq!(smtp_host(" SMTP.Example.com ").unwrap(), "smtp.example.com");
        assert_eq!(smtp_host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(smtp_host("localhost").unwrap(), "localhost");
        assert!(smtp_host("smtp.example.com:587").is_err());
        assert!(smtp_host("smtp://example.com").is_err());
        assert!(smtp_host("").is_err());
        assert!(
            is_loopback_host("::1") && is_loopback_host("[::1]") && !is_loopback_host("10.0.0.1")
        );
    }
}
