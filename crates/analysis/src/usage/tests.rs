use super::*;
use std::borrow::Cow;

const DAY: i64 = 86_400;
const T0: i64 = 1_790_000_000;

fn ev(
    t: i64,
    region: &'static str,
    ip: &'static str,
    ua: &'static str,
    error: &'static str,
) -> Event<'static> {
    Event {
        time: t,
        actor_prefix: "aws-access-key:",
        actor: Cow::Borrowed("AKIAEXAMPLEEXAMPLE22"),
        principal: Cow::Borrowed("arn:aws:iam::111122223333:user/ci"),
        source_ip: Cow::Borrowed(ip),
        region: Cow::Borrowed(region),
        user_agent: Cow::Borrowed(ua),
        service: Cow::Borrowed("s3.amazonaws.com"),
        action: Cow::Borrowed(if error.is_empty() {
            "GetObject"
        } else {
            "ListUsers"
        }),
        error: Cow::Borrowed(error),
        denied: !error.is_empty(),
        ..Event::default()
    }
}

fn tally(events: &[Event<'_>], source: &str) -> Tally {
    let mut t = Tally::default();
    for (i, e) in events.iter().enumerate() {
        t.add(e, source, &format!("#/Records/{i}"));
    }
    t
}

fn normal(days: std::ops::Range<i64>) -> Vec<Event<'static>> {
    days.flat_map(|d| {
        (0..5).map(move |h| {
            ev(
                T0 + d * DAY + h * 3600,
                "eu-west-1",
                "198.51.100.7",
                "aws-sdk-go/1.44 (go1.20)",
                "",
            )
        })
    })
    .collect()
}

const KEY: &str = "aws-access-key:AKIAEXAMPLEEXAMPLE22";

#[test]
fn profiles_aggregate_and_merge_in_any_order() {
    let a = tally(&normal(0..10), "a.json");
    let b = tally(&normal(10..20), "b.json");
    let mut ab = Tally::default();
    ab.merge(tally(&normal(0..10), "a.json"));
    ab.merge(tally(&normal(10..20), "b.json"));
    let mut ba = Tally::default();
    ba.merge(b);
    ba.merge(a);
    let (p, q) = (&ab.profiles[KEY], &ba.profiles[KEY]);
    assert_eq!(p, q);
    assert_eq!(p.events, 100);
    assert_eq!(p.days.len(), 20);
    assert_eq!(p.regions.len(), 1);
    assert_eq!(p.networks[0].value, "198.51.100");
    assert_eq!(show_network(&p.networks[0].value), "198.51.100.0/24");
    assert_eq!(p.agents[0].value, "aws-sdk-go");
    assert_eq!(p.actions[0].action, "GetObject");
    assert_eq!(p.actions[0].service, "s3");
    assert_eq!(p.principal, "arn:aws:iam::111122223333:user/ci");
    assert_eq!(&*p.regions[0].evidence.source, "a.json");
    assert_eq!(p.regions[0].evidence.at, "#/Records/0");
    assert_eq!(p.hours.iter().sum::<u64>(), 100);
}

#[test]
fn anomalies_after_the_learning_period_are_alerts_with_their_event() {
    let cfg = Config::default();
    let before = tally(&normal(0..20), "old.json")
        .profiles
        .remove(KEY)
        .unwrap();
    let mut batch = normal(20..21);
    batch.push(ev(
        T0 + 20 * DAY + 7200 + 5,
        "ap-southeast-1",
        "203.0.113.9",
        "python-requests/2.31",
        "",
    ));
    for i in 0..25 {
        batch.push(ev(
            T0 + 20 * DAY + 9000 + i,
            "eu-west-1",
            "198.51.100.7",
            "aws-sdk-go/1.44",
            "AccessDenied",
        ));
    }
    let delta = tally(&batch, "new.json").profiles.remove(KEY).unwrap();
    let mut after = before.clone();
    after.merge(&delta);
    let alerts = detect(Some(&before), &delta, &after, &cfg, &Networks::default());
    let rules: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "new-network",
            "new-region",
            "new-user-agent",
            "denied-burst"
        ],
        "{alerts:#?}"
    );
    let region = &alerts[1];
    assert_eq!(&*region.evidence.source, "new.json");
    assert_eq!(region.evidence.region, "ap-southeast-1");
    assert!(
        region.summary.contains("usual: eu-west-1"),
        "{}",
        region.summary
    );
    // The same batch again raises nothing new: it is all known now.
    assert!(detect(Some(&after), &delta, &after, &cfg, &Networks::default()).is_empty());
}

