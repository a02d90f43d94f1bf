//! The owner operations in-process, over an open data folder: what the window runs on one
//! computer, what `herald serve` runs for the owner API, and what the CLI runs locally. Each
//! is one core call (or two); no rule lives here.

use std::path::PathBuf;
use std::sync::Arc;

use herald_core::mail::TestMail;
use herald_core::{
    Event, Herald, Invitation, KeyStatus, Limits, ListFilter, ListPage, ListQuery, MailDraft,
    MailPreview, NewInvitations, OptOutEntry, Overview, OwnerInfo, RecipientsPreview,
    ReissueReport, RetireReport, Site, SmtpParams,
};
use secrecy::ExposeSecret;

use crate::error::{ApiError, Result};
use crate::ops::Operations;
use crate::types::*;

/// Called after an operation changed the data folder: wakes the outbox, tells a window that
/// its lists are stale.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct Local {
    herald: Arc<Herald>,
    on_change: Option<OnChange>,
    /// The paired owner a request through the owner API comes from: named in what they do.
    /// `None` on this computer, where the data folder's own owner acts.
    acting: Option<Arc<str>>,
}

impl Local {
    pub fn new(herald: Arc<Herald>) -> Local {
        Local {
            herald,
            on_change: None,
            acting: None,
        }
    }

    /// The same operations, done by the paired owner `name` (the owner API, once a request's
    /// credential has named them).
    pub fn acting_as(&self, name: &str) -> Local {
        Local {
            acting: Some(Arc::from(name)),
            ..self.clone()
        }
    }

    pub fn on_change(mut self, f: OnChange) -> Local {
        self.on_change = Some(f);
        self
    }

    pub fn herald(&self) -> &Arc<Herald> {
        &self.herald
    }

    /// Runs an operation on the blocking pool (SQLite and the keyring block), then reports a
    /// change if it wrote.
    pub async fn run<T: Send + 'static>(
        &self,
        writes: bool,
        f: impl FnOnce(&Local) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let local = self.clone();
        let out = tokio::task::spawn_blocking(move || f(&local))
            .await
            .map_err(|e| {
                ApiError::environment(format!("Herald's background task failed ({e}); try again"))
            })??;
        if writes {
            if let Some(f) = &self.on_change {
                f();
            }
        }
        Ok(out)
    }

    fn smtp_view(&self, saved: herald_core::SmtpSaved) -> Result<SmtpView> {
        Ok(SmtpView {
            password_stored: saved.settings.user.is_some() && self.herald.has_smtp_password()?,
            password_dropped: saved.password_dropped,
            sent_copy: saved.sent_copy.map(|c| c.to_string()),
            settings: saved.settings,
        })
    }
}

