//! Several owners share one Herald: an owner acting through the owner API is named in what
//! they do. The history's lines name them, and the invitations they make say who invited (the
//! mail and the page: "Grace Hopper invited you to join Rocket Team"). On this computer the
//! data folder's own owner acts, and nothing is recorded beyond what always was: the faces
//! name `general.owner_name` where no owner is recorded.
//!
//! The owner is given to each action explicitly ([`Herald::acting_as`]), never kept in the
//! shared `Herald`, which serves every owner at once.

use crate::error::Result;
use crate::invitations::{NewInvitations, RenewOutcome};
use crate::keys::{ReissueReport, RetireReport};
use crate::model::Invitation;
use crate::preview::{MailDraft, MailPreview};
use crate::Herald;

/// The owner actions, as done by one named owner.
#[derive(Debug, Clone, Copy)]
pub struct ActingAs<'a> {
    herald: &'a Herald,
    owner: &'a str,
}

impl Herald {
    /// The owner actions as `owner` (a paired owner's name) does them.
    pub fn acting_as<'a>(&'a self, owner: &'a str) -> ActingAs<'a> {
        ActingAs {
            herald: self,
            owner,
        }
    }
}

impl ActingAs<'_> {
    pub fn create_invitations(&self, req: &NewInvitations) -> Result<Vec<Invitation>> {
        self.herald.create_invitations_by(req, Some(self.owner))
    }

    /// The mail as this owner's invitations will say it.
    pub fn preview_mail(&self, draft: &MailDraft) -> Result<MailPreview> {
        self.herald.preview_mail_by(draft, Some(self.owner))
    }

    pub fn resend(&self, id: i64) -> Result<Invitation> {
        self.herald.resend_by(id, Some(self.owner))
    }

    pub fn renew(&self, id: i64, expires: Option<&str>) -> Result<RenewOutcome> {
        self.herald.renew_by(id, expires, Some(self.owner))
    }

    pub fn revoke(&self, id: i64) -> Result<Invitation> {
        self.herald.revoke_by(id, Some(self.owner))
    }

    pub fn rotate_key(&self) -> Result<u32> {
        self.herald.rotate_key_by(Some(self.owner))
    }

    pub fn retire_key(&self, version: u32) -> Result<RetireReport> {
        self.herald.retire_key_by(version, Some(self.owner))
    }

    pub fn reissue(&self) -> Result<ReissueReport> {
        self.herald.reissue_by(Some(self.owner))
    }
}
