//! Addresses as owners type or paste them: `Email::parse` and `validate::recipient` on any text.
//!
//! Never panics; every accepted address is lower-case ASCII with exactly one `@`, no control
//! or text-direction character, at most 254 bytes, parses to itself again (one spelling per
//! person, or duplicates, limits and opt-outs stop being honest), and is an address the mailer
//! (lettre) accepts, so nothing Herald queues can fail later for its address. A display name
//! is clean one-line text, and `Name <address>` reads back as the same name and address.
#![no_main]

use herald_core::validate::{self, Email, MAX_EMAIL_LEN, MAX_NAME_LEN};
use libfuzzer_sys::fuzz_target;

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn check_address(input: &str, e: &Email) {
    let s = e.as_str();
    assert!(s.is_ascii(), "{input:?} gave non-ASCII {s:?}");
    assert!(
        !s.bytes().any(|b| b.is_ascii_uppercase()),
        "{input:?} gave upper case {s:?}"
    );
    assert_eq!(s.matches('@').count(), 1, "{input:?} gave {s:?}");
    assert!(!s.chars().any(|c| c.is_control() || is_bidi_control(c)));
    assert!(s.len() <= MAX_EMAIL_LEN, "{input:?} gave {} bytes", s.len());
    let again = Email::parse(s);
    assert_eq!(
        again.as_ref(),
        Ok(e),
        "{input:?} gave {s:?}, which re-parses differently"
    );
    assert!(
        s.parse::<lettre::Address>().is_ok(),
        "{input:?} gave {s:?}, which the mailer refuses"
    );
}

fuzz_target!(|input: &str| {
    if let Ok(e) = Email::parse(input) {
        check_address(input, &e);
    }
    if let Ok((name, e)) = validate::recipient(input) {
        check_address(input, &e);
        let written = match &name {
            Some(n) => {
                assert_eq!(n.trim(), n, "{input:?}: name not trimmed");
                assert!(!n.is_empty());
                assert!(n.chars().count() <= MAX_NAME_LEN);
                assert!(!n.chars().any(|c| c.is_control() || is_bidi_control(c)));
                format!("{n} <{e}>")
            }
            None => e.to_string(),
        };
        // What the window shows and exports must read back as the same person.
        let back = validate::recipient(&written);
        assert_eq!(
            back,
            Ok((name, e)),
            "{input:?} read as {written:?}, which reads back differently"
        );
    }
});
