//! The confirmation site's pages over a real SQLite file and an in-memory keyring: most tests
//! call the site's router directly (`tower::ServiceExt::oneshot`, no socket); the flood of
//! fetches and the simultaneous accepts go through the real server on a loopback port.

use std::sync::Arc;

use crate::common::{agent, got, pages, pages_with, site, Got, START};
use axum::body::Body;
use herald_core::{NewInvitations, SiteEvent, Status};
use herald_server::SiteConfig;

#[test]
fn the_link_page_shows_the_invitation_and_changes_nothing() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", Some("Welcome aboard"));
    let page = s.get(&format!("/i/{token}"));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.heading(),
        "Ada Lovelace invited you to join Rocket Team"
    );
    for text in [
        "engineer",
        "Welcome aboard",
        "grace@example.com",
        "lang=\"en\"",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    assert!(page.body.contains(r#"value="accept""#) && page.body.contains(r#"value="decline""#));
    assert!(!page.body.contains("<script"), "no JavaScript on the page");
    assert_eq!(s.status(id), Status::Queued);
    let inv = s.herald.invitation(id).unwrap();
    assert_eq!(inv.opened_at, Some(START));
    assert_eq!(inv.decided_at, None);
    assert_eq!(
        s.events.lock().unwrap().clone(),
        vec![SiteEvent::Opened {
            id,
            automated: false
        }]
    );
}

#[test]
fn every_response_carries_the_security_headers() {
    let s = pages();
    let (_, token) = s.invite("grace@example.com", None);
    let responses = [
        s.get(&format!("/i/{token}")),
        s.get("/i/not-a-token"),
        s.get("/nowhere"),
        s.get("/code"),
        s.get("/healthz"),
        s.post(&format!("/i/{token}"), &[("answer", "accept")]),
        s.post_with(
            &format!("/i/{token}"),
            &[("Origin", "https://evil.example")],
            &[("form", "answer"), ("answer", "accept")],
        ),
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 404, 200, 200, 400, 403]);
    for r in &responses {
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
}

#[test]
fn accepting_records_once_and_then_says_so() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let done = s.accept(&token);
    assert_eq!(done.status, 200);
    assert_eq!(done.heading(), "Welcome to Rocket Team");
    let inv = s.herald.invitation(id).unwrap();
    assert_eq!(inv.status, Status::Accepted);
    assert_eq!(inv.decided_at, Some(START));
    let again = s.get(&format!("/i/{token}"));
    assert_eq!(again.heading(), "You have already accepted this invitation");
    let twice = s.post(
        &format!("/i/{token}"),
        &[("form", "answer"), ("answer", "decline")],
    );
    assert_eq!(twice.heading(), "You have already accepted this invitation");
    assert_eq!(s.status(id), Status::Accepted);
    assert!(s
        .events
        .lock()
        .unwrap()
        .contains(&SiteEvent::Accepted { id }));
}

#[test]
fn declining_with_never_again_opts_the_address_out() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let done = s.post(
        &format!("/i/{token}"),
        &[
            ("form", "answer"),
            ("answer", "decline"),
            ("never_again", "on"),
        ],
    );
    assert_eq!(done.heading(), "You have declined the invitation");
    assert!(done
        .body
        .contains("grace@example.com will not be invited again"));
    assert_eq!(s.status(id), Status::Declined);
    let err = s
        .herald
        .create_invitations(&NewInvitations {
            recipients: vec!["grace@example.com".into()],
            ..NewInvitations::default()
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("never to be invited again"),
        "{err}"
    );
}

#[test]
fn a_flood_of_get_and_head_leaves_the_invitation_untouched() {
    let s = site();
    let (id, token) = s.invite("grace@example.com", None);
    let before = s.snapshot(id);
    let url = format!("{}/i/{token}", s.base);
    let scanner = "Mozilla/5.0 (compatible; Barracuda Link Protection)";
    for _ in 0..25 {
        assert_eq!(got(agent().head(&url).call()).status, 200);
        let get = agent().get(&url).header("User-Agent", scanner).call();
        assert_eq!(got(get).status, 200);
    }
    let (status, decided, _) = s.snapshot(id);
    assert_eq!((status, decided), (before.0, before.1));
    // Only machine-like fetches so far (HEAD, a scanner's agent): noted as such, once.
    let inv = s.herald.invitation(id).unwrap();
    assert_eq!((inv.opened_at, inv.scanned_at), (None, Some(START)));
    assert_eq!(
        s.snapshot(id).2,
        before.2 + 1,
        "one audit entry for the scans"
    );
    // OPTIONS changes nothing either.
    let options = got(agent().options(&url).call());
    assert_ne!(options.status, 200);
    assert_eq!(s.status(id), Status::Queued);
}

#[test]
fn twenty_simultaneous_accepts_make_one_transition() {
    let s = site();
    let (id, token) = s.invite("grace@example.com", None);
    let url = format!("{}/i/{token}", s.base);
    let barrier = Arc::new(std::sync::Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                got(agent()
                    .post(&url)
                    .send_form([("form", "answer"), ("answer", "accept")]))
            })
        })
        .collect();
    let pages: Vec<Got> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let welcomed = pages
        .iter()
        .filter(|p| p.heading() == "Welcome to Rocket Team")
        .count();
    let already = pages
        .iter()
        .filter(|p| p.heading() == "You have already accepted this invitation")
        .count();
    assert_eq!((welcomed, already), (1, 19));
    assert_eq!(s.status(id), Status::Accepted);
    let accepted = s
        .herald
        .history(id)
        .unwrap()
        .iter()
        .filter(|e| e.action == herald_core::AuditAction::Accepted)
        .count();
    assert_eq!(accepted, 1);
}

