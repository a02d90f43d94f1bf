//! What the owner's window reads, against a real SQLite file (the keys in an in-memory
//! keyring): paged listing with search, sort and counts; the overview; the opt-out list; the
//! members' CSV; the check of a pasted list; the mail preview. All of it read-only.

use crate::common::{deliver, invite, Fixture, DAY, START};
use herald_core::{ListQuery, MailDraft, OptOutSource, SortKey, Status, Verdict, MAX_BATCH};

fn query(limit: u32) -> ListQuery {
    ListQuery {
        status: None,
        search: None,
        sort: SortKey::Created,
        descending: false,
        offset: 0,
        limit,
    }
}

fn emails(rows: &[herald_core::Invitation]) -> Vec<&str> {
    rows.iter().map(|i| i.email.as_str()).collect()
}

#[test]
fn pages_are_filtered_searched_sorted_and_counted() {
    let f = Fixture::new();
    let h = f.init();
    invite(
        &h,
        &[
            "Zed <zed@example.com>",
            "Ada Lovelace <ada@example.com>",
            "mia@elsewhere.org",
            "bob_50%@example.com",
        ],
    );
    deliver(&h);
    deliver(&h);

    let all = h.list_page(&query(100)).unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.counts.all, 4);
    assert_eq!((all.counts.sent, all.counts.queued), (2, 2));
    assert_eq!(
        emails(&all.rows),
        [
            "zed@example.com",
            "ada@example.com",
            "mia@elsewhere.org",
            "bob_50%@example.com"
        ]
    );

    // A page is a slice of the same order, and the total stays the whole.
    let page = h
        .list_page(&ListQuery {
            offset: 1,
            ..query(2)
        })
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(emails(&page.rows), ["ada@example.com", "mia@elsewhere.org"]);

    // Sorting by name puts people without a name under their address.
    let by_name = h
        .list_page(&ListQuery {
            sort: SortKey::Name,
            ..query(10)
        })
        .unwrap();
    assert_eq!(
        emails(&by_name.rows),
        [
            "ada@example.com",
            "bob_50%@example.com",
            "mia@elsewhere.org",
            "zed@example.com"
        ]
    );
    let newest = h
        .list_page(&ListQuery {
            descending: true,
            ..query(1)
        })
        .unwrap();
    assert_eq!(emails(&newest.rows), ["bob_50%@example.com"]);

    // The status filter narrows rows and total; counts stay per status.
    let sent = h
        .list_page(&ListQuery {
            status: Some(Status::Sent),
            ..query(10)
        })
        .unwrap();
    assert_eq!(sent.total, 2);
    assert_eq!(emails(&sent.rows), ["zed@example.com", "ada@example.com"]);
    assert_eq!(sent.counts.queued, 2);

    // Search: any part of address, name or role, ignoring case; LIKE wildcards are literal.
    let search = |text: &str| {
        h.list_page(&ListQuery {
            search: Some(text.to_owned()),
            ..query(10)
        })
        .unwrap()
    };
    assert_eq!(emails(&search("LOVELACE").rows), ["ada@example.com"]);
    assert_eq!(search("example.com").total, 3);
    assert_eq!(search("example.com").counts.sent, 2);
    assert_eq!(emails(&search("50%").rows), ["bob_50%@example.com"]);
    assert_eq!(search("%").total, 1, "a % matches only a real percent sign");
    assert_eq!(search("_").total, 1, "an _ matches only a real underscore");
    assert_eq!(emails(&search("#3").rows), ["mia@elsewhere.org"]);
    assert_eq!(search("nobody").total, 0);

    // A page never holds more than MAX_PAGE rows, whatever is asked.
    assert_eq!(h.list_page(&query(u32::MAX)).unwrap().rows.len(), 4);
}

/// Three characters or more go through the trigram index, shorter ones through LIKE: both
/// find the same kind of match, and what the owner types is never read as query syntax.
#[test]
fn search_finds_any_part_whatever_the_owner_types() {
    let f = Fixture::new();
    let h = f.init();
    invite(
        &h,
        &[
            "Zoë Ünal <zoe@example.com>",
            "Grace Hopper <grace@navy.example>",
        ],
    );
    let found = |text: &str| -> Vec<String> {
        let page = h
            .list_page(&ListQuery {
                search: Some(text.to_owned()),
                ..query(10)
            })
            .unwrap();
        page.rows.into_iter().map(|i| i.email).collect()
    };
    // Across a space, in the middle of a name; case-insensitive beyond ASCII too.
    assert_eq!(found("race hop"), ["grace@navy.example"]);
    assert_eq!(found("ÜNAL"), ["zoe@example.com"]);
    assert_eq!(found("zoë"), ["zoe@example.com"]);
    assert_eq!(found("NAVY.EX"), ["grace@navy.example"]);
    // Shorter than a trigram.
    assert_eq!(found("zo"), ["zoe@example.com"]);
    assert_eq!(found("y."), ["grace@navy.example"]);
    // FTS5 syntax is only text: no error, no match.
    for text in [
        "a\"b",
        "\"",
        "grace OR zoe",
        "NEAR(grace zoe)",
        "gr*",
        "email:zoe",
        "-grace",
        "^gra",
    ] {
        assert_eq!(found(text), Vec::<String>::new(), "{text:?}");
    }
    // The role is searched too, and the id still finds its invitation.
    assert_eq!(found("member").len(), 2);
    assert_eq!(found("#2"), ["grace@navy.example"]);
}

