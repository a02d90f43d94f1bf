//! Mail: writing an invitation (`compose`), talking to the SMTP server (`transport`), and the
//! worker that drains the outbox (`worker`). Only here does a token leave the core, inside a
//! message to the invitee alone.

mod compose;
mod probe;
mod sent_copy;
mod transport;
mod worker;

pub use compose::{
    compose, inviter, links, new_message_id, preview, readable_time, render_parts, test_message,
    Links, Rendered, PLACEHOLDER_CODE, PLACEHOLDER_LINK, PLACEHOLDER_UNSUBSCRIBE,
};
pub use probe::{TestMail, TestMailError};
pub use sent_copy::{sent_copy, SentCopy};
pub use transport::{check_ca_file, MailError, Mailer};
pub use worker::{run_outbox, OutboxEvent, Progress, IN_FLIGHT};