/// Events of one key from `n` distinct public /24s (`203.0.<i>.9`), one a
/// minute from `start`, every tenth from its first address again.
fn roaming(start: i64, n: usize) -> Vec<Event<'static>> {
    (0..n)
        .map(|i| {
            let ip: &'static str = Box::leak(format!("203.0.{}.9", i % 250).into_boxed_str());
            let ip = if i % 10 == 9 { "203.0.0.9" } else { ip };
            ev(start + i as i64 * 60, "eu-west-1", ip, "aws-cli/2.15", "")
        })
        .collect()
}

#[test]
fn a_full_dimension_keeps_its_first_values_and_counts_the_rest() {
    let events = roaming(T0, 400);
    let t = tally(&events, "a.json");
    let p = &t.profiles[KEY];
    assert_eq!(p.networks.len(), MAX_VALUES);
    assert_eq!(p.networks[1].value, "203.0.1");
    // The first, the 251st and every tenth event come from the first
    // network: counted, not lost.
    assert_eq!(p.networks[0].count, 42);
    // An address of a network not kept is judged by its operator.
    assert!(!p.asns.is_empty());
    // Read in two parts merged in order: the same values, in the same order.
    let mut parts = tally(&events[..30], "a.json");
    let mut rest = Tally::default();
    for (i, e) in events[30..].iter().enumerate() {
        rest.add(e, "a.json", &format!("#/Records/{}", 30 + i));
    }
    parts.merge(rest);
    let q = &parts.profiles[KEY];
    let values = |p: &Profile| {
        p.networks
            .iter()
            .map(|s| s.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(q), values(p));
    assert_eq!(q.events, p.events);
}

#[test]
fn a_profile_read_back_finds_its_values_again() {
    let t = tally(&normal(0..2), "a.json");
    let json = serde_json::to_string(&t.profiles[KEY]).unwrap();
    let back: Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t.profiles[KEY]);
    // Folding more events into a profile read back (its index is cold)
    // counts the values it holds instead of adding them again.
    let mut t2 = Tally::default();
    t2.profiles.insert(KEY.to_string(), back);
    for (i, e) in normal(2..4).iter().enumerate() {
        t2.add(e, "b.json", &format!("#/Records/{i}"));
    }
    let p = &t2.profiles[KEY];
    assert_eq!(p.networks.len(), 1);
    assert_eq!(p.networks[0].count, 20);
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].count, 20);
    assert_eq!(&*p.networks[0].evidence.source, "a.json");
}

#[test]
fn a_profile_whose_texts_changed_finds_the_changed_values() {
    let mut t = tally(&normal(0..1), "a.json");
    // A client string rewritten in place (as scrubbing does), then events
    // with the rewritten value: one value, counted on.
    let p = t.profiles.get_mut(KEY).unwrap();
    p.texts_mut(&mut |text| (text == "aws-sdk-go").then(|| "aws-sdk-rust".to_string()));
    assert_eq!(p.agents[0].value, "aws-sdk-rust");
    let events: Vec<Event<'static>> = normal(1..2)
        .into_iter()
        .map(|mut e| {
            e.user_agent = Cow::Borrowed("aws-sdk-rust/1.0");
            e
        })
        .collect();
    for (i, e) in events.iter().enumerate() {
        t.add(e, "b.json", &format!("#/Records/{i}"));
    }
    let p = &t.profiles[KEY];
    assert_eq!(p.agents.len(), 1, "{:?}", p.agents);
    assert_eq!(p.agents[0].count, 10);
}

