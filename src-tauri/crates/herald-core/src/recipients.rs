//! Lists of people as owners have them: typed or pasted one per line (or several on a line,
//! separated by commas or semicolons), or a CSV export from a spreadsheet with an `email`
//! column. Every face reads lists through here, so a list means the same in the window and on
//! the command line.

/// A list larger than this is surely not a team's invitation list.
pub const MAX_LIST_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ListError {
    #[error("the list is larger than 1 MiB; split it into smaller lists")]
    TooLarge,
    #[error("the list is not valid CSV: {0}")]
    Csv(String),
    #[error("the list has a header line but no \"email\" column")]
    NoEmailColumn,
}

/// One person from a list, as `addr` or `Name <addr>`, with the line it came from (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub text: String,
}

/// The entries of a list, in order. Blank lines and lines starting with `#` are skipped;
/// nothing is validated here (that is the caller's, per entry, so each problem gets its line).
pub fn parse(text: &str) -> Result<Vec<Entry>, ListError> {
    if text.len() > MAX_LIST_BYTES {
        return Err(ListError::TooLarge);
    }
    if looks_like_csv(text) {
        return csv_entries(text);
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_text = line.trim();
        if line_text.is_empty() || line_text.starts_with('#') {
            continue;
        }
        for part in split_line(line_text) {
            out.push(Entry {
                line: i + 1,
                text: part.to_owned(),
            });
        }
    }
    Ok(out)
}

/// `a@x, b@y; c@z` holds three addresses, but `Hopper, Grace <g@x>` is one person: split only
/// when every piece has an `@` of its own.
fn split_line(line: &str) -> Vec<&str> {
    let parts: Vec<&str> = line
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > 1 && parts.iter().all(|p| p.contains('@')) {
        parts
    } else {
        vec![line]
    }
}

/// A header line that names an email column: what spreadsheets export.
fn looks_like_csv(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|first| {
            first.contains(',')
                && !first.contains('@')
                && first
                    .split(',')
                    .any(|c| c.trim().trim_matches('"').eq_ignore_ascii_case("email"))
        })
}

fn csv_entries(text: &str) -> Result<Vec<Entry>, ListError> {
    let csv_err = |e: csv::Error| ListError::Csv(e.to_string());
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_err)?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email = column("email").ok_or(ListError::NoEmailColumn)?;
    let name = column("name");
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let address = record.get(email).unwrap_or_default();
        if address.is_empty() {
            continue;
        }
        let text = match name.and_then(|n| record.get(n)).filter(|n| !n.is_empty()) {
            Some(n) => format!("{n} <{address}>"),
            None => address.to_owned(),
        };
        out.push(Entry { line, text });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(list: &str) -> Vec<(usize, String)> {
        parse(list)
            .unwrap()
            .into_iter()
            .map(|e| (e.line, e.text))
            .collect()
    }

    #[test]
    fn plain_lists_skip_blanks_and_comments() {
        assert_eq!(
            texts("# the team\nada@example.com\n\n  Grace Hopper <grace@example.com>  \n"),
            [
                (2, "ada@example.com".to_owned()),
                (4, "Grace Hopper <grace@example.com>".to_owned())
            ]
        );
    }

    #[test]
    fn pasted_lines_with_several_addresses_are_split() {
        assert_eq!(
            texts("a@example.com, b@example.com; c@example.com\nHopper, Grace <g@example.com>"),
            [
                (1, "a@example.com".to_owned()),
                (1, "b@example.com".to_owned()),
                (1, "c@example.com".to_owned()),
                (2, "Hopper, Grace <g@example.com>".to_owned())
            ]
        );
    }

    #[test]
    fn csv_with_quoted_names_keeps_line_numbers() {
        assert_eq!(
            texts(
                "Name,Email,Role\n\"Hopper, Grace\",grace@example.com,admin\n,alan@example.com,\n"
            ),
            [
                (2, "Hopper, Grace <grace@example.com>".to_owned()),
                (3, "alan@example.com".to_owned())
            ]
        );
    }

    #[test]
    fn oversized_lists_are_refused_whole() {
        assert_eq!(
            parse(&"a".repeat(MAX_LIST_BYTES + 1)).unwrap_err(),
            ListError::TooLarge
        );
    }
}