#[test]
fn forged_tampered_truncated_oversized_and_random_tokens_read_the_same() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 5;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut forged_nonce = token.clone().into_bytes();
    forged_nonce[10] = if forged_nonce[10] == b'x' { b'y' } else { b'x' };
    let forged_nonce = String::from_utf8(forged_nonce).unwrap();
    let bad = [
        flipped,
        forged_nonce,
        token[..token.len() - 1].to_owned(),
        format!("{token}A"),
        "A".repeat(5000),
        "AQAAAAFZ2b_h7ty7jhvALfkJ63ETteFQwEI7ibE1o68y4Jyx2x_p9zAyaK2A3Eacv60OL8M".to_owned(),
        "%3Cscript%3E".to_owned(),
    ];
    let mut bodies = Vec::new();
    for t in &bad {
        let page = s.get(&format!("/i/{t}"));
        assert_eq!(page.status, 404, "{t}");
        assert_eq!(page.heading(), "This link is not valid");
        bodies.push(page.body);
        let post = s.accept(t);
        assert_eq!(post.status, 404, "{t}");
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for all"
    );
    assert_eq!(s.status(id), Status::Queued);
}

#[test]
fn expired_revoked_and_renewed_links_say_why_and_offer_to_ask_again() {
    let s = pages();
    let (expiring, t1) = s.invite("a@example.com", None);
    let (revoked, t2) = s.invite("b@example.com", None);
    let (renewed, old) = s.invite("c@example.com", None);
    s.herald.revoke(revoked).unwrap();
    s.herald.renew(renewed, None).unwrap();
    let new = s
        .herald
        .mint_link(renewed)
        .unwrap()
        .token
        .expose()
        .to_owned();
    let revoked_page = s.get(&format!("/i/{t2}"));
    assert_eq!(
        (revoked_page.status, revoked_page.heading()),
        (410, "This invitation was withdrawn")
    );
    let old_page = s.get(&format!("/i/{old}"));
    assert_eq!(
        (old_page.status, old_page.heading()),
        (410, "This link has been replaced")
    );
    assert_eq!(s.accept(&old).heading(), "This link has been replaced");
    assert_eq!(s.status(renewed), Status::Queued);
    assert_eq!(s.accept(&new).heading(), "Welcome to Rocket Team");
    s.clock.advance(8 * 24 * 3600);
    let expired_page = s.get(&format!("/i/{t1}"));
    assert_eq!(
        (expired_page.status, expired_page.heading()),
        (410, "This invitation has expired")
    );
    assert_eq!(s.accept(&t1).heading(), "This invitation has expired");
    assert_ne!(s.status(expiring), Status::Accepted);
    // Ask for a new one: told once, then not again the same day.
    assert!(expired_page.body.contains(&format!("/i/{t1}/ask")));
    let ask = s.post(&format!("/i/{t1}/ask"), &[("form", "ask")]);
    assert_eq!(ask.heading(), "Your request has been sent");
    let again = s.post(&format!("/i/{t1}/ask"), &[("form", "ask")]);
    assert_eq!(again.heading(), "Your request was already sent");
    let told = s
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| **e == SiteEvent::AskedAgain { id: expiring })
        .count();
    assert_eq!(told, 1);
    // A live link cannot "ask again".
    let (_, live) = s.invite("d@example.com", None);
    let refused = s.post(&format!("/i/{live}/ask"), &[("form", "ask")]);
    assert_ne!(refused.heading(), "Your request has been sent");
}

