//! Several owners: what an owner does through the owner API is done in their name.

use herald_core::{Actor, AuditAction, Delivery, MailDraft, NewInvitations};

use crate::common::*;

#[test]
fn an_owner_acting_through_the_api_is_named_in_the_history_the_mail_and_the_preview() {
    let f = Fixture::new();
    let h = f.init();
    let owner = h.general().unwrap().owner_name;
    let grace = h.acting_as("Grace Hopper");

    let made = grace
        .create_invitations(&NewInvitations {
            recipients: vec!["ada@example.com".into()],
            ..NewInvitations::default()
        })
        .unwrap();
    let id = made[0].id;
    assert_eq!(made[0].invited_by.as_deref(), Some("Grace Hopper"));

    // The mail says who invited, in the subject, the sender's name and the text.
    let claim = h.claim_next().unwrap().expect("queued");
    let general = h.general().unwrap();
    let message =
        herald_core::mail::compose(&general, &claim.invitation, &claim.link, "<m@x>").unwrap();
    let raw = String::from_utf8(message.formatted()).unwrap();
    let team = &general.team;
    assert!(
        raw.contains(&format!("Subject: Grace Hopper invited you to join {team}")),
        "{raw}"
    );
    assert!(raw.contains("From: \"Grace Hopper\" <"), "{raw}");
    let (text, _) =
        herald_core::mail::render_parts(&general, &claim.invitation, &claim.link).unwrap();
    assert!(text.contains("Grace Hopper"), "{text}");
    assert!(!text.contains(&owner), "{text}");
    let sent = Delivery::Sent {
        message_id: "<m@x>".into(),
        reply: "250 2.0.0 Ok".into(),
    };
    h.record_delivery(&claim, &sent).unwrap();

    // Her later actions are hers too; the data folder's own owner's stay unnamed.
    grace.revoke(id).unwrap();
    let other = invite(&h, &["alan@example.com"])[0];
    assert_eq!(h.invitation(other).unwrap().invited_by, None);
    let history = h.history(id).unwrap();
    let by: Vec<(AuditAction, Option<&str>)> = history
        .iter()
        .filter(|e| e.actor == Actor::Owner)
        .map(|e| (e.action, e.owner.as_deref()))
        .collect();
    assert_eq!(
        by,
        [
            (AuditAction::Created, Some("Grace Hopper")),
            (AuditAction::Revoked, Some("Grace Hopper"))
        ]
    );
    assert!(history
        .iter()
        .filter(|e| e.actor != Actor::Owner)
        .all(|e| e.owner.is_none()));
    assert_eq!(h.history(other).unwrap()[0].owner, None);
    // The event stream carries the name as well.
    let events = h.events_since(0).unwrap();
    assert!(events
        .iter()
        .any(|e| e.invitation_id == Some(id) && e.entry.owner.as_deref() == Some("Grace Hopper")));

    // Her preview shows the mail her invitations will be.
    let preview = grace.preview_mail(&MailDraft::default()).unwrap();
    assert!(
        preview.subject.starts_with("Grace Hopper invited you"),
        "{}",
        preview.subject
    );
    assert!(
        preview.from.starts_with("Grace Hopper <"),
        "{}",
        preview.from
    );
    let own = h.preview_mail(&MailDraft::default()).unwrap();
    assert!(
        own.subject.starts_with(&format!("{owner} invited you")),
        "{}",
        own.subject
    );
}

/// Key actions through the owner API name the owner too: the new key, the retirement, the
/// links it ended, and the reissue that renews them.
#[test]
fn key_actions_name_the_owner_who_took_them() {
    let f = Fixture::new();
    let h = f.init();
    let ada = invite(&h, &["ada@example.com"])[0];
    h.mint_link(ada).unwrap();
    let grace = h.acting_as("Grace Hopper");
    assert_eq!(grace.rotate_key().unwrap(), 2);
    assert_eq!(grace.retire_key(1).unwrap().ended, [ada]);
    // The current key vanishes from the keyring: the reissue renews Ada's link under a new one.
    h.keyring().delete_key(2).unwrap();
    let h = f.reopen();
    let grace = h.acting_as("Grace Hopper");
    let report = grace.reissue().unwrap();
    assert!(report.rotated);

    let by_grace = |action: AuditAction| {
        h.events_since(0)
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.action == action)
            .map(|e| e.entry.owner)
            .collect::<Vec<_>>()
    };
    let grace_name = Some("Grace Hopper".to_owned());
    // v1 is made on first use by the folder's own owner, v2 and v3 by Grace.
    assert_eq!(
        by_grace(AuditAction::KeyCreated),
        [None, grace_name.clone(), grace_name.clone()]
    );
    assert_eq!(
        by_grace(AuditAction::KeyRetired),
        [grace_name.clone(), grace_name.clone()]
    );
    assert_eq!(by_grace(AuditAction::LinkEnded).len(), 1);
    assert_eq!(by_grace(AuditAction::LinkEnded)[0], grace_name);
    let history = h.history(ada).unwrap();
    assert!(history
        .iter()
        .filter(|e| e.action == AuditAction::LinkEnded)
        .all(|e| e.owner == grace_name));
}