#[test]
fn merging_a_borrowed_profile_is_absorbing_a_copy() {
    let early = tally(&roaming(T0, 30), "a.json");
    let late = tally(&roaming(T0 - 3_600, 90), "b.json");
    let (a, b) = (&early.profiles[KEY], &late.profiles[KEY]);
    let mut merged = a.clone();
    merged.merge(b);
    let mut absorbed = a.clone();
    absorbed.absorb(b.clone());
    assert_eq!(merged, absorbed);
    // The later file saw the shared networks first: its evidence wins.
    assert_eq!(&*merged.networks[0].evidence.source, "b.json");
}

#[test]
fn the_learning_period_and_bulk_loads() {
    let cfg = Config::default();
    // A new identity whose second region appears on day 2: learning, no alert.
    let mut early = normal(0..3);
    early.push(ev(
        T0 + DAY,
        "us-east-1",
        "198.51.100.8",
        "aws-sdk-go/1.44",
        "",
    ));
    let t = tally(&early, "x.json").profiles.remove(KEY).unwrap();
    assert!(detect(None, &t, &t, &cfg, &Networks::default()).is_empty());
    // One bulk load of 30 days with a new region on day 25: found without a stored baseline.
    let mut all = normal(0..30);
    all.push(ev(
        T0 + 25 * DAY + 60,
        "sa-east-1",
        "198.51.100.7",
        "aws-sdk-go/1.44",
        "",
    ));
    let t = tally(&all, "x.json").profiles.remove(KEY).unwrap();
    let alerts = detect(None, &t, &t, &cfg, &Networks::default());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].rule, "new-region");
}

#[test]
fn dormancy() {
    let cfg = Config::default();
    let before = tally(&normal(0..5), "a.json").profiles.remove(KEY).unwrap();
    let delta = tally(&normal(100..101), "b.json")
        .profiles
        .remove(KEY)
        .unwrap();
    let mut after = before.clone();
    after.merge(&delta);
    let alerts = detect(Some(&before), &delta, &after, &cfg, &Networks::default());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].rule, "dormant-reuse");
    assert!(
        alerts[0].summary.contains("96 days"),
        "{}",
        alerts[0].summary
    );
}

#[test]
fn networks_and_agents() {
    assert_eq!(network_of("2001:db8:1:2::5", ""), "2001:db8:1");
    assert_eq!(show_network("2001:db8:1"), "2001:db8:1::/48");
    assert_eq!(network_of("ec2.amazonaws.com", ""), AWS_SERVICE);
    assert_eq!(network_of("AWS Internal", ""), AWS_SERVICE);
    assert_eq!(network_of("1.2.3.4", "AS7018"), "AS7018");
    assert_eq!(network_of("198.51.100.7", ""), "198.51.100");
    for private in [
        "10.1.2.3",
        "10.200.7.9",
        "172.16.0.1",
        "172.31.255.4",
        "192.168.1.1",
        "100.64.3.2",
        "127.0.0.1",
        "169.254.169.254",
        "fd12:3456:789a::1",
        "fe80::1",
        "::1",
    ] {
        assert_eq!(network_of(private, ""), PRIVATE, "{private}");
    }
    for public in ["172.32.0.1", "100.128.0.1", "11.0.0.1", "2001:db8::1"] {
        assert_ne!(network_of(public, ""), PRIVATE, "{public}");
    }
    assert_eq!(network_kind("AS7018"), "asn");
    assert_eq!(network_kind("198.51.100"), "public");
    assert_eq!(agent_family("[aws-cli/2.13.5 Python/3.11.4]"), "aws-cli");
    assert_eq!(agent_family("Boto3/1.28.0 md/Botocore#1.31"), "Boto3");
    assert_eq!(agent_family("Botocore/1.31.62 ua/2.0"), "Boto3");
    assert_eq!(agent_family("aws-sdk-go-v2/1.21.0 os/linux"), "aws-sdk-go");
    assert_eq!(agent_family("aws-sdk-go/1.44.298 (go1.20.6)"), "aws-sdk-go");
    assert_eq!(agent_family("lambda.amazonaws.com"), AWS_SERVICE);
    assert_eq!(agent_family("AWS Internal"), AWS_SERVICE);
    assert_eq!(agent_family("python-requests/2.31.0"), "python-requests");
    assert_eq!(
        agent_family("console.amazonaws.com"),
        "console.amazonaws.com"
    );
}

