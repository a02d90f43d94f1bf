//! The TypeScript side of the window's contract, generated from the Rust types. The files in
//! `ui/src/bindings/` are checked in; this test fails when they differ from what the Rust
//! types say, and `HERALD_WRITE_BINDINGS=1 cargo test bindings` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use super::contract::*;

fn bindings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings")
}

/// Every type that crosses the bridge; their dependencies come along.
fn export(cfg: &Config) {
    macro_rules! all {
        ($($t:ty),* $(,)?) => {
            $( <$t as TS>::export_all(cfg).expect(concat!("export ", stringify!($t))); )*
        };
    }
    all!(
        AppInfo,
        SetupStatus,
        GeneralInput,
        SiteCheck,
        ConnectInput,
        ServerView,
        CommandError,
        LiveEvent,
        herald_core::mail::TestMail,
        herald_core::KeyStatus,
        herald_core::Limits,
        herald_core::Site,
        herald_core::ListQuery,
        herald_core::ListPage,
        herald_core::MailDraft,
        herald_core::MailPreview,
        herald_core::RecipientsPreview,
        herald_core::Overview,
        herald_core::OptOutEntry,
        herald_core::Invitation,
        herald_api::ops::OperationTypes,
        herald_api::Request,
    );
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn bindings_match_the_rust_types() {
    let fresh = tempfile::tempdir().unwrap();
    // Timestamps and ids are i64 in Rust and well inside JavaScript's safe integers.
    let cfg = Config::new()
        .with_large_int("number")
        .with_out_dir(fresh.path());
    export(&cfg);
    let generated = read_dir(fresh.path());
    let checked_in = read_dir(&bindings_dir());
    if std::env::var_os("HERALD_WRITE_BINDINGS").is_some() {
        let dir = bindings_dir();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    assert!(
        generated.len() > 20,
        "only {} types exported",
        generated.len()
    );
    assert_eq!(
        checked_in, generated,
        "ui/src/bindings/ is out of date with the Rust types: run `HERALD_WRITE_BINDINGS=1 cargo test bindings` and commit the result"
    );
}