#[test]
fn the_overview_counts_the_funnel_and_the_days() {
    let f = Fixture::new();
    let h = f.init();
    invite(&h, &["a@example.com", "b@example.com", "c@example.com"]);
    deliver(&h);
    deliver(&h);
    f.clock.advance(DAY);
    let ids = invite(&h, &["d@example.com"]);
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    db.execute(
        "UPDATE invitations SET status = 'accepted', decided_at = ?1 WHERE id = 1",
        [f.clock.now()],
    )
    .unwrap();
    db.execute(
        "UPDATE invitations SET status = 'declined', decided_at = ?1 WHERE id = 2",
        [f.clock.now()],
    )
    .unwrap();

    let o = h.overview(0).unwrap();
    assert_eq!((o.invited, o.delivered, o.opened), (4, 2, 0));
    assert_eq!(
        (o.counts.accepted, o.counts.declined, o.counts.queued),
        (1, 1, 2)
    );
    assert_eq!(o.days.len(), 30);
    let today = o.days.last().unwrap();
    let yesterday = &o.days[28];
    assert_eq!((today.invited, today.accepted, today.declined), (1, 1, 1));
    assert_eq!((yesterday.invited, yesterday.accepted), (3, 0));
    assert!(
        o.days.windows(2).all(|w| w[0].day < w[1].day),
        "oldest first"
    );
    assert_eq!(ids.len(), 1);

    // Days are the owner's: 14 hours east of UTC, the same moment can fall on another date.
    let east = h.overview(14 * 3600).unwrap();
    assert_eq!(east.days.iter().map(|d| d.invited).sum::<u32>(), 4);
    let start_day = time::OffsetDateTime::from_unix_timestamp(START + DAY + 14 * 3600)
        .unwrap()
        .date()
        .to_string();
    assert_eq!(east.days.last().unwrap().day, start_day);
}