/// A day of calls from `n` addresses chosen by `ip(day, i)`.
fn varied(
    days: std::ops::Range<i64>,
    ip: impl Fn(i64, i64) -> String,
    ua: impl Fn(i64) -> String,
) -> Vec<Event<'static>> {
    days.flat_map(|d| (0..5).map(move |h| (d, h)))
        .map(|(d, h)| {
            let mut e = ev(T0 + d * DAY + h * 3600, "eu-west-1", "", "", "");
            e.source_ip = Cow::Owned(ip(d, h));
            e.user_agent = Cow::Owned(ua(d));
            e
        })
        .collect()
}

fn alerts_of(history: &[Event<'_>], batch: &[Event<'_>]) -> Vec<Alert> {
    alerts_with(history, batch, &Networks::default())
}

fn alerts_with(history: &[Event<'_>], batch: &[Event<'_>], nets: &Networks) -> Vec<Alert> {
    let before = tally(history, "old.json").profiles.remove(KEY).unwrap();
    let delta = tally(batch, "new.json").profiles.remove(KEY).unwrap();
    let mut after = before.clone();
    after.merge(&delta);
    detect(Some(&before), &delta, &after, &Config::default(), nets)
}

#[test]
fn a_workload_in_a_vpc_upgrading_its_sdk_raises_nothing() {
    // Every call from another private address of its /16, through a VPC
    // endpoint; the SDK is upgraded on day 12; AWS services act for it.
    let ip = |d: i64, h: i64| {
        format!(
            "10.42.{}.{}",
            (d * 7 + h * 13) % 256,
            (d * 31 + h) % 250 + 2
        )
    };
    let ua = |d: i64| {
        if d < 12 {
            "aws-sdk-go/1.44.298 (go1.20.6; linux; amd64)".to_string()
        } else {
            "aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21".to_string()
        }
    };
    let history = varied(0..10, ip, ua);
    let mut batch = varied(10..14, ip, ua);
    let mut by_service = ev(
        T0 + 13 * DAY + 600,
        "eu-west-1",
        "cloudformation.amazonaws.com",
        "cloudformation.amazonaws.com",
        "",
    );
    by_service.action = Cow::Borrowed("PutObject");
    batch.push(by_service);
    assert!(alerts_of(&history, &batch).is_empty());
    // An address outside its private network is news: one alert.
    batch.push(ev(
        T0 + 13 * DAY + 900,
        "eu-west-1",
        "185.220.101.4",
        "aws-sdk-go-v2/1.21.0",
        "",
    ));
    let alerts = alerts_of(&history, &batch);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].rule, "new-network");
    assert!(
        alerts[0].summary.contains("185.220.101.0/24"),
        "{}",
        alerts[0].summary
    );
    assert!(
        alerts[0].summary.contains("usual: private"),
        "{}",
        alerts[0].summary
    );
}

#[test]
fn new_values_of_one_batch_make_one_alert_per_rule_with_counts() {
    let mut batch = normal(20..21);
    for (i, ip) in ["203.0.113.9", "192.0.2.44", "198.18.0.3"]
        .iter()
        .enumerate()
    {
        batch.push(ev(
            T0 + 20 * DAY + 7200 + i as i64 * 60,
            "eu-west-1",
            ip,
            "aws-sdk-go/1.44",
            "",
        ));
    }
    let alerts = alerts_of(&normal(0..20), &batch);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].summary.contains(
            "203.0.113.0/24 (1 event(s)) and 2 more new (192.0.2.0/24 ×1, 198.18.0.0/24 ×1)"
        ),
        "{}",
        alerts[0].summary
    );
    assert_eq!(alerts[0].evidence.ip, "203.0.113.9");
}