#[test]
fn a_resent_invitation_keeps_its_link_and_a_retired_key_ends_it() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let claim = s.herald.claim_next().unwrap().unwrap();
    let sent = herald_core::Delivery::Sent {
        message_id: "<x@example.com>".into(),
        reply: "250 2.0.0 Ok".into(),
    };
    s.herald.record_delivery(&claim, &sent).unwrap();
    s.herald.resend(id).unwrap();
    let again = s.herald.mint_link(id).unwrap().token.expose().to_owned();
    assert_eq!(again, token, "both mails carry the same working link");
    assert_eq!(s.get(&format!("/i/{token}")).status, 200);
    // Rotate and retire the key that signed the link: the link is no longer authentic.
    s.herald.rotate_key().unwrap();
    s.herald.retire_key(1).unwrap();
    let page = s.get(&format!("/i/{token}"));
    assert_eq!(page.status, 404);
    assert_eq!(s.accept(&token).status, 404);
}

#[test]
fn the_typed_code_works_and_locks_after_five_wrong_tries() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let code = s.herald.mint_link(id).unwrap().code.expose().to_owned();
    let shown = s.post(
        "/code",
        &[
            ("form", "code"),
            ("email", "Grace@Example.com"),
            ("code", &code),
        ],
    );
    assert_eq!(
        shown.heading(),
        "Ada Lovelace invited you to join Rocket Team"
    );
    assert_eq!(s.status(id), Status::Queued, "showing changes nothing");
    for _ in 0..5 {
        let wrong = s.post(
            "/code",
            &[
                ("form", "code"),
                ("email", "grace@example.com"),
                ("code", "ZZZZ-ZZZZ"),
            ],
        );
        assert_eq!(wrong.status, 422);
        assert!(wrong.body.contains("do not match"));
    }
    // Locked: even the right code is refused, the same way; the link still works.
    let locked = s.post(
        "/code",
        &[
            ("form", "answer"),
            ("answer", "accept"),
            ("email", "grace@example.com"),
            ("code", &code),
        ],
    );
    assert_eq!(locked.status, 422);
    assert_eq!(s.status(id), Status::Queued);
    // An address with no invitation reads like a wrong code.
    let unknown = s.post(
        "/code",
        &[
            ("form", "code"),
            ("email", "nobody@example.com"),
            ("code", &code),
        ],
    );
    assert_eq!(
        (unknown.status, unknown.heading()),
        (locked.status, locked.heading())
    );
    assert_eq!(s.accept(&token).heading(), "Welcome to Rocket Team");
}

