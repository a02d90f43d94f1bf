//! The Herald app: the desktop window (Tauri) and the command line, two thin faces over
//! `herald_core` in one binary.

pub mod cli;
pub mod gui;

/// A message and a face's words for its hint as one text: `message; hint`, or two sentences
/// when the message already ends as one. Both faces join this way; each words hints its own.
fn with_hint(message: &str, words: Option<String>) -> String {
    match words {
        None => message.to_owned(),
        Some(words) if message.ends_with('.') => {
            let mut chars = words.chars();
            let first: String = chars
                .next()
                .map(char::to_uppercase)
                .into_iter()
                .flatten()
                .collect();
            format!("{message} {first}{}.", chars.as_str())
        }
        Some(words) => format!("{message}; {words}"),
    }
}
