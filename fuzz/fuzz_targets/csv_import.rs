//! Lists of people pasted into the window or imported from a spreadsheet's CSV export:
//! `recipients::parse`, then `validate::recipient` on each entry as the app does.
//!
//! Never panics; every entry names a line that exists in the input (1-based), has
//! text, and, when it is a valid recipient, its address parses to itself again.
#![no_main]

use herald_core::recipients;
use herald_core::validate::{self, Email};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(entries) = recipients::parse(input) else {
        return;
    };
    // Both readers count lines at '\n' (a lone '\r' ends a CSV record but not a line), so no
    // entry can sit past the last '\n' + 1.
    let lines = input.matches('\n').count() + 1;
    let mut previous = 0;
    for entry in &entries {
        assert!(
            (1..=lines).contains(&entry.line),
            "entry {:?} on line {} of {lines}",
            entry.text,
            entry.line
        );
        // In the order of the input, so each problem is reported where it is.
        assert!(
            entry.line >= previous,
            "line {} after {previous}",
            entry.line
        );
        previous = entry.line;
        assert!(!entry.text.is_empty(), "empty entry on line {}", entry.line);
        if let Ok((_, email)) = validate::recipient(&entry.text) {
            assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
        }
    }
});