/// The overview reads counts that triggers keep (schema V11) rather than the rows: after every
/// kind of change (made, mailed, opened, answered, revoked, expired, an answer undone by hand,
/// a row deleted by hand), they must say exactly what counting the rows says, in any time zone.
#[test]
fn the_overview_s_kept_counts_agree_with_counting_the_rows() {
    let f = Fixture::new();
    let h = f.init();
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    let sql = |q: &str, at: i64| {
        db.execute(q, [at]).unwrap();
    };
    invite(
        &h,
        &["a@x.example", "b@x.example", "c@x.example", "d@x.example"],
    );
    deliver(&h);
    deliver(&h);
    deliver(&h);
    f.clock.advance(5 * 3600 + 17 * 60);
    invite(&h, &["e@x.example", "f@x.example", "g@x.example"]);
    h.revoke(4).unwrap();
    sql(
        "UPDATE invitations SET status = 'accepted', decided_at = ?1 WHERE id = 1",
        f.clock.now(),
    );
    sql(
        "UPDATE invitations SET status = 'declined', decided_at = ?1 WHERE id = 2",
        f.clock.now(),
    );
    sql(
        "UPDATE invitations SET opened_at = ?1 WHERE id IN (1, 3)",
        f.clock.now(),
    );
    f.clock.advance(DAY + 3 * 3600);
    sql(
        "UPDATE invitations SET status = 'accepted', decided_at = ?1 WHERE id = 3",
        f.clock.now(),
    );
    // An answer moved to another day, one undone, an opening forgotten, a row deleted.
    sql(
        "UPDATE invitations SET decided_at = ?1 WHERE id = 2",
        f.clock.now() - 7 * DAY,
    );
    sql(
        "UPDATE invitations SET status = 'sent', decided_at = NULL WHERE id = ?1",
        1,
    );
    sql("UPDATE invitations SET opened_at = NULL WHERE id = ?1", 3);
    db.execute_batch(
        "UPDATE invitations SET link_id = NULL WHERE id = 5;
         DELETE FROM links WHERE invitation_id = 5;
         DELETE FROM audit WHERE invitation_id = 5;
         DELETE FROM invitations WHERE id = 5;",
    )
    .unwrap();
    // Expired by the overview's own sweep.
    sql(
        "UPDATE invitations SET expires_at = ?1 WHERE id = 6",
        f.clock.now() - 1,
    );

    for offset in [
        0,
        5 * 3600 + 45 * 60,
        -(9 * 3600 + 30 * 60),
        14 * 3600,
        -12 * 3600,
    ] {
        let o = h.overview(offset).unwrap();
        let mut per_status = std::collections::BTreeMap::new();
        let mut st = db
            .prepare("SELECT status, count(*) FROM invitations GROUP BY status")
            .unwrap();
        for r in st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))
            .unwrap()
        {
            let (status, n) = r.unwrap();
            per_status.insert(status, n);
        }
        let n = |s: &str| per_status.get(s).copied().unwrap_or(0);
        let c = o.counts;
        assert_eq!(
            [c.queued, c.sending, c.sent, c.failed, c.accepted, c.declined, c.expired, c.revoked],
            ["queued", "sending", "sent", "failed", "accepted", "declined", "expired", "revoked"]
                .map(n),
            "offset {offset}"
        );
        assert_eq!(c.expired, 1, "the sweep's expiry is counted");
        let funnel: (u32, u32, u32) = db
            .query_row(
                "SELECT count(*), count(sent_at), count(opened_at) FROM invitations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (o.invited, o.delivered, o.opened),
            funnel,
            "offset {offset}"
        );

        // Per day in the owner's zone, counted from the rows.
        let today = (f.clock.now() + i64::from(offset)).div_euclid(DAY);
        let first = today - 29;
        let mut want = vec![(0u32, 0u32, 0u32); 30];
        let mut st = db
            .prepare("SELECT created_at, status, decided_at FROM invitations")
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .unwrap();
        let slot = |t: i64| usize::try_from((t + i64::from(offset)).div_euclid(DAY) - first).ok();
        for r in rows {
            let (created, status, decided) = r.unwrap();
            if let Some(d) = slot(created).filter(|d| *d < 30) {
                want[d].0 += 1;
            }
            if let Some(d) = decided.and_then(slot).filter(|d| *d < 30) {
                match status.as_str() {
                    "accepted" => want[d].1 += 1,
                    "declined" => want[d].2 += 1,
                    _ => {}
                }
            }
        }
        let got: Vec<(u32, u32, u32)> = o
            .days
            .iter()
            .map(|d| (d.invited, d.accepted, d.declined))
            .collect();
        assert_eq!(got, want, "offset {offset}");
        assert_eq!(got.iter().map(|d| d.0).sum::<u32>(), 6, "offset {offset}");
    }
}

#[test]
fn opt_outs_are_listed_and_members_export_as_defused_csv() {
    let f = Fixture::new();
    let h = f.init();
    invite(
        &h,
        &[
            "=cmd|' /C calc'!A0 <eve@example.com>",
            "Hopper, Grace <grace@example.com>",
        ],
    );
    let db = rusqlite::Connection::open(f.dir.path().join("data/herald.db")).unwrap();
    db.execute(
        "UPDATE invitations SET status = 'accepted', decided_at = ?1",
        [f.clock.now()],
    )
    .unwrap();
    h.opt_out("alan@example.com", OptOutSource::OneClick)
        .unwrap();
    f.clock.advance(60);
    h.opt_out("kat@example.com", OptOutSource::NeverAgain)
        .unwrap();

    let list = h.opt_outs().unwrap();
    let seen: Vec<(&str, OptOutSource)> =
        list.iter().map(|o| (o.email.as_str(), o.source)).collect();
    assert_eq!(
        seen,
        [
            ("kat@example.com", OptOutSource::NeverAgain),
            ("alan@example.com", OptOutSource::OneClick)
        ]
    );

    let csv = h.members_csv().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "email,name,role,accepted_at");
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("eve@example.com,'=cmd|' /C calc'!A0,member,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("grace@example.com,\"Hopper, Grace\",member,"),
        "{csv}"
    );
}