#[test]
fn impossible_travel_needs_geolocation_and_speed() {
    let cfg = Config::default();
    let at = |t: i64, geo: (f64, f64), region: &'static str| Event {
        geo: Some(geo),
        ..ev(t, region, "198.51.100.7", "okta-sdk/1", "")
    };
    let nyc = (40.71, -74.01);
    let moscow = (55.76, 37.62);
    let boston = (42.36, -71.06);
    let mut history: Vec<Event<'static>> = (0..10)
        .map(|d| at(T0 + d * DAY, nyc, "US/New York"))
        .collect();
    history.push(at(T0 + 10 * DAY, nyc, "US/New York"));
    let before = tally(&history, "a.jsonl").profiles.remove(KEY).unwrap();
    // Moscow 30 minutes after New York: 7,500 km at 15,000 km/h.
    let delta = tally(&[at(T0 + 10 * DAY + 1800, moscow, "RU/Moscow")], "b.jsonl")
        .profiles
        .remove(KEY)
        .unwrap();
    let mut after = before.clone();
    after.merge(&delta);
    let alerts = detect(Some(&before), &delta, &after, &cfg, &Networks::default());
    let travel: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.rule == "impossible-travel")
        .collect();
    assert_eq!(travel.len(), 1, "{alerts:#?}");
    assert!(
        travel[0].summary.contains("minutes"),
        "{}",
        travel[0].summary
    );
    // Boston a day later: 300 km, plausible.
    let delta = tally(&[at(T0 + 11 * DAY, boston, "US/Boston")], "c.jsonl")
        .profiles
        .remove(KEY)
        .unwrap();
    let mut after = before.clone();
    after.merge(&delta);
    assert!(
        detect(Some(&before), &delta, &after, &cfg, &Networks::default())
            .iter()
            .all(|a| a.rule != "impossible-travel")
    );
    assert!((distance_km(nyc, moscow) - 7510.0).abs() < 50.0);
}

#[test]
fn a_huge_value_is_kept_cut_with_a_marker() {
    let agent = "A".repeat(10_000_000);
    let mut t = Tally::default();
    for i in 0..3 {
        let mut e = ev(T0 + i, "us-east-1", "203.0.113.5", "aws-cli/2.15.0", "");
        e.user_agent = Cow::Borrowed(agent.as_str());
        e.action = Cow::Borrowed(agent.as_str());
        t.add(&e, "f.json", &"L1");
    }
    let p = &t.profiles["aws-access-key:AKIAEXAMPLEEXAMPLE22"];
    let json = serde_json::to_string(p).unwrap();
    assert!(json.len() < 20_000, "{} bytes", json.len());
    assert_eq!(p.agents.len(), 1, "the same cut value counts once");
    assert_eq!(p.agents[0].count, 3);
    assert_eq!(p.actions.len(), 1);
    assert!(p.actions[0].action.ends_with("more bytes]"));
}