/// Empty text from a form means "not given".
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl Operations for Local {
    fn settings(&self, (): ()) -> Result<Settings> {
        let h = &self.herald;
        let general = h.general()?;
        let smtp = match h.smtp()? {
            Some(settings) => Some(SmtpView {
                password_stored: settings.user.is_some() && h.has_smtp_password()?,
                password_dropped: false,
                sent_copy: herald_core::sent_copy(&general.from, &settings.host)
                    .map(|c| c.to_string()),
                settings,
            }),
            None => None,
        };
        Ok(Settings {
            general,
            smtp,
            smtp_ports: SmtpPorts::usual(),
        })
    }

    fn set_smtp(&self, input: SmtpInput) -> Result<SmtpView> {
        let h = &self.herald;
        // No face sets the CA file with the rest: keep one set from the command line.
        let ca_file = h.smtp()?.and_then(|s| s.ca_file).map(PathBuf::from);
        let saved = h.set_smtp(&SmtpParams {
            host: input.host,
            port: input.port.unwrap_or(input.tls.default_port()),
            tls: input.tls,
            user: given(input.user),
            password: input
                .password
                .map(|p| p.0)
                .filter(|p| !p.expose_secret().is_empty()),
            allow_insecure: input.allow_insecure,
            ca_file,
            bounce_address: given(input.bounce_address),
        })?;
        self.smtp_view(saved)
    }

    fn send_test_mail(&self, input: TestMailTo) -> Result<TestMail> {
        // Run from the blocking pool, which may wait on the runtime that spawned it.
        let handle = tokio::runtime::Handle::try_current().map_err(|e| {
            ApiError::environment(format!("no runtime to send the test mail on: {e}"))
        })?;
        Ok(handle.block_on(self.herald.send_test_mail(&input.to))?)
    }

    fn ensure_key(&self, (): ()) -> Result<KeyStatus> {
        Ok(self.herald.ensure_key()?)
    }

    fn check_recipients(&self, input: RecipientsText) -> Result<RecipientsPreview> {
        Ok(self.herald.check_recipients(&input.text)?)
    }

    fn preview_mail(&self, input: MailDraft) -> Result<MailPreview> {
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).preview_mail(&input)?,
            None => self.herald.preview_mail(&input)?,
        })
    }

    fn create_invitations(&self, input: NewInvitations) -> Result<Vec<Invitation>> {
        let input = NewInvitations {
            name: given(input.name),
            role: given(input.role),
            note: given(input.note),
            expires: given(input.expires),
            ..input
        };
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).create_invitations(&input)?,
            None => self.herald.create_invitations(&input)?,
        })
    }

    fn list_invitations(&self, input: ListQuery) -> Result<ListPage> {
        Ok(self.herald.list_page(&input)?)
    }

    fn invitations(&self, input: ListFilter) -> Result<Vec<Invitation>> {
        Ok(self.herald.invitations(&input)?)
    }

    fn invitation_detail(&self, input: InvitationId) -> Result<InvitationDetail> {
        let invitation = self.herald.invitation(input.id)?;
        Ok(InvitationDetail {
            offers: invitation.status.offers(),
            history: self.herald.history(input.id)?,
            invitation,
        })
    }

    fn resend(&self, input: InvitationId) -> Result<Invitation> {
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).resend(input.id)?,
            None => self.herald.resend(input.id)?,
        })
    }

    fn renew(&self, input: RenewInput) -> Result<Invitation> {
        let expires = given(input.expires);
        let renewed = match &self.acting {
            Some(owner) => self
                .herald
                .acting_as(owner)
                .renew(input.id, expires.as_deref())?,
            None => self.herald.renew(input.id, expires.as_deref())?,
        };
        Ok(renewed.invitation)
    }

    fn revoke(&self, input: InvitationId) -> Result<Invitation> {
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).revoke(input.id)?,
            None => self.herald.revoke(input.id)?,
        })
    }

    fn overview(&self, input: OverviewQuery) -> Result<Overview> {
        Ok(self.herald.overview(input.utc_offset_secs)?)
    }

    fn opt_outs(&self, (): ()) -> Result<Vec<OptOutEntry>> {
        Ok(self.herald.opt_outs()?)
    }

    fn members_csv(&self, (): ()) -> Result<String> {
        Ok(self.herald.members_csv()?)
    }

    fn limits(&self, (): ()) -> Result<Limits> {
        Ok(self.herald.limits()?)
    }

    fn set_limits(&self, input: Limits) -> Result<Limits> {
        Ok(self.herald.set_limits(input)?)
    }

    fn site_settings(&self, (): ()) -> Result<Site> {
        Ok(self.herald.site()?)
    }

    fn set_site(&self, input: SiteInput) -> Result<Site> {
        Ok(self.herald.set_site(&input.bind, &input.trusted_proxies)?)
    }

    fn key_status(&self, (): ()) -> Result<KeyStatus> {
        Ok(self.herald.key_status()?)
    }

    fn rotate_key(&self, (): ()) -> Result<KeyStatus> {
        match &self.acting {
            Some(owner) => self.herald.acting_as(owner).rotate_key()?,
            None => self.herald.rotate_key()?,
        };
        Ok(self.herald.key_status()?)
    }

    fn retire_key(&self, input: KeyVersion) -> Result<RetireReport> {
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).retire_key(input.version)?,
            None => self.herald.retire_key(input.version)?,
        })
    }

    fn reissue_links(&self, (): ()) -> Result<ReissueReport> {
        Ok(match &self.acting {
            Some(owner) => self.herald.acting_as(owner).reissue()?,
            None => self.herald.reissue()?,
        })
    }

    fn events(&self, input: EventsAfter) -> Result<Vec<Event>> {
        Ok(self.herald.events_since(input.after)?)
    }

    fn last_event_id(&self, (): ()) -> Result<i64> {
        Ok(self.herald.last_event_id()?)
    }

    fn owners(&self, (): ()) -> Result<Vec<OwnerInfo>> {
        Ok(self.herald.owners()?)
    }

    fn add_owner(&self, input: OwnerName) -> Result<NewOwnerCode> {
        let new = self.herald.add_owner(&input.name)?;
        Ok(NewOwnerCode {
            id: new.id,
            name: new.name,
            code: new.code.expose_secret().to_owned(),
            expires_at: new.expires_at,
            url: self.herald.owner_api_url()?,
        })
    }

    fn remove_owner(&self, input: OwnerId) -> Result<()> {
        Ok(self.herald.remove_owner(input.id)?)
    }
}