#[test]
fn a_pasted_list_gets_a_verdict_per_line_and_nothing_changes() {
    let f = Fixture::new();
    let h = f.init();
    // Three mails today already: the day's limit.
    for _ in 0..3 {
        let id = invite(&h, &["busy@example.com"])[0];
        deliver(&h);
        h.revoke(id).unwrap();
    }
    let pending = invite(&h, &["pending@example.com"])[0];
    h.opt_out("gone@example.com", OptOutSource::OneClick)
        .unwrap();
    let before = h.list_page(&query(100)).unwrap();

    let text = "\
# the team
Lovelace, Ada <ada@example.com>
ada@example.com
pending@example.com; gone@example.com
busy@example.com
Grace Hopper <grace@example.com>";
    let p = h.check_recipients(text).unwrap();
    let got: Vec<(u32, &str, &Verdict)> = p
        .entries
        .iter()
        .map(|e| (e.line, e.input.as_str(), &e.verdict))
        .collect();
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(got[0].0, 2);
    assert_eq!(
        got[0].1, "Lovelace, Ada <ada@example.com>",
        "one person, comma and all"
    );
    assert_eq!(p.entries[0].verdict, Verdict::Ready);
    assert_eq!(p.entries[1].verdict, Verdict::Duplicate { first_line: 2 });
    assert_eq!(
        p.entries[2].verdict,
        Verdict::AlreadyInvited { id: pending }
    );
    assert_eq!(p.entries[3].verdict, Verdict::OptedOut);
    assert!(
        matches!(&p.entries[4].verdict, Verdict::RateLimited { message } if message.contains("busy@example.com"))
    );
    assert_eq!(p.entries[5].verdict, Verdict::Ready);
    assert_eq!(p.entries[5].name.as_deref(), Some("Grace Hopper"));
    assert_eq!(p.ready, 2);

    let bad = h.check_recipients("nope\nalso@bad@example.com").unwrap();
    assert!(bad
        .entries
        .iter()
        .all(|e| matches!(&e.verdict, Verdict::Invalid { message } if !message.is_empty())));

    // More than a batch: the lines past the limit say so.
    let many: Vec<String> = (0..MAX_BATCH + 2)
        .map(|i| format!("p{i}@example.com"))
        .collect();
    let big = h.check_recipients(&many.join("\n")).unwrap();
    assert_eq!(big.ready as usize, MAX_BATCH);
    assert_eq!(big.entries.last().unwrap().verdict, Verdict::OverBatch);

    // A spreadsheet export works the same.
    let csv = h
        .check_recipients("Name,Email\n\"Hopper, Grace\",grace@example.com\n")
        .unwrap();
    assert_eq!(csv.entries[0].name.as_deref(), Some("Hopper, Grace"));
    assert_eq!(csv.entries[0].line, 2);

    assert_eq!(
        h.list_page(&query(100)).unwrap(),
        before,
        "checking changed nothing"
    );
}

#[test]
fn the_site_address_is_checked_before_it_is_kept() {
    let f = Fixture::new();
    let h = f.init();
    assert_eq!(h.site().unwrap().bind, herald_core::DEFAULT_BIND);
    let e = h.set_site_bind("port 80 please").unwrap_err();
    assert!(e.to_string().contains("like 127.0.0.1:8750"), "{e}");
    assert_eq!(
        h.site().unwrap().bind,
        herald_core::DEFAULT_BIND,
        "nothing changed"
    );
    assert_eq!(
        h.set_site_bind(" 0.0.0.0:9000 ").unwrap().bind,
        "0.0.0.0:9000"
    );
    assert_eq!(f.reopen().site().unwrap().bind, "0.0.0.0:9000");
}

#[test]
fn the_mail_preview_shows_the_mail_without_any_secret() {
    let f = Fixture::new();
    let h = f.init();
    let p = h
        .preview_mail(&MailDraft {
            name: Some("Grace".into()),
            role: Some("engineer".into()),
            note: Some("See you Monday".into()),
            expires: Some("3d".into()),
        })
        .unwrap();
    assert_eq!(p.from, "Charles Babbage <invites@example.com>");
    assert_eq!(
        p.subject,
        "Charles Babbage invited you to join Analytical Engines"
    );
    assert_eq!(p.expires_at, START + 3 * DAY);
    assert!(p.text.starts_with("Hello Grace,"), "{}", p.text);
    assert!(p.text.contains("as engineer"));
    assert!(p.text.contains("See you Monday"));
    assert!(p.text.contains(herald_core::mail::PLACEHOLDER_LINK));
    assert!(p.text.contains(herald_core::mail::PLACEHOLDER_CODE));
    assert!(!p.text.contains("/i/"), "no link: {}", p.text);
    assert!(!p.text.contains("/u/"), "no unsubscribe link: {}", p.text);

    let e = h
        .preview_mail(&MailDraft {
            expires: Some("90d".into()),
            ..MailDraft::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("expir"), "{e}");
    let e = h
        .preview_mail(&MailDraft {
            role: Some("x\r\nBcc: all@example.com".into()),
            ..MailDraft::default()
        })
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("role"), "{e}");
}