#[test]
fn named_ranges_are_one_network() {
    let nets = Networks::new([
        ("198.51.100.0/23", "corp-egress"),
        ("203.0.113.16/28", "office-nat"),
        ("2001:db8::/32", "corp-v6"),
        ("3.5.140.0/22", "aws/ap-northeast-2"),
    ])
    .unwrap();
    assert_eq!(nets.name_of("198.51.101"), Some("corp-egress"));
    assert_eq!(nets.name_of("198.51.102"), None);
    // Narrower than the /24 a profile keeps: names its /24.
    assert_eq!(nets.name_of("203.0.113"), Some("office-nat"));
    assert_eq!(nets.name_of("2001:db8:77"), Some("corp-v6"));
    assert_eq!(nets.name_of("3.5.143"), Some("aws/ap-northeast-2"));
    assert_eq!(nets.name_of(PRIVATE), None);
    assert_eq!(network_kind("corp-egress"), "named");
    assert!(Networks::new([("10.0.0.0/33", "x")]).is_err());
    assert!(Networks::new([("corp", "x")]).is_err());

    // Usual: the egress's first /24; new: its second /24 — the same network.
    let history = normal(0..20);
    let mut batch = normal(20..21);
    batch.push(ev(
        T0 + 20 * DAY + 7200,
        "eu-west-1",
        "198.51.101.9",
        "aws-sdk-go/1.44",
        "",
    ));
    assert_eq!(
        alerts_of(&history, &batch).len(),
        1,
        "without the range: a new /24"
    );
    assert!(alerts_with(&history, &batch, &nets).is_empty());
    // Outside it: news, shown by its /24.
    batch.push(ev(
        T0 + 20 * DAY + 7300,
        "eu-west-1",
        "192.0.2.9",
        "aws-sdk-go/1.44",
        "",
    ));
    let alerts = alerts_with(&history, &batch, &nets);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].values, ["192.0.2.0/24"]);
    assert!(
        alerts[0].summary.contains("usual: corp-egress"),
        "{}",
        alerts[0].summary
    );
}

#[test]
fn a_value_peers_of_the_account_used_before_weighs_less() {
    assert_eq!(
        account_of(
            "aws-access-key:AKIAEXAMPLEEXAMPLE22",
            "arn:aws:iam::111122223333:user/ci"
        ),
        Some("111122223333")
    );
    assert_eq!(account_of("okta:00u1", ""), None);
    // Its own history in eu-west-1, then us-west-2 after learning.
    let history = normal(0..20);
    let mut batch = normal(20..21);
    batch.push(ev(
        T0 + 20 * DAY + 7200,
        "us-west-2",
        "198.51.100.7",
        "aws-sdk-go/1.44",
        "",
    ));
    let alerts = alerts_of(&history, &batch);
    assert_eq!(alerts.len(), 1);
    let me = 0;
    // A peer in the same account has used us-west-2 all along.
    let peer: Profile = {
        let mut p = tally(&normal(0..20), "peer.json")
            .profiles
            .remove(KEY)
            .unwrap();
        for r in p.regions.iter_mut() {
            r.value = "us-west-2".into();
        }
        p
    };
    let mut peers = Peers::default();
    peers.add(1, "111122223333", &peer, &Networks::default());
    let mut weighed = alerts[0].clone();
    peers.weigh(me, "111122223333", &mut weighed);
    assert_eq!(weighed.severity, "medium");
    assert!(
        weighed
            .summary
            .ends_with("1 other identity of account 111122223333 used it before"),
        "{}",
        weighed.summary
    );
    // Another account's peer says nothing about this one.
    let mut other = alerts[0].clone();
    peers.weigh(me, "444455556666", &mut other);
    assert_eq!(other.severity, "high");
    assert!(
        other.summary.ends_with("new to account 444455556666 too"),
        "{}",
        other.summary
    );
}

#[test]
fn the_embedded_table_knows_who_announces_an_address() {
    assert_eq!(asn_of("1.0.0"), Some(13335));
    assert_eq!(asn_of("4.148.0"), Some(8075));
    assert_eq!(asn_of("45.55.10"), Some(14061));
    assert_eq!(asn_of("10.0.0"), None);
    assert_eq!(asn_of(PRIVATE), None);
    assert_eq!(asn_of("2001:db8:1"), None);
}

