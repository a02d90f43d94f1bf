//! Postfix's smtp-sink, the real SMTP server most mail tests deliver to.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts smtp-sink on 127.0.0.1:`port`, writing each message it takes to a file in `dump`
/// (made if missing), and returns once it accepts connections. `extra`: more options, such as
/// `["-r", "RCPT"]` (soft 4xx), `["-f", "RCPT"]` (hard 5xx) or `["-w", "1"]` (wait a second
/// before answering DATA). Each file holds `X-Rcpt-Args: <ADDRESS> [PARAMETERS]`,
/// `X-Mail-Args` (the envelope sender and MAIL parameters), `X-Helo-Args` and the message.
pub fn start_smtp_sink(port: u16, dump: &Path, extra: &[&str]) -> Child {
    std::fs::create_dir_all(dump).unwrap();
    let mut sink = Command::new("/usr/sbin/smtp-sink");
    if crate::is_root() {
        // It will not run as root; the user it drops to must write the folder.
        let ok = Command::new("chown")
            .arg("nobody")
            .arg(dump)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown nobody {}", dump.display());
        sink.args(["-u", "nobody"]);
    }
    let child = sink
        .args(extra)
        .arg("-d")
        .arg(format!("{}/%H%M%S.", dump.display()))
        .arg(format!("127.0.0.1:{port}"))
        .arg("64")
        .spawn()
        .expect("smtp-sink runs (Debian package postfix; scripts/setup.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "smtp-sink did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}
