//! Postfix's smtp-sink, the real SMTP server the command-line tests mail to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;

/// smtp-sink on a free loopback port, writing each message to a file in `dump`; killed when
/// dropped.
pub struct Sink {
    child: Child,
    dump: PathBuf,
    pub port: u16,
}

impl Sink {
    /// `extra`: more options (`-w 1`: wait a second before answering DATA).
    pub fn start(dump: &Path, extra: &[&str]) -> Sink {
        let port = herald_testkit::free_port();
        let child = herald_testkit::start_smtp_sink(port, dump, extra);
        Sink {
            child,
            dump: dump.to_owned(),
            port,
        }
    }

    /// How many messages it has written (a cheap count, duplicates included).
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dump).unwrap().count()
    }

    /// Every message, as (envelope recipient, text).
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dump).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
            // `<ADDRESS>`, then any RCPT parameters (`NOTIFY=FAILURE` when DSN is offered).
            if let Some(r) = text.lines().find_map(|l| l.strip_prefix("X-Rcpt-Args: <")) {
                let address = r.split_once('>').map_or(r, |(a, _)| a);
                out.push((address.to_owned(), text.clone()));
            }
        }
        out
    }

    /// The envelope recipient of every message.
    pub fn recipients(&self) -> Vec<String> {
        self.messages().into_iter().map(|(r, _)| r).collect()
    }

    /// How many messages each recipient got.
    pub fn copies(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in self.recipients() {
            *counts.entry(r).or_insert(0) += 1;
        }
        counts
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
