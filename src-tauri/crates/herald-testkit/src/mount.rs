//! Real mounts for the storage-fault tests (a tmpfs that fills up, a read-only bind mount).
//! They need root; callers check `is_root()` first and say why they skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::path;

/// A mount made by a test, undone when it goes out of scope, a failed assertion included.
pub struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn run(args: &[&str]) {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A tmpfs of `size` (like `2m`) on `dir`.
    pub fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let opts = format!("size={size},mode=700");
        Mount::run(&["mount", "-t", "tmpfs", "-o", &opts, "tmpfs", path(dir)]);
        Mount {
            dir: dir.to_owned(),
        }
    }

    /// `dir` itself, read-only: the files stay, nothing can be written through this path.
    pub fn read_only(dir: &Path) -> Mount {
        Mount::run(&["mount", "--bind", path(dir), path(dir)]);
        let m = Mount {
            dir: dir.to_owned(),
        };
        Mount::run(&["mount", "-o", "remount,bind,ro", path(dir)]);
        m
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it now, it goes when they close.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
