//! `invite create --from-file`: reads a list of people and checks every line with the core's
//! own validation, so a bad list is refused with the line number of each problem before
//! anything is created.

use std::io::Read;
use std::path::{Path, PathBuf};

use herald_core::validate;

const MAX_FILE_BYTES: u64 = herald_core::recipients::MAX_LIST_BYTES as u64;
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
    #[error("{}: {source}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: herald_core::recipients::ListError,
    },
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
    let entries = herald_core::recipients::parse(&text).map_err(|source| FileError::List {
        path: path.to_owned(),
        source,
    })?;
    let refused: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            validate::recipient(&e.text)
                .err()
                .map(|err| format!("line {}: {err}", e.line))
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
    Ok(entries.into_iter().map(|e| e.text).collect())
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