#[test]
fn a_roaming_identity_alerts_on_a_new_operator() {
    // Hosted runners: a new Azure address (AS8075) on nearly every call.
    let ip = |d: i64, h: i64| {
        format!(
            "4.{}.{}.{}",
            150 + (d * 5 + h) % 60,
            (d * 17 + h * 3) % 256,
            h + 4
        )
    };
    let ua = |_| "aws-cli/2.15.0 Python/3.11.6".to_string();
    let history = varied(0..10, ip, ua);
    let mut batch = varied(10..14, ip, ua);
    assert!(alerts_of(&history, &batch).is_empty());
    // Private addresses were never its kind: news.
    let mut private = batch.clone();
    private.push(ev(
        T0 + 13 * DAY + 900,
        "eu-west-1",
        "10.0.0.5",
        "aws-cli/2.15.0",
        "",
    ));
    let alerts = alerts_of(&history, &private);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].summary.contains("network private"),
        "{}",
        alerts[0].summary
    );
    // A DigitalOcean droplet (AS14061): another operator.
    batch.push(ev(
        T0 + 13 * DAY + 900,
        "eu-west-1",
        "45.55.10.20",
        "aws-cli/2.15.0",
        "",
    ));
    let alerts = alerts_of(&history, &batch);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0]
            .summary
            .starts_with("first use from network AS14061 (45.55.10.20, an operator"),
        "{}",
        alerts[0].summary
    );
    assert!(
        alerts[0].summary.ends_with("usual: AS8075"),
        "{}",
        alerts[0].summary
    );
    assert_eq!(alerts[0].values, ["AS14061"]);
}

#[test]
fn identities_of_an_account_moving_together_are_one_region_shift() {
    let alert = |key: &str, account: &str, time: i64, region: &str| Raised {
        key: key.into(),
        account: Some(account.into()),
        alert: Alert {
            rule: "new-region".into(),
            severity: "high".into(),
            time,
            summary: String::new(),
            evidence: Evidence {
                source: "f.json".into(),
                at: "#/Records/0".into(),
                time,
                action: "s3:GetObject".into(),
                ip: String::new(),
                region: region.into(),
                agent: "".into(),
                error: String::new(),
            },
            values: vec![region.into()],
        },
    };
    let mut raised = vec![
        alert("k1", "111122223333", T0, "us-west-2"),
        alert("k2", "111122223333", T0 + 600, "us-west-2"),
        alert("k3", "111122223333", T0 + 1200, "us-west-2"),
        // Two hours later: not the same move.
        alert("k4", "111122223333", T0 + 7200, "us-west-2"),
        // Another account, another region: their own.
        alert("k5", "444455556666", T0, "us-west-2"),
        alert("k6", "111122223333", T0 + 60, "sa-east-1"),
    ];
    region_shifts(&mut raised, &Config::default());
    let got: Vec<(&str, &str)> = raised
        .iter()
        .map(|r| (r.key.as_str(), r.alert.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("k4", "new-region"),
            ("k5", "new-region"),
            ("k6", "new-region"),
            ("arn:aws:iam::111122223333:root", "region-shift"),
        ]
    );
    let shift = &raised[3].alert;
    assert!(
        shift
            .summary
            .starts_with("3 identities of account 111122223333 first used region us-west-2"),
        "{}",
        shift.summary
    );
    assert!(shift.summary.ends_with("k1, k2, k3"), "{}", shift.summary);
    assert_eq!(shift.time, T0);
}

#[test]
fn a_new_value_whose_call_reads_a_secret_weighs_more() {
    let history = normal(0..20);
    let mut batch = normal(20..21);
    let mut call = ev(
        T0 + 20 * DAY + 7200,
        "eu-west-1",
        "192.0.2.9",
        "aws-sdk-go/1.44",
        "",
    );
    call.service = Cow::Borrowed("secretsmanager.amazonaws.com");
    call.action = Cow::Borrowed("GetSecretValue");
    batch.push(call);
    let alerts = alerts_of(&history, &batch);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0].severity, "high",
        "new-network is medium; the call raises it"
    );
    assert!(
        alerts[0]
            .summary
            .ends_with("its first call there was secretsmanager:GetSecretValue"),
        "{}",
        alerts[0].summary
    );
}