#[test]
fn the_typed_code_can_accept() {
    let s = pages();
    let (id, _) = s.invite("grace@example.com", None);
    let code = s.herald.mint_link(id).unwrap().code.expose_grouped();
    let done = s.post(
        "/code",
        &[
            ("form", "answer"),
            ("answer", "accept"),
            ("email", "grace@example.com"),
            ("code", &code),
        ],
    );
    assert_eq!(done.heading(), "Welcome to Rocket Team");
    assert_eq!(s.status(id), Status::Accepted);
}

#[test]
fn one_click_unsubscribe_opts_out_for_good() {
    let s = pages();
    let (id, _) = s.invite("grace@example.com", None);
    let unsub = s
        .herald
        .mint_link(id)
        .unwrap()
        .unsubscribe
        .expose()
        .to_owned();
    // GET only asks for confirmation.
    let page = s.get(&format!("/u/{unsub}"));
    assert_eq!(page.status, 200);
    assert_eq!(s.status(id), Status::Queued);
    assert!(!s.herald.is_opted_out("grace@example.com").unwrap());
    // RFC 8058: a POST with List-Unsubscribe=One-Click, from the mail provider (no Origin).
    let done = s.post(&format!("/u/{unsub}"), &[("List-Unsubscribe", "One-Click")]);
    assert_eq!(done.status, 200);
    assert!(s.herald.is_opted_out("grace@example.com").unwrap());
    assert_eq!(s.status(id), Status::Revoked);
    // The invitation link is not an unsubscribe token, and vice versa.
    let (other, token) = s.invite("alan@example.com", None);
    assert_eq!(
        s.post(&format!("/u/{token}"), &[("List-Unsubscribe", "One-Click")])
            .status,
        404
    );
    assert_eq!(s.accept(&unsub).status, 404);
    assert!(!s.herald.is_opted_out("alan@example.com").unwrap());
    assert_eq!(s.status(other), Status::Queued);
}

#[test]
fn posts_without_the_forms_fields_or_from_another_site_are_refused() {
    let s = pages();
    let (id, token) = s.invite("grace@example.com", None);
    let url = format!("/i/{token}");
    let before = s.snapshot(id);
    let accept = [("form", "answer"), ("answer", "accept")];
    let cases = [
        s.post_with(&url, &[], &[("answer", "accept")]),
        s.post_with(&url, &[], &[("form", "answer"), ("answer", "maybe")]),
        s.send(s.request("POST", &url).body(Body::empty()).unwrap()),
        s.send(
            s.request("POST", &url)
                .header("Content-Type", "application/json")
                .body(Body::from(r#"{"form":"answer","answer":"accept"}"#))
                .unwrap(),
        ),
        s.post_with(
            &url,
            &[],
            &[("form", "answer"), ("answer", &"a".repeat(10_000))],
        ),
        s.post_with(&url, &[("Origin", "https://evil.example")], &accept),
        s.post_with(&url, &[("Origin", "null")], &accept),
        s.post_with(
            &url,
            &[("Origin", "null"), ("Sec-Fetch-Site", "cross-site")],
            &accept,
        ),
        s.post_with(
            &url,
            &[("Origin", &s.base), ("Sec-Fetch-Site", "same-site")],
            &accept,
        ),
        // X-Forwarded-Host counts only from a trusted proxy, and this client is none.
        s.post_with(
            &url,
            &[
                ("Origin", "https://evil.example"),
                ("X-Forwarded-Host", "evil.example"),
            ],
            &accept,
        ),
    ];
    let statuses: Vec<u16> = cases.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 413, 403, 403, 403, 403, 403]);
    for c in &cases {
        assert!(!c.body.contains("rejection") && !c.body.contains("panicked"));
    }
    assert_eq!(s.snapshot(id), before, "nothing changed");
    // What a browser sends from the site's own page under `no-referrer`: Origin null, and
    // Sec-Fetch-Site same-origin. That works, as does a real matching Origin.
    let (other, other_token) = s.invite("alan@example.com", None);
    let ok = s.post_with(
        &url,
        &[("Origin", "null"), ("Sec-Fetch-Site", "same-origin")],
        &accept,
    );
    assert_eq!(ok.heading(), "Welcome to Rocket Team");
    let ok = s.post_with(
        &format!("/i/{other_token}"),
        &[("Origin", &s.base)],
        &accept,
    );
    assert_eq!(ok.heading(), "Welcome to Rocket Team");
    assert_eq!(s.status(other), Status::Accepted);
}

