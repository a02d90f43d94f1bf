//! `invite create --from-file`: reads a list of people and checks every line with the core's
//! own validation, so a bad list is refused with the line number of each problem before
//! anything is created.

use std::io::Read;
use std::path::{Path, PathBuf};

use herald_core::validate;

/// A list larger than this is surely not a team's invitation list.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// How many refused lines the one-line report names before it just counts.
const REPORTED: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is larger than 1 MiB; split it into smaller lists", path.display())]
    TooLarge { path: PathBuf },
    #[error("{} is not valid CSV: {detail}", path.display())]
    Csv { path: PathBuf, detail: String },
    #[error("{} has an email header but no \"email\" column", path.display())]
    NoEmailColumn { path: PathBuf },
    #[error("{count} line(s) of {} cannot be used, and nothing was created: {report}", path.display())]
    Refused {
        path: PathBuf,
        count: usize,
        report: String,
    },
}

/// The recipients in a file, as `addr` or `Name <addr>`, each checked.
pub fn read(path: &Path) -> Result<Vec<String>, FileError> {
    let text = read_text(path)?;
    let entries = if looks_like_csv(&text) {
        csv_entries(path, &text)?
    } else {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim().to_owned()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect()
    };
    let refused: Vec<String> = entries
        .iter()
        .filter_map(|(line, r)| {
            validate::recipient(r)
                .err()
                .map(|e| format!("line {line}: {e}"))
        })
        .collect();
    if !refused.is_empty() {
        let mut report = refused
            .iter()
            .take(REPORTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if refused.len() > REPORTED {
            report.push_str(&format!("; and {} more", refused.len() - REPORTED));
        }
        return Err(FileError::Refused {
            path: path.to_owned(),
            count: refused.len(),
            report,
        });
    }
    Ok(entries.into_iter().map(|(_, r)| r).collect())
}

fn read_text(path: &Path) -> Result<String, FileError> {
    let err = |source| FileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(err)?;
    } else {
        std::fs::File::open(path)
            .map_err(err)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(err)?;
    }
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// A header line that names an email column: what spreadsheets export.
fn looks_like_csv(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|first| {
            first.contains(',')
                && first
                    .split(',')
                    .any(|c| c.trim().trim_matches('"').eq_ignore_ascii_case("email"))
        })
}

fn csv_entries(path: &Path, text: &str) -> Result<Vec<(usize, String)>, FileError> {
    let csv_err = |e: csv::Error| FileError::Csv {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_err)?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email = column("email").ok_or_else(|| FileError::NoEmailColumn {
        path: path.to_owned(),
    })?;
    let name = column("name");
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let address = record.get(email).unwrap_or_default();
        if address.is_empty() {
            continue;
        }
        match name.and_then(|n| record.get(n)).filter(|n| !n.is_empty()) {
            Some(n) => out.push((line, format!("{n} <{address}>"))),
            None => out.push((line, address.to_owned())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn plain_lists_skip_blanks_and_comments() {
        let f = write("# the team\nada@example.com\n\n  Grace Hopper <grace@example.com>  \n");
        assert_eq!(
            read(f.path()).unwrap(),
            ["ada@example.com", "Grace Hopper <grace@example.com>"]
        );
    }

    #[test]
    fn csv_with_quoted_names() {
        let f = write(
            "Name,Email,Role\n\"Hopper, Grace\",grace@example.com,admin\n,alan@example.com,\n",
        );
        assert_eq!(
            read(f.path()).unwrap(),
            ["Hopper, Grace <grace@example.com>", "alan@example.com"]
        );
    }

    #[test]
    fn every_bad_line_is_reported() {
        let f = write("ada@example.com\nnope\nok@example.com\nEve <eve@exa mple.com>\n");
        let e = read(f.path()).unwrap_err().to_string();
        assert!(e.starts_with("2 line(s) of"), "{e}");
        assert!(
            e.contains("line 2: \"nope\" is not an email address"),
            "{e}"
        );
        assert!(e.contains("line 4:"), "{e}");
    }
}
