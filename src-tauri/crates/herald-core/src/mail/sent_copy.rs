//! Mail services that file a copy of every message sent through their SMTP server in the
//! account's Sent folder. Sending invitations through one of them would put every invitee's
//! live link in the owner's mailbox, which is exactly what Herald promises never happens, so
//! every face warns when the settings point at one.

use serde::Serialize;

/// A service that keeps copies of what it sends, recognised by the sender's domain or the SMTP
/// host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum SentCopy {
    /// Gmail and Google Workspace (smtp.gmail.com).
    Google,
    /// Outlook.com, Hotmail and Microsoft 365 (smtp.office365.com, smtp-mail.outlook.com).
    Microsoft,
}

/// Consumer mailbox domains, by service.
const GOOGLE_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];
const MICROSOFT_DOMAINS: [&str; 6] = [
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "hotmail.co.uk",
    "outlook.de",
];
/// Their submission servers: a custom domain on Google Workspace or Microsoft 365 sends here.
const GOOGLE_HOSTS: [&str; 2] = ["smtp.gmail.com", "smtp-relay.gmail.com"];
const MICROSOFT_HOSTS: [&str; 3] = [
    "smtp.office365.com",
    "smtp-mail.outlook.com",
    "smtp.outlook.com",
];

/// Whether mail from `from` through `smtp_host` would leave a copy in a Sent folder.
pub fn sent_copy(from: &str, smtp_host: &str) -> Option<SentCopy> {
    let domain = from
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_ascii_lowercase();
    let host = smtp_host.trim_end_matches('.').to_ascii_lowercase();
    let is = |domains: &[&str], hosts: &[&str]| {
        domains.contains(&domain.as_str()) || hosts.contains(&host.as_str())
    };
    if is(&GOOGLE_DOMAINS, &GOOGLE_HOSTS) {
        Some(SentCopy::Google)
    } else if is(&MICROSOFT_DOMAINS, &MICROSOFT_HOSTS) {
        Some(SentCopy::Microsoft)
    } else {
        None
    }
}

impl SentCopy {
    pub fn service(self) -> &'static str {
        match self {
            SentCopy::Google => "Gmail / Google Workspace",
            SentCopy::Microsoft => "Outlook.com / Microsoft 365",
        }
    }
}

impl std::fmt::Display for SentCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files a copy of every message sent through it in the account's Sent folder, so every invitation link would sit in your mailbox. Send through a transactional mail service (Amazon SES, Postmark, Mailgun, SMTP2GO...) or your own domain's mail server instead.",
            self.service()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_senders_and_their_servers_are_recognised() {
        assert_eq!(
            sent_copy("ada@gmail.com", "mail.example.com"),
            Some(SentCopy::Google)
        );
        assert_eq!(
            sent_copy("ada@Example.org", "SMTP.gmail.com."),
            Some(SentCopy::Google)
        );
        assert_eq!(
            sent_copy("ada@HOTMAIL.com", "127.0.0.1"),
            Some(SentCopy::Microsoft)
        );
        assert_eq!(
            sent_copy("ada@example.org", "smtp.office365.com"),
            Some(SentCopy::Microsoft)
        );
        assert_eq!(sent_copy("ada@example.org", "smtp.postmarkapp.com"), None);
        assert_eq!(sent_copy("not an address", ""), None);
    }
}