#[test]
fn names_with_markup_come_out_escaped() {
    let s = pages_with(
        "<script>alert('team')</script>",
        "Ada \"<img src=x onerror=alert(1)>\"",
        SiteConfig::default(),
    );
    let (_, token) = s.invite(
        "grace@example.com",
        Some("</blockquote><script>x()</script>"),
    );
    let page = s.get(&format!("/i/{token}"));
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(!page.body.contains("<img"), "{}", page.body);
    assert!(page
        .body
        .contains("&#60;script&#62;alert(&#39;team&#39;)&#60;/script&#62;"));
}

#[test]
fn clients_are_rate_limited_and_proxies_are_believed_only_when_trusted() {
    let s = pages_with(
        "Rocket Team",
        "Ada Lovelace",
        SiteConfig {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        },
    );
    let get_as = |ip: &str| {
        s.get_with(
            "/code",
            &[("X-Forwarded-For", &format!("203.0.113.9, {ip}"))],
        )
        .status
    };
    let statuses: Vec<u16> = (0..70).map(|_| get_as("198.51.100.7")).collect();
    assert!(statuses[..60].iter().all(|&c| c == 200), "{statuses:?}");
    assert_eq!(statuses[69], 429);
    // Another client behind the same proxy is not affected.
    assert_eq!(get_as("198.51.100.8"), 200);

    // Without trust, the header is ignored: all requests count against the peer itself.
    let s = pages();
    let statuses: Vec<u16> = (0..70)
        .map(|i| {
            s.get_with("/code", &[("X-Forwarded-For", &format!("198.51.100.{i}"))])
                .status
        })
        .collect();
    assert_eq!(statuses[69], 429, "{statuses:?}");
    let limited = s.get_with("/code", &[]);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert!(limited.header("content-security-policy").is_some());
}

