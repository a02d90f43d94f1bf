//! `herald export` and `herald import`: moving a Herald to another computer. The core does the
//! work; this face asks for the passphrase and says what moved and what to do next.

use std::io::{self, Write};

use herald_core::{ErrorKind, Herald, OpenOptions};
use secrecy::{ExposeSecret, SecretString};

use super::args::{ExportArgs, ImportArgs};
use super::CliError;

#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("could not read the passphrase from standard input: {0}")]
    Stdin(io::Error),
    #[error("there is no terminal to ask for the passphrase on: give it on standard input with --passphrase-stdin")]
    NoTerminal,
    #[error("the two passphrases differ; nothing was written")]
    Mismatch,
}

impl PassphraseError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PassphraseError::Stdin(_) => ErrorKind::Environment,
            PassphraseError::NoTerminal | PassphraseError::Mismatch => ErrorKind::Request,
        }
    }
}

/// One line from standard input, or, from a person at a terminal, typed unseen (twice when
/// `confirm`, since a typo would lock the file for good).
fn passphrase(from_stdin: bool, prompt: &str, confirm: bool) -> Result<SecretString, CliError> {
    if from_stdin {
        return super::read_password_line(io::stdin().lock())
            .map_err(|e| PassphraseError::Stdin(e).into());
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(|_| PassphraseError::NoTerminal)
    };
    let first = ask(prompt)?;
    if confirm && ask("Again, to be sure: ")?.expose_secret() != first.expose_secret() {
        return Err(PassphraseError::Mismatch.into());
    }
    Ok(first)
}

/// `v1`, `v1 and v2`, `v1, v2 and v3`.
fn versions(v: &[u32]) -> String {
    let names: Vec<String> = v.iter().map(|n| format!("v{n}")).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `signing key v1`, `signing keys v1 and v2`; `None` for no key.
fn signing_keys(v: &[u32]) -> Option<String> {
    let s = if v.len() == 1 { "" } else { "s" };
    (!v.is_empty()).then(|| format!("signing key{s} {}", versions(v)))
}

fn plural(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn export(out: &mut impl Write, h: &Herald, a: ExportArgs) -> Result<(), CliError> {
    let p = passphrase(
        a.passphrase_stdin,
        "Passphrase for the export (at least 12 characters): ",
        true,
    )?;
    let e = h.export(&a.file, &p)?;
    let mut carried = vec![plural(e.invitations, "invitation", "invitations")];
    carried.extend(signing_keys(&e.key_versions));
    if e.smtp_password {
        carried.push("the SMTP password".to_owned());
    }
    if e.owners > 0 {
        carried.push(plural(e.owners as i64, "paired owner", "paired owners"));
    }
    writeln!(
        out,
        "Wrote {} ({}), encrypted with your passphrase and readable by you alone.",
        a.file.display(),
        carried.join(", ")
    )?;
    if !e.missing_keys.is_empty() {
        writeln!(
            out,
            "Signing key {} is not in this keyring and could not go with it; `herald key reissue` renews the invitations that need it.",
            versions(&e.missing_keys)
        )?;
    }
    writeln!(
        out,
        "On the new computer, run `herald import {}`; then stop Herald here for good (quit the window, stop `herald serve`): two Heralds with the same keys would both mail what is queued and both take answers.",
        a.file.display()
    )?;
    Ok(())
}

pub fn import(out: &mut impl Write, opts: OpenOptions, a: ImportArgs) -> Result<(), CliError> {
    let p = passphrase(a.passphrase_stdin, "Passphrase of the export: ", false)?;
    let dir = opts.data_dir.clone();
    let i = Herald::import(opts, &a.file, &p)?;
    let general = i.herald.general()?;
    writeln!(
        out,
        "Imported {} into {}: {}, {}, exported {}.",
        a.file.display(),
        dir.display(),
        general.team,
        plural(i.invitations, "invitation", "invitations"),
        herald_core::rfc3339(i.exported_at)
    )?;
    let mut keyring: Vec<String> = signing_keys(&i.key_versions).into_iter().collect();
    if i.smtp_password {
        keyring.push("the SMTP password".to_owned());
    }
    if !keyring.is_empty() {
        writeln!(
            out,
            "The {} {} in this computer's keyring now.",
            keyring.join(" and "),
            if keyring.len() == 1 && i.key_versions.len() <= 1 {
                "is"
            } else {
                "are"
            }
        )?;
    }
    writeln!(
        out,
        "Links already mailed point to {}: serve the confirmation site at that address from here (`herald serve`) and they keep working.",
        general.public_url
    )?;
    if i.owners > 0 {
        writeln!(
            out,
            "{} came along; if the owner API's address changes, each pairs again (`herald owner add` makes a code).",
            plural(i.owners as i64, "paired owner", "paired owners")
        )?;
    }
    if let Some(ca) = &i.missing_ca_file {
        writeln!(
            out,
            "The SMTP settings trust the CA file {}, which this computer does not have: copy it here, or run `herald smtp set` again.",
            ca.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_a_list() {
        assert_eq!(versions(&[]), "");
        assert_eq!(versions(&[1]), "v1");
        assert_eq!(versions(&[1, 2]), "v1 and v2");
        assert_eq!(versions(&[1, 2, 4]), "v1, v2 and v4");
        assert_eq!(signing_keys(&[]), None);
        assert_eq!(signing_keys(&[3]).as_deref(), Some("signing key v3"));
        assert_eq!(
            signing_keys(&[1, 2]).as_deref(),
            Some("signing keys v1 and v2")
        );
    }
}