/// RFC 8058 says the one-click POST SHOULD be `multipart/form-data`; some providers send it
/// that way, others urlencoded. Both opt the address out.
#[test]
fn one_click_unsubscribe_takes_multipart_too() {
    let s = pages();
    let (id, _) = s.invite("grace@example.com", None);
    let unsub = s
        .herald
        .mint_link(id)
        .unwrap()
        .unsubscribe
        .expose()
        .to_owned();
    let multipart = |fields: &[(&str, &str)]| {
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str("--XyZ--\r\n");
        s.send(
            s.request("POST", &format!("/u/{unsub}"))
                .header("Content-Type", "multipart/form-data; boundary=XyZ")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    // Without the field, or with another value, nothing happens.
    assert_eq!(multipart(&[("List-Unsubscribe", "Not-Now")]).status, 400);
    assert_eq!(multipart(&[]).status, 400);
    let garbled = s.send(
        s.request("POST", &format!("/u/{unsub}"))
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .body(Body::from("--XyZ\r\nno headers, no end"))
            .unwrap(),
    );
    assert_eq!(garbled.status, 400);
    assert!(!s.herald.is_opted_out("grace@example.com").unwrap());
    assert_eq!(s.status(id), Status::Queued);

    let done = multipart(&[("List-Unsubscribe", "One-Click")]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(s.herald.is_opted_out("grace@example.com").unwrap());
    assert_eq!(s.status(id), Status::Revoked);

    // The urlencoded form still works, for another address.
    let (other, _) = s.invite("alan@example.com", None);
    let unsub = s
        .herald
        .mint_link(other)
        .unwrap()
        .unsubscribe
        .expose()
        .to_owned();
    let done = s.post(&format!("/u/{unsub}"), &[("List-Unsubscribe", "One-Click")]);
    assert_eq!(done.status, 200);
    assert!(s.herald.is_opted_out("alan@example.com").unwrap());
}

/// An IPv6 subscriber usually holds a whole /64: its addresses share one limit, so an attacker
/// cannot walk through 2^64 fresh buckets. A neighbouring /64 has its own.
#[test]
fn ipv6_clients_are_limited_by_their_64() {
    let s = pages_with(
        "Rocket Team",
        "Ada Lovelace",
        SiteConfig {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        },
    );
    let get_as = |ip: &str| s.get_with("/code", &[("X-Forwarded-For", ip)]).status;
    // 70 requests, each from another address in 2001:db8:1:2::/64.
    let statuses: Vec<u16> = (0..70)
        .map(|i| get_as(&format!("2001:db8:1:2:{i:x}:{:x}::1", (i * 7919) % 65_536)))
        .collect();
    assert!(statuses[..60].iter().all(|&c| c == 200), "{statuses:?}");
    assert_eq!(statuses[69], 429, "{statuses:?}");
    assert_eq!(get_as("2001:db8:1:2:ffff:ffff:ffff:ffff"), 429);
    // The next /64 over, and an IPv4 client, are not affected.
    assert_eq!(get_as("2001:db8:1:3::1"), 200);
    assert_eq!(get_as("198.51.100.7"), 200);
    assert_eq!(
        herald_server::rate_key("::ffff:198.51.100.7".parse().unwrap()),
        "198.51.100.7".parse::<std::net::IpAddr>().unwrap()
    );
}

/// `/healthz` is rate limited like every page, with a budget of its own, and answers from
/// what it last found rather than reading the store for each request.
#[test]
fn health_checks_are_rate_limited() {
    let s = pages();
    let statuses: Vec<u16> = (0..70)
        .map(|_| s.get_with("/healthz", &[]).status)
        .collect();
    assert!(statuses[..60].iter().all(|&c| c == 200), "{statuses:?}");
    assert_eq!(statuses[69], 429, "{statuses:?}");
    // Its own budget: the pages still answer this client.
    assert_eq!(s.get("/code").status, 200);
}

/// An invitation a paired owner made names that owner on every page about it, as its mail
/// did: the withdrawn, expired and decided pages and the "ask again" answer, not the data
/// folder's own owner.
#[test]
fn pages_about_an_invitation_name_the_owner_who_sent_it() {
    let s = pages();
    let grace = s.herald.acting_as("Grace Hopper");
    let mut made = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let id = grace
            .create_invitations(&NewInvitations {
                recipients: vec![email.to_owned()],
                ..NewInvitations::default()
            })
            .unwrap()[0]
            .id;
        let token = s.herald.mint_link(id).unwrap().token.expose().to_owned();
        made.push((id, token));
    }
    let [(revoked, t_revoked), (_, t_accepted), (_, t_expiring)] = made.try_into().unwrap();
    s.herald.revoke(revoked).unwrap();
    let withdrawn = s.get(&format!("/i/{t_revoked}"));
    assert!(
        withdrawn
            .body
            .contains("The invitation from Grace Hopper was withdrawn"),
        "{}",
        withdrawn.body
    );
    s.accept(&t_accepted);
    let decided = s.get(&format!("/i/{t_accepted}"));
    assert!(
        decided.body.contains("Grace Hopper has been told"),
        "{}",
        decided.body
    );
    s.clock.advance(8 * 24 * 3600);
    let expired = s.get(&format!("/i/{t_expiring}"));
    assert_eq!(expired.heading(), "This invitation has expired");
    let asked = s.post(&format!("/i/{t_expiring}/ask"), &[("form", "ask")]);
    assert!(
        asked
            .body
            .contains("Grace Hopper has been told that you would like a new invitation"),
        "{}",
        asked.body
    );
    for page in [&withdrawn, &decided, &expired, &asked] {
        assert!(!page.body.contains("Ada Lovelace"), "{}", page.body);
    }
}
