//! Usage profiles from audit logs, and the anomalies measured against them.
//!
//! Events stream through a [`Tally`] (one per log file, so a file that turns
//! out truncated is dropped whole); tallies [`Profile::merge`] into the stored
//! profile. Merging is commutative, so files may be read in any order and in
//! parallel, and a profile grows incrementally across ingests.
//!
//! A profile keeps aggregates only: first/last use, counts, errors and
//! denials, regions, networks (IPv4 /24, IPv6 /48, the log's own ASN, or the
//! service name a cloud writes instead of an IP), user-agent families, actions
//! per service, the hour-of-day rhythm, active days and bursts of denials. Each
//! distinct region, network, agent and subject keeps the *first event* that
//! showed it, which is the evidence of an alert about it.
//!
//! [`detect`] compares what a batch added with what was known before it
//! (documented in `docs/USAGE.md`): a value first seen after the identity's
//! learning period is new; `denied_burst` denials in one window is a burst; a
//! use after `dormant_days` without any is a dormant credential coming back.

use custody_model::event::Event;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How many distinct values of one dimension a profile keeps; beyond that
/// only counts (`overflow`).
pub const MAX_VALUES: usize = 64;
/// Active days kept (a little over a year).
pub const MAX_DAYS: usize = 400;
/// Width of a denial-burst window, seconds.
pub const WINDOW: i64 = 600;

/// The first event that showed something: where it is and what it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The log file (shared: every value a file shows first names it).
    pub source: Arc<str>,
    /// Where in it: `#/Records/17`, `L12`.
    pub at: String,
    pub time: i64,
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// The client (shared: an identity's clients repeat).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub agent: Arc<str>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// One distinct value of a dimension (a region, a network…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub value: String,
    pub count: u64,
    pub first: i64,
    pub last: i64,
    pub evidence: Evidence,
}

/// Calls of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionUse {
    /// `s3`, `iam`, `okta`…
    pub service: String,
    pub action: String,
    pub count: u64,
    pub last: i64,
    #[serde(default)]
    pub denied: u64,
}

/// One day with activity (days since 1970-01-01, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    pub day: i64,
    pub events: u64,
    /// The first event of the day.
    pub first: i64,
}

/// Denials in one [`WINDOW`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: i64,
    pub denied: u64,
    pub evidence: Evidence,
}

/// What one identity was observed doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The principal behind the identity, when the log named one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub principal: String,
    pub first: i64,
    pub last: i64,
    pub events: u64,
    pub errors: u64,
    pub denied: u64,
    pub regions: Vec<Seen>,
    pub networks: Vec<Seen>,
    pub agents: Vec<Seen>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Seen>,
    /// Where the log placed the caller, to a tenth of a degree (`lat,lon`),
    /// for logs that say (Okta, Entra).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<Seen>,
    /// The operators (AS numbers, `AS8075`) of its public IPv4 networks, from
    /// the embedded table: an identity rotating through addresses is judged
    /// by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asns: Vec<Seen>,
    /// Sorted by service, then action.
    pub actions: Vec<ActionUse>,
    /// Events per hour of the day (UTC).
    pub hours: [u64; 24],
    /// Sorted by day.
    pub days: Vec<Day>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_windows: Vec<Window>,
    /// Values not kept because a dimension was full.
    #[serde(default)]
    pub overflow: u64,
    /// Where [`Profile::add`] finds values fast; not part of the profile.
    #[serde(skip)]
    index: Index,
}

/// A lookup aid for folding events into a profile: a short hash per kept
/// value of each dimension (regions, networks, agents, subjects, places,
/// ASNs) and of each action, scanned before any text is compared.
/// Rebuilt whenever its length disagrees with its list (a profile read back
/// or merged), so it is never wrong, only sometimes cold. Equal to every
/// other index: it says nothing about the profile.
#[derive(Debug, Clone, Default)]
struct Index {
    tags: [Vec<u32>; 6],
    /// A short hash of each action (service and name), in the actions' order.
    actions: Vec<u32>,
}

impl PartialEq for Index {
    fn eq(&self, _: &Index) -> bool {
        true
    }
}

impl Eq for Index {}

/// The short hash [`Index`] keeps of a value.
fn tag(value: &str) -> u32 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    h.write(value.as_bytes());
    (h.finish() >> 32) as u32
}

/// The short hash [`Index`] keeps of an action.
fn action_tag(service: &str, action: &str) -> u32 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    h.write(service.as_bytes());
    h.write_u8(b':');
    h.write(action.as_bytes());
    (h.finish() >> 32) as u32
}

/// The group of every private address (RFC 1918, carrier-grade NAT, loopback,
/// link-local, IPv6 unique-local): a workload in a VPC or a cluster calls
/// from many of them, and which one says nothing about who is calling.
pub const PRIVATE: &str = "private";
/// The group of calls an AWS service made on the identity's behalf
/// (CloudTrail writes `lambda.amazonaws.com` or `AWS Internal` in place of an
/// address).
pub const AWS_SERVICE: &str = "aws-service";

/// The network an event came from, as custody groups addresses: the log's own
/// (an ASN), [`PRIVATE`], [`AWS_SERVICE`], or else a public IPv4 /24 or
/// IPv6 /48.
pub fn network_of<'a>(ip: &'a str, named: &'a str) -> &'a str {
    if !named.is_empty() {
        return named;
    }
    if ip.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && ip.bytes().filter(|&b| b == b'.').count() == 3
    {
        let mut octets = ip.split('.').map(|o| o.parse::<u16>().unwrap_or(256));
        let (a, b) = (octets.next().unwrap_or(256), octets.next().unwrap_or(256));
        let private = a == 10
            || a == 127
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 100 && (64..128).contains(&b))
            || (a == 169 && b == 254);
        if private {
            return PRIVATE;
        }
        return ip.rfind('.').map_or(ip, |i| &ip[..i]);
    }
    if ip.contains(':')
        && ip
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    {
        if let Ok(a) = ip.parse::<std::net::Ipv6Addr>() {
            let first = a.segments()[0];
            if a.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80 {
                return PRIVATE;
            }
        }
        let mut colons = 0;
        for (i, b) in ip.bytes().enumerate() {
            if b == b':' {
                colons += 1;
                if colons == 3 {
                    return &ip[..i];
                }
            }
        }
    }
    if is_aws_service(ip) {
        return AWS_SERVICE;
    }
    ip
}

/// `lambda.amazonaws.com`, `AWS Internal`: an AWS service acting for the
/// identity (not the console, which a person uses).
fn is_aws_service(v: &str) -> bool {
    v == "AWS Internal"
        || (v.ends_with(".amazonaws.com")
            && !v.starts_with("console.")
            && !v.starts_with("signin."))
}

/// What kind of network a value is: `private`, `aws-service`, `asn`,
/// `public` (an IPv4 /24 or IPv6 /48) or `named` (a range of
/// [`Networks`], or a name a log writes in place of an address).
pub fn network_kind(value: &str) -> &'static str {
    match value {
        PRIVATE => "private",
        AWS_SERVICE => "aws-service",
        v if v.len() > 2 && v.starts_with("AS") && v[2..].bytes().all(|b| b.is_ascii_digit()) => {
            "asn"
        }
        v if is_v4_24(v) || is_v6_48(v) => "public",
        _ => "named",
    }
}

fn is_v4_24(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_digit() || b == b'.') && v.matches('.').count() == 2
}

fn is_v6_48(v: &str) -> bool {
    v.contains(':')
        && v.matches(':').count() == 2
        && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
}

/// Every routed IPv4 range with the AS that announces it (see
/// `data/asn/README.md` for origin and licence), decoded on first use.
struct Asns {
    /// First address, last address, AS number; sorted, disjoint.
    ranges: Vec<(u32, u32, u32)>,
}

static ASN_DATA: &[u8] = include_bytes!("../data/asn/asn-ipv4.bin.gz");

fn asns() -> &'static Asns {
    static TABLE: std::sync::OnceLock<Asns> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| decode_asns(ASN_DATA).unwrap_or(Asns { ranges: Vec::new() }))
}

fn decode_asns(gz: &[u8]) -> Option<Asns> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .ok()?;
    let mut rest = raw.strip_prefix(b"CUSTODY-ASN4\n".as_slice())?;
    let mut varint = || -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, r) = rest.split_first()?;
            rest = r;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    };
    let count = usize::try_from(varint()?).ok()?;
    let mut gaps = Vec::with_capacity(count);
    for _ in 0..count {
        gaps.push(varint()?);
    }
    let mut sizes = Vec::with_capacity(count);
    for _ in 0..count {
        sizes.push(varint()?);
    }
    let mut ranges = Vec::with_capacity(count);
    let mut next = 0u64;
    for (gap, size) in gaps.into_iter().zip(sizes) {
        let first = next + gap;
        let last = first + size;
        let asn = u32::try_from(varint()?).ok()?;
        ranges.push((u32::try_from(first).ok()?, u32::try_from(last).ok()?, asn));
        next = last + 1;
    }
    Some(Asns { ranges })
}

/// The AS announcing a public network value (an IPv4 /24 `198.51.100`),
/// from the embedded table; `None` for IPv6 and unrouted addresses.
pub fn asn_of(value: &str) -> Option<u32> {
    if !is_v4_24(value) {
        return None;
    }
    // The /24's three octets, as `Ipv4Addr` parses them (no leading zeros).
    let mut a = 0u32;
    let mut octets = value.split('.');
    for _ in 0..3 {
        let o = octets.next()?;
        if o.is_empty() || (o.len() > 1 && o.starts_with('0')) {
            return None;
        }
        a = a << 8 | u32::from(o.parse::<u8>().ok()?);
    }
    if octets.next().is_some() {
        return None;
    }
    let a = a << 8;
    let t = &asns().ranges;
    let i = t.partition_point(|r| r.0 <= a).checked_sub(1)?;
    let (first, last, asn) = t[i];
    (first <= a && a <= last).then_some(asn)
}

/// Named address ranges (a corporate egress, NAT gateways, a cloud's or CI
/// provider's published ranges): a profile's networks that fall in one are
/// judged as that one network. Profiles keep IPv4 /24s and IPv6 /48s, so a
/// range narrower than that names its whole /24 (or /48).
#[derive(Debug, Default, Clone)]
pub struct Networks {
    /// Per prefix length (≤ 24), network bits → name index.
    v4: Vec<(u8, HashMap<u32, usize>)>,
    /// Per prefix length (≤ 48), network bits → name index.
    v6: Vec<(u8, HashMap<u128, usize>)>,
    names: Vec<String>,
}

pub use custody_model::net::parse_cidr;

impl Networks {
    /// From (CIDR, name) pairs; the first pair that is not a CIDR is the error.
    pub fn new<'a>(
        ranges: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Networks, String> {
        let mut n = Networks::default();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (cidr, name) in ranges {
            let (ip, len) = parse_cidr(cidr).ok_or_else(|| {
                format!("`{cidr}` (range `{name}`) is not an address range (CIDR)")
            })?;
            let i = *index.entry(name).or_insert_with(|| {
                n.names.push(name.to_string());
                n.names.len() - 1
            });
            match ip {
                std::net::IpAddr::V4(a) => {
                    let len = len.min(24);
                    let bits = u32::from(a).checked_shr(32 - u32::from(len)).unwrap_or(0);
                    insert(&mut n.v4, len, bits, i);
                }
                std::net::IpAddr::V6(a) => {
                    let len = len.min(48);
                    let bits = u128::from(a).checked_shr(128 - u32::from(len)).unwrap_or(0);
                    insert(&mut n.v6, len, bits, i);
                }
            }
        }
        // Most specific first.
        n.v4.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
        n.v6.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
        Ok(n)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The most specific named range holding a profile's network value (an
    /// IPv4 /24 `198.51.100` or IPv6 /48 `2001:db8:1`).
    pub fn name_of(&self, value: &str) -> Option<&str> {
        let i = if is_v4_24(value) {
            let a: std::net::Ipv4Addr = format!("{value}.0").parse().ok()?;
            let a = u32::from(a);
            self.v4.iter().find_map(|(len, m)| {
                m.get(&a.checked_shr(32 - u32::from(*len)).unwrap_or(0))
                    .copied()
            })?
        } else if is_v6_48(value) {
            let a: std::net::Ipv6Addr = format!("{value}::").parse().ok()?;
            let a = u128::from(a);
            self.v6.iter().find_map(|(len, m)| {
                m.get(&a.checked_shr(128 - u32::from(*len)).unwrap_or(0))
                    .copied()
            })?
        } else {
            return None;
        };
        Some(&self.names[i])
    }

    /// [`Networks::group`], borrowing the list as it is when no range is loaded.
    pub fn grouped<'p>(&self, list: &'p [Seen]) -> std::borrow::Cow<'p, [Seen]> {
        if self.is_empty() {
            std::borrow::Cow::Borrowed(list)
        } else {
            std::borrow::Cow::Owned(self.group(list))
        }
    }

    /// A profile's networks with those in a named range merged into it
    /// (counts added, the earliest first use and its evidence kept).
    pub fn group(&self, list: &[Seen]) -> Vec<Seen> {
        let mut out: Vec<Seen> = Vec::with_capacity(list.len());
        for s in list {
            let value = self.name_of(&s.value).unwrap_or(&s.value);
            match out.iter_mut().find(|o| o.value == value) {
                Some(o) => {
                    o.count += s.count;
                    o.last = o.last.max(s.last);
                    if s.first < o.first {
                        o.first = s.first;
                        o.evidence = s.evidence.clone();
                    }
                }
                None => out.push(Seen {
                    value: value.to_string(),
                    ..s.clone()
                }),
            }
        }
        out
    }
}

fn insert<K: std::hash::Hash + Eq>(
    by_len: &mut Vec<(u8, HashMap<K, usize>)>,
    len: u8,
    bits: K,
    name: usize,
) {
    let m = match by_len.iter().position(|(l, _)| *l == len) {
        Some(i) => &mut by_len[i].1,
        None => {
            by_len.push((len, HashMap::new()));
            &mut by_len.last_mut().expect("just pushed").1
        }
    };
    // The first name given for a range keeps it.
    m.entry(bits).or_insert(name);
}

/// How a network value is shown: `203.0.113.0/24`, `2001:db8:1::/48`, `AS7018`.
pub fn show_network(value: &str) -> String {
    if is_v4_24(value) {
        format!("{value}.0/24")
    } else if is_v6_48(value) {
        format!("{value}::/48")
    } else {
        value.to_string()
    }
}

/// The family of a user agent: its first product token (`aws-cli`, `Boto3`,
/// `aws-sdk-go`, `terraform`, `Mozilla`, `console.amazonaws.com`), so a
/// version bump is not a new client. A major-version suffix is the same tool
/// (`aws-sdk-go-v2` is `aws-sdk-go`), Botocore is Boto3's core, and an AWS
/// service acting for the identity is [`AWS_SERVICE`].
pub fn agent_family(ua: &str) -> &str {
    let mut ua = ua.trim_start_matches(['[', ' ']);
    if is_aws_service(ua.trim_end()) {
        return AWS_SERVICE;
    }
    // Terraform's AWS provider announces itself after partner tokens.
    while let Some(rest) = ["APN/", "HashiCorp/"].iter().find_map(|p| {
        ua.strip_prefix(p)
            .and_then(|r| r.split_once(' '))
            .map(|(_, r)| r)
    }) {
        ua = rest.trim_start();
    }
    let end = ua.find(['/', ' ', ']', ',', ';', '(']).unwrap_or(ua.len());
    let mut family = &ua[..end];
    if is_aws_service(family) {
        return AWS_SERVICE;
    }
    if family.eq_ignore_ascii_case("botocore") || family.eq_ignore_ascii_case("boto3") {
        return "Boto3";
    }
    // `aws-sdk-go-v2`, `aws-sdk-java-v2`: the next major version of one tool.
    if let Some(i) = family.rfind("-v") {
        if i > 0 && family[i + 2..].bytes().all(|b| b.is_ascii_digit()) && family.len() > i + 2 {
            family = &family[..i];
        }
    }
    family
}

/// The short service name: `s3.amazonaws.com` → `s3`.
pub fn service_of(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}

impl Profile {
    fn new(time: i64) -> Profile {
        Profile {
            first: time,
            last: time,
            ..Profile::default()
        }
    }

    /// Folds one event in. `evidence` is called only when the event is the first
    /// of something (a new region, a new window…).
    fn add(&mut self, ev: &Event<'_>, evidence: &mut dyn FnMut(&Event<'_>) -> Evidence) {
        let t = ev.time;
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        self.events += 1;
        if self.principal.is_empty() && !ev.principal.is_empty() {
            self.principal = capped(&ev.principal).into_owned();
        }
        if !ev.error.is_empty() {
            self.errors += 1;
        }
        let hour = t.rem_euclid(86_400) / 3600;
        self.hours[hour as usize] += 1;
        let day = t.div_euclid(86_400);
        match self.days.last_mut() {
            Some(d) if d.day == day => {
                d.events += 1;
                d.first = d.first.min(t);
            }
            _ => add_day(
                &mut self.days,
                Day {
                    day,
                    events: 1,
                    first: t,
                },
            ),
        }
        let overflow = &mut self.overflow;
        let [t_regions, t_networks, t_agents, t_subjects, t_places, t_asns] = &mut self.index.tags;
        let mut see = |list: &mut Vec<Seen>, tags: &mut Vec<u32>, value: &str| {
            see(list, tags, value, t, ev, evidence, overflow)
        };
        see(&mut self.regions, t_regions, &ev.region);
        let network = network_of(&ev.source_ip, &ev.network);
        let known = see(&mut self.networks, t_networks, network);
        // A public network not seen before (or not kept: the list is full):
        // its operator, so an identity that rotates through addresses is
        // judged by who announces them.
        if !known {
            if let Some(asn) = asn_of(network) {
                see(
                    &mut self.asns,
                    t_asns,
                    Small::of(format_args!("AS{asn}")).as_str(),
                );
            }
        }
        see(&mut self.agents, t_agents, agent_family(&ev.user_agent));
        if !ev.subject.is_empty() {
            see(&mut self.subjects, t_subjects, &ev.subject);
        }
        if let Some((lat, lon)) = ev.geo {
            let place = Small::of(format_args!("{lat:.1},{lon:.1}"));
            see(&mut self.places, t_places, place.as_str());
        }
        let service = &*capped(service_of(&ev.service));
        let action = &*capped(&ev.action);
        let tags = &mut self.index.actions;
        if tags.len() != self.actions.len() {
            *tags = self
                .actions
                .iter()
                .map(|a| action_tag(&a.service, &a.action))
                .collect();
        }
        let h = action_tag(service, action);
        let hit = |a: &ActionUse| a.service == service && a.action == action;
        let found = match tags.iter().position(|&x| x == h) {
            Some(i) if hit(&self.actions[i]) => Ok(i),
            _ => self.actions.binary_search_by(|a| {
                (a.service.as_str(), a.action.as_str()).cmp(&(service, action))
            }),
        };
        let i = match found {
            Ok(i) => i,
            Err(i) if self.actions.len() < MAX_VALUES * 8 => {
                self.index.actions.insert(i, h);
                self.actions.insert(
                    i,
                    ActionUse {
                        service: service.to_string(),
                        action: action.to_string(),
                        count: 0,
                        last: t,
                        denied: 0,
                    },
                );
                i
            }
            Err(_) => {
                self.overflow += 1;
                usize::MAX
            }
        };
        if let Some(a) = self.actions.get_mut(i) {
            a.count += 1;
            a.last = a.last.max(t);
            a.denied += u64::from(ev.denied);
        }
        if ev.denied {
            self.denied += 1;
            let start = t - t.rem_euclid(WINDOW);
            match self.denied_windows.iter_mut().find(|w| w.start == start) {
                Some(w) => {
                    w.denied += 1;
                    if t < w.evidence.time {
                        w.evidence = evidence(ev);
                    }
                }
                None => self.denied_windows.push(Window {
                    start,
                    denied: 1,
                    evidence: evidence(ev),
                }),
            }
        }
    }

    /// Adds another profile of the same identity (another file, an earlier
    /// ingest). Commutative and associative.
    pub fn merge(&mut self, other: &Profile) {
        if self.events == 0 {
            *self = other.clone();
            return;
        }
        // Only what this profile takes from the other is copied: a value it
        // already holds brings its counts, and its evidence only if earlier.
        let seen = |mine: &[Seen], theirs: &[Seen]| -> Vec<Seen> {
            theirs
                .iter()
                .map(|s| match mine.iter().find(|m| m.value == s.value) {
                    Some(m) if s.first >= m.first => Seen {
                        value: s.value.clone(),
                        count: s.count,
                        first: s.first,
                        last: s.last,
                        evidence: Evidence::default(),
                    },
                    _ => s.clone(),
                })
                .collect()
        };
        let other = Profile {
            principal: if self.principal.is_empty() {
                other.principal.clone()
            } else {
                String::new()
            },
            first: other.first,
            last: other.last,
            events: other.events,
            errors: other.errors,
            denied: other.denied,
            regions: seen(&self.regions, &other.regions),
            networks: seen(&self.networks, &other.networks),
            agents: seen(&self.agents, &other.agents),
            subjects: seen(&self.subjects, &other.subjects),
            places: seen(&self.places, &other.places),
            asns: seen(&self.asns, &other.asns),
            actions: other.actions.clone(),
            hours: other.hours,
            days: other.days.clone(),
            denied_windows: other.denied_windows.clone(),
            overflow: other.overflow,
            index: Index::default(),
        };
        self.absorb(other);
    }

    /// Every text the profile holds, for scrubbing before it is stored:
    /// `f` returns a replacement for a text that must change.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&str) -> Option<String>) {
        let text = |t: &mut String, f: &mut dyn FnMut(&str) -> Option<String>| {
            if let Some(r) = f(t) {
                *t = r;
            }
        };
        let shared = |t: &mut Arc<str>, f: &mut dyn FnMut(&str) -> Option<String>| {
            if let Some(r) = f(t) {
                *t = r.into();
            }
        };
        // Values may change in place: the index is rebuilt from them.
        self.index = Index::default();
        text(&mut self.principal, f);
        let evidence = |e: &mut Evidence, f: &mut dyn FnMut(&str) -> Option<String>| {
            shared(&mut e.source, f);
            shared(&mut e.agent, f);
            for t in [
                &mut e.at,
                &mut e.action,
                &mut e.ip,
                &mut e.region,
                &mut e.error,
            ] {
                text(t, f);
            }
        };
        for list in [
            &mut self.regions,
            &mut self.networks,
            &mut self.agents,
            &mut self.subjects,
            &mut self.places,
            &mut self.asns,
        ] {
            for s in list {
                text(&mut s.value, f);
                evidence(&mut s.evidence, f);
            }
        }
        for a in &mut self.actions {
            text(&mut a.service, f);
            text(&mut a.action, f);
        }
        for w in &mut self.denied_windows {
            evidence(&mut w.evidence, f);
        }
    }

    /// [`Profile::merge`] taking the other profile: its values move in
    /// instead of being copied (a run merges one tally per log file).
    pub fn absorb(&mut self, other: Profile) {
        if self.events == 0 {
            *self = other;
            return;
        }
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.events += other.events;
        self.errors += other.errors;
        self.denied += other.denied;
        self.overflow += other.overflow;
        if self.principal.is_empty() {
            self.principal = other.principal;
        }
        for (h, o) in self.hours.iter_mut().zip(other.hours) {
            *h += o;
        }
        let overflow = &mut self.overflow;
        for (mine, theirs) in [
            (&mut self.regions, other.regions),
            (&mut self.networks, other.networks),
            (&mut self.agents, other.agents),
            (&mut self.subjects, other.subjects),
            (&mut self.places, other.places),
            (&mut self.asns, other.asns),
        ] {
            for s in theirs {
                if let Some(m) = mine.iter_mut().find(|m| m.value == s.value) {
                    m.count += s.count;
                    m.last = m.last.max(s.last);
                    if s.first < m.first {
                        m.first = s.first;
                        m.evidence = s.evidence;
                    }
                } else if mine.len() < MAX_VALUES {
                    mine.push(s);
                } else {
                    *overflow += s.count;
                }
            }
        }
        for a in other.actions {
            match self.actions.binary_search_by(|m| {
                (m.service.as_str(), m.action.as_str()).cmp(&(&a.service, &a.action))
            }) {
                Ok(i) => {
                    let m = &mut self.actions[i];
                    m.count += a.count;
                    m.denied += a.denied;
                    m.last = m.last.max(a.last);
                }
                Err(i) => self.actions.insert(i, a),
            }
        }
        for d in other.days {
            add_day(&mut self.days, d);
        }
        for w in other.denied_windows {
            match self.denied_windows.iter_mut().find(|m| m.start == w.start) {
                Some(m) => {
                    m.denied += w.denied;
                    if w.evidence.time < m.evidence.time {
                        m.evidence = w.evidence;
                    }
                }
                None => self.denied_windows.push(w),
            }
        }
        self.denied_windows.sort_by_key(|w| w.start);
    }
}

fn add_day(days: &mut Vec<Day>, d: Day) {
    match days.binary_search_by_key(&d.day, |x| x.day) {
        Ok(i) => {
            days[i].events += d.events;
            days[i].first = days[i].first.min(d.first);
        }
        Err(i) => {
            days.insert(i, d);
            if days.len() > MAX_DAYS {
                days.remove(0);
            }
        }
    }
}

/// The longest text a profile keeps of one value (a region, network, client,
/// action, error…): a log can put anything in a field, a 200 MB user agent
/// included; longer values are cut with a marker.
pub const MAX_TEXT: usize = 512;

/// `text`, cut to [`MAX_TEXT`] bytes (on a character boundary) with a marker
/// saying how much was dropped.
pub fn capped(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_TEXT {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{}…[{} more bytes]",
        &text[..end],
        text.len() - end
    ))
}

fn see(
    list: &mut Vec<Seen>,
    tags: &mut Vec<u32>,
    value: &str,
    t: i64,
    ev: &Event<'_>,
    evidence: &mut dyn FnMut(&Event<'_>) -> Evidence,
    overflow: &mut u64,
) -> bool {
    if value.is_empty() {
        return true;
    }
    let value = &*capped(value);
    if tags.len() != list.len() {
        *tags = list.iter().map(|s| tag(&s.value)).collect();
    }
    let h = tag(value);
    let at = match tags.iter().position(|&x| x == h) {
        Some(i) if list[i].value == value => Some(i),
        // Two values with one tag: compare the texts.
        Some(_) => list.iter().position(|s| s.value == value),
        None => None,
    };
    if let Some(s) = at.map(|i| &mut list[i]) {
        s.count += 1;
        s.last = s.last.max(t);
        if t < s.first {
            s.first = t;
            s.evidence = evidence(ev);
        }
        return true;
    }
    if list.len() >= MAX_VALUES {
        *overflow += 1;
        return false;
    }
    list.push(Seen {
        value: value.to_string(),
        count: 1,
        first: t,
        last: t,
        evidence: evidence(ev),
    });
    tags.push(h);
    false
}

/// A short text formatted on the stack (an `AS` number, a place); one
/// that does not fit goes to the heap.
#[derive(Default)]
struct Small {
    buf: [u8; 32],
    len: usize,
    long: Option<String>,
}

impl Small {
    fn of(args: fmt::Arguments<'_>) -> Small {
        let mut s = Small::default();
        if fmt::Write::write_fmt(&mut s, args).is_err() {
            s.long = Some(fmt::format(args));
        }
        s
    }

    fn as_str(&self) -> &str {
        match &self.long {
            Some(l) => l,
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

impl fmt::Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// FxHash (rustc's): identity keys are short and come from the systems'
/// own logs, so a fast hash beats SipHash's flooding resistance here; it is
/// a quarter of the cost of folding in an event.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Profiles by identity key.
pub type ProfileMap = HashMap<String, Profile, std::hash::BuildHasherDefault<FxHasher>>;

/// The profiles of one log file (or any batch of events), by identity key.
#[derive(Debug, Default)]
pub struct Tally {
    pub profiles: ProfileMap,
    pub events: u64,
    key: String,
    /// The file being read, shared by the evidence it gives.
    source: Option<Arc<str>>,
    /// Clients seen, shared by the evidence that names them.
    agents: HashMap<String, Arc<str>, std::hash::BuildHasherDefault<FxHasher>>,
}

impl Tally {
    /// Folds in one event with an actor. `at` says where it is in `source`
    /// (formatted only when it becomes evidence).
    pub fn add(&mut self, ev: &Event<'_>, source: &str, at: &dyn fmt::Display) {
        self.events += 1;
        self.key.clear();
        self.key.push_str(ev.actor_prefix);
        self.key.push_str(&capped(&ev.actor));
        let Tally {
            profiles,
            key,
            source: shared_source,
            agents,
            ..
        } = self;
        let p = match profiles.get_mut(key.as_str()) {
            Some(p) => p,
            None => profiles
                .entry(key.clone())
                .or_insert_with(|| Profile::new(ev.time)),
        };
        p.add(ev, &mut |ev| {
            let source = match shared_source {
                Some(s) if **s == *source => s.clone(),
                _ => shared_source.insert(Arc::from(source)).clone(),
            };
            let agent = capped(&ev.user_agent);
            let agent = match agents.get(&*agent) {
                Some(a) => a.clone(),
                None => {
                    let a: Arc<str> = Arc::from(&*agent);
                    agents.insert(agent.into_owned(), a.clone());
                    a
                }
            };
            Evidence {
                source,
                at: at.to_string(),
                time: ev.time,
                action: capped(&format!("{}:{}", service_of(&ev.service), ev.action)).into_owned(),
                ip: capped(&ev.source_ip).into_owned(),
                region: capped(&ev.region).into_owned(),
                agent,
                error: capped(&ev.error).into_owned(),
            }
        });
    }

    /// Adds another tally: the files read after this one's.
    pub fn merge(&mut self, other: Tally) {
        self.events += other.events;
        if self.profiles.is_empty() {
            self.profiles = other.profiles;
            return;
        }
        for (k, p) in other.profiles {
            match self.profiles.get_mut(&k) {
                Some(mine) => mine.absorb(p),
                None => {
                    self.profiles.insert(k, p);
                }
            }
        }
    }
}

/// Thresholds of [`detect`]; the defaults are documented in `docs/USAGE.md`.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// After an identity's first use, how long its normal is learned before a
    /// new region, network or agent is an anomaly (seconds).
    pub learning: i64,
    /// Denials in one [`WINDOW`] that make a burst.
    pub denied_burst: u64,
    /// Days without use after which a use is a dormant identity coming back.
    pub dormant_days: i64,
    /// Faster than this between two places (km/h, over more than
    /// `travel_min_km`) is impossible travel.
    pub travel_kmh: f64,
    pub travel_min_km: f64,
    /// An identity that used this many public networks in its learning
    /// period rotates through addresses (CI runners, Lambda, NAT pools): a
    /// new public network is not news for it, only a new kind of network is
    /// (see [`network_kind`]).
    pub roaming_networks: usize,
    /// This many identities of one account first using one region within
    /// `shift_window` seconds is one region shift, not that many new regions.
    pub shift_identities: usize,
    pub shift_window: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            learning: 7 * 86_400,
            denied_burst: 20,
            dormant_days: 60,
            travel_kmh: 1000.0,
            travel_min_km: 500.0,
            roaming_networks: 5,
            shift_identities: 3,
            shift_window: 3600,
        }
    }
}

/// An anomaly, with the event that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `new-region`, `new-network`, `new-user-agent`, `denied-burst`, `dormant-reuse`…
    pub rule: String,
    pub severity: String,
    /// When it happened (the evidence event's time).
    pub time: i64,
    /// One line: what is unusual, against what baseline.
    pub summary: String,
    pub evidence: Evidence,
    /// The new values, as shown (a region, `198.51.100.0/24`, `private`, a
    /// client family): what an operator can accept for the identity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The alert rules, with their severity and what each means.
pub const RULES: &[(&str, &str, &str)] = &[
    (
        "new-region",
        "high",
        "used from a region it had not used after its learning period",
    ),
    (
        "new-network",
        "medium",
        "used from a network it had not used after its learning period (private addresses are one network, AWS services acting for it another, else the log's ASN or a public /24 or /48; for an identity that rotated through public networks while learned, only a new kind of network)",
    ),
    (
        "new-user-agent",
        "medium",
        "used by a client family (user agent's product, not its version) it had not used after its learning period",
    ),
    (
        "denied-burst",
        "high",
        "a burst of access-denied errors in ten minutes: enumeration of its permissions",
    ),
    (
        "region-shift",
        "high",
        "one of several identities of one AWS account that first used the same region within an hour: a regional failover, or credentials used together (one alert for the account, naming them)",
    ),
    ("dormant-reuse", "high", "used again after a long dormancy"),
    ("impossible-travel", "high", "used from two places farther apart than anyone can travel in the time between (logs with geolocation: Okta, Entra)"),
    (
        "used-after-owner-left",
        "critical",
        "used after its owner left the company",
    ),
    (
        "leaked-credential-used",
        "critical",
        "used after it was found in a leaked location (git history, a file)",
    ),
];

pub fn severity_of(rule: &str) -> &'static str {
    RULES.iter().find(|r| r.0 == rule).map_or("medium", |r| r.1)
}

fn lat_lon(v: &str) -> Option<(f64, f64)> {
    let (a, b) = v.split_once(',')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Great-circle distance (haversine, mean Earth radius).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// The account an identity belongs to: of its ARN, or of the principal its
/// profile names (an access key's user).
pub fn account_of<'a>(key: &'a str, principal: &'a str) -> Option<&'a str> {
    [key, principal]
        .into_iter()
        .filter(|k| k.starts_with("arn:aws:"))
        .find_map(|k| k.split(':').nth(4).filter(|a| !a.is_empty()))
}

/// What the identities of each account used, per novelty rule and value (as
/// alerts show it), with when each first used it: an alert's value that
/// another identity of the account already used is less rare than one no
/// one there ever used.
#[derive(Debug, Default)]
pub struct Peers {
    accounts: HashMap<String, u32>,
    /// (account, rule, value) → (identity, its first use).
    by: HashMap<(u32, u8, String), Vec<(u32, i64)>>,
}

const PEER_RULES: [&str; 3] = ["new-region", "new-network", "new-user-agent"];

impl Peers {
    /// Adds one identity's profile (after this batch); `identity` is the
    /// caller's number for it.
    pub fn add(&mut self, identity: u32, account: &str, after: &Profile, networks: &Networks) {
        let n = self.accounts.len() as u32;
        let account = *self.accounts.entry(account.to_string()).or_insert(n);
        let nets = networks.grouped(&after.networks);
        let dims: [&[Seen]; 3] = [&after.regions, &nets, &after.agents];
        for (rule, list) in dims.into_iter().enumerate() {
            for s in list {
                let value = if rule == 1 {
                    show_network(&s.value)
                } else {
                    s.value.clone()
                };
                self.by
                    .entry((account, rule as u8, value))
                    .or_default()
                    .push((identity, s.first));
            }
        }
    }

    /// Weighs a novelty alert by the identity's peers: when other identities
    /// of the account used every one of its values before it did, the alert
    /// is one severity lower and says how many; when none did, it says the
    /// value is new to the account too.
    pub fn weigh(&self, identity: u32, account: &str, alert: &mut Alert) {
        if alert.values.is_empty() {
            return;
        }
        let Some(rule) = PEER_RULES.iter().position(|r| *r == alert.rule) else {
            return;
        };
        let acct = self.accounts.get(account).copied();
        let others = |v: &String| -> usize {
            acct.and_then(|a| self.by.get(&(a, rule as u8, v.clone())))
                .map_or(0, |l| {
                    l.iter()
                        .filter(|(who, first)| *who != identity && *first < alert.time)
                        .count()
                })
        };
        let counts: Vec<usize> = alert.values.iter().map(others).collect();
        if counts.iter().all(|&n| n > 0) {
            let fewest = counts.iter().copied().min().unwrap_or(0);
            alert.severity = match alert.severity.as_str() {
                "critical" => "high",
                "high" => "medium",
                _ => "low",
            }
            .into();
            alert.summary.push_str(&format!(
                "; {fewest} other identit{} of account {account} used it before",
                if fewest == 1 { "y" } else { "ies" }
            ));
        } else if counts.iter().all(|&n| n == 0) {
            alert
                .summary
                .push_str(&format!("; new to account {account} too"));
        }
    }
}

/// AWS calls that read secrets, change who can do what, or blind the
/// defenders (action prefixes, `service:Action` as profiles write them).
pub const SENSITIVE_ACTIONS: &[&str] = &[
    "iam:Create",
    "iam:Put",
    "iam:Attach",
    "iam:Update",
    "iam:Add",
    "iam:Delete",
    "sts:AssumeRole",
    "sts:GetFederationToken",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "kms:Decrypt",
    "organizations:",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
    "guardduty:Delete",
    "ec2:CreateKeyPair",
    "ec2:ImportKeyPair",
    "lambda:UpdateFunctionCode",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
];

/// What the anomalous call touched: a novelty alert whose evidence call is
/// one of [`SENSITIVE_ACTIONS`] is one severity higher, and says so.
fn weigh_touched(alert: &mut Alert) {
    let action = alert.evidence.action.as_str();
    if !SENSITIVE_ACTIONS.iter().any(|p| action.starts_with(p)) {
        return;
    }
    alert.severity = match alert.severity.as_str() {
        "low" => "medium",
        "medium" => "high",
        _ => "critical",
    }
    .into();
    alert
        .summary
        .push_str(&format!("; its first call there was {action}"));
}

/// An alert about an identity, with the account it belongs to.
#[derive(Debug, Clone)]
pub struct Raised {
    pub key: String,
    pub account: Option<String>,
    pub alert: Alert,
}

/// Folds new-region alerts that are one move into one `region-shift` alert:
/// when [`Config::shift_identities`] or more identities of an account first
/// used the same region within [`Config::shift_window`] of the first of
/// them, their alerts are replaced by one about the account
/// (`arn:aws:iam::<account>:root`) that names them all.
pub fn region_shifts(raised: &mut Vec<Raised>, cfg: &Config) {
    let mut groups: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, r) in raised.iter().enumerate() {
        if let (Some(account), "new-region", [value]) =
            (&r.account, r.alert.rule.as_str(), r.alert.values.as_slice())
        {
            groups.entry((account, value)).or_default().push(i);
        }
    }
    let mut drop = Vec::new();
    let mut shifts = Vec::new();
    for ((account, region), mut members) in groups {
        members.sort_by_key(|&i| (raised[i].alert.time, raised[i].key.clone()));
        let mut start = 0;
        while start < members.len() {
            let t0 = raised[members[start]].alert.time;
            let end = members[start..]
                .iter()
                .position(|&i| raised[i].alert.time - t0 > cfg.shift_window)
                .map_or(members.len(), |n| start + n);
            let cluster = &members[start..end];
            if cluster.len() >= cfg.shift_identities {
                let first = &raised[cluster[0]];
                let names: Vec<&str> = cluster.iter().map(|&i| raised[i].key.as_str()).collect();
                shifts.push(Raised {
                    key: format!("arn:aws:iam::{account}:root"),
                    account: Some(account.to_string()),
                    alert: Alert {
                        rule: "region-shift".into(),
                        severity: severity_of("region-shift").into(),
                        time: t0,
                        summary: format!(
                            "{} identities of account {account} first used region {region} within {} minutes (a regional failover, or credentials used together): {}{}",
                            cluster.len(),
                            cfg.shift_window / 60,
                            names.iter().take(10).copied().collect::<Vec<_>>().join(", "),
                            if names.len() > 10 { " …" } else { "" }
                        ),
                        evidence: first.alert.evidence.clone(),
                        values: vec![region.to_string()],
                    },
                });
                drop.extend_from_slice(cluster);
            }
            start = end;
        }
    }
    drop.sort_unstable();
    for i in drop.into_iter().rev() {
        raised.remove(i);
    }
    shifts.sort_by_key(|s| (s.alert.time, s.key.clone()));
    raised.extend(shifts);
}

/// A novelty rule, what it judges, and that dimension before, in the batch and after.
type Dimension<'a> = (
    &'static str,
    &'static str,
    Option<&'a [Seen]>,
    &'a [Seen],
    &'a [Seen],
);

/// The alerts `delta` (what a batch of logs added) raises against `before`
/// (what was known until then; `None` for a new identity). `after` is the two
/// merged. Deterministic and independent of the order files were read in.
pub fn detect(
    before: Option<&Profile>,
    delta: &Profile,
    after: &Profile,
    cfg: &Config,
    networks: &Networks,
) -> Vec<Alert> {
    let mut out = Vec::new();
    let learned = after.first + cfg.learning;
    // Networks in a named range are that one network.
    let (net_before, net_delta, net_after) = (
        before.map(|b| networks.grouped(&b.networks)),
        networks.grouped(&delta.networks),
        networks.grouped(&after.networks),
    );
    let dims: [Dimension<'_>; 3] = [
        (
            "new-region",
            "region",
            before.map(|b| b.regions.as_slice()),
            &delta.regions,
            &after.regions,
        ),
        (
            "new-network",
            "network",
            net_before.as_deref(),
            &net_delta,
            &net_after,
        ),
        (
            "new-user-agent",
            "user agent",
            before.map(|b| b.agents.as_slice()),
            &delta.agents,
            &after.agents,
        ),
    ];
    // An identity that rotated through public networks while it was learned.
    let roaming = net_after
        .iter()
        .filter(|s| s.first <= learned && network_kind(&s.value) == "public")
        .count()
        >= cfg.roaming_networks;
    for (rule, what, in_before, in_delta, in_after) in dims {
        let known: Vec<&str> = in_before
            .map(|b| b.iter().map(|s| s.value.as_str()).collect())
            .unwrap_or_default();
        let mut new: Vec<&Seen> = in_delta
            .iter()
            .filter(|s| s.first > learned && !known.contains(&s.value.as_str()))
            // An AWS service acting for the identity (CloudFormation, Lambda…)
            // is where it is deployed, not where it is called from.
            .filter(|s| s.value != AWS_SERVICE)
            .filter(|s| {
                // A roaming identity's new public network is one more of its
                // rotating addresses (its operators are judged below), unless
                // it never called from public ones.
                !(rule == "new-network"
                    && roaming
                    && network_kind(&s.value) == "public"
                    && in_after
                        .iter()
                        .any(|o| o.first < s.first && network_kind(&o.value) == "public"))
            })
            .collect();
        // A roaming identity is judged by the operators of its addresses: a
        // new one after learning (with others before it) is a new network.
        if rule == "new-network" && roaming {
            let known: Vec<&str> = before
                .map(|b| b.asns.iter().map(|s| s.value.as_str()).collect())
                .unwrap_or_default();
            new.extend(delta.asns.iter().filter(|s| {
                s.first > learned
                    && !known.contains(&s.value.as_str())
                    && after.asns.iter().any(|o| o.first < s.first)
            }));
        }
        // One alert per identity and rule for what this batch added: the
        // earliest new value is the evidence, the others are counted.
        new.sort_by(|a, b| (a.first, &a.value).cmp(&(b.first, &b.value)));
        let Some(s) = new.first() else {
            continue;
        };
        let shown = |v: &str| {
            if rule == "new-network" {
                show_network(v)
            } else {
                v.to_string()
            }
        };
        // The baseline: values seen before the first new one appeared.
        // An operator is compared with the identity's operators.
        let by_operator = rule == "new-network" && roaming && network_kind(&s.value) == "asn";
        let baseline: &[Seen] = if by_operator { &after.asns } else { in_after };
        let mut usual: Vec<(&str, u64)> = baseline
            .iter()
            .filter(|o| o.first < s.first)
            .map(|o| (o.value.as_str(), o.count))
            .collect();
        usual.sort_by_key(|u| std::cmp::Reverse(u.1));
        let usual: Vec<String> = usual.iter().take(3).map(|(v, _)| shown(v)).collect();
        let more = match new.len() {
            1 => String::new(),
            n => format!(
                " and {} more new ({})",
                n - 1,
                new[1..]
                    .iter()
                    .take(3)
                    .map(|o| format!("{} ×{}", shown(&o.value), o.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push(Alert {
            rule: rule.into(),
            severity: severity_of(rule).into(),
            time: s.first,
            summary: format!(
                "first use from {what} {}{} ({} event(s)){more}; usual: {}",
                shown(&s.value),
                match (rule, asn_of(&s.value)) {
                    ("new-network", Some(asn)) => format!(" (AS{asn})"),
                    _ if by_operator => format!(
                        " ({}, an operator this identity, which rotates through public addresses, had not used)",
                        s.evidence.ip
                    ),
                    _ => String::new(),
                },
                s.count,
                if usual.is_empty() {
                    "none".to_string()
                } else {
                    usual.join(", ")
                }
            ),
            evidence: s.evidence.clone(),
            values: new.iter().map(|o| shown(&o.value)).collect(),
        });
        if let Some(a) = out.last_mut() {
            weigh_touched(a);
        }
    }
    for w in &delta.denied_windows {
        let total = after
            .denied_windows
            .iter()
            .find(|a| a.start == w.start)
            .map_or(w.denied, |a| a.denied);
        let before_count = before
            .and_then(|b| b.denied_windows.iter().find(|a| a.start == w.start))
            .map_or(0, |a| a.denied);
        if total >= cfg.denied_burst && before_count < cfg.denied_burst {
            out.push(Alert {
                rule: "denied-burst".into(),
                severity: severity_of("denied-burst").into(),
                time: w.evidence.time,
                summary: format!("{total} access-denied errors in ten minutes (enumeration?)"),
                evidence: w.evidence.clone(),
                values: Vec::new(),
            });
        }
    }
    let known_places: Vec<&str> = before
        .map(|b| b.places.iter().map(|s| s.value.as_str()).collect())
        .unwrap_or_default();
    for p in &delta.places {
        if known_places.contains(&p.value.as_str()) {
            continue;
        }
        let Some(here) = lat_lon(&p.value) else {
            continue;
        };
        // The closest earlier use from elsewhere.
        let hop = after
            .places
            .iter()
            .filter(|q| q.value != p.value && q.first < p.first)
            .filter_map(|q| {
                let there = lat_lon(&q.value)?;
                let km = distance_km(here, there);
                let hours = ((p.first - q.last.min(p.first)) as f64 / 3600.0).max(1.0 / 60.0);
                (km > cfg.travel_min_km && km / hours > cfg.travel_kmh).then_some((q, km, hours))
            })
            .max_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)));
        if let Some((q, km, hours)) = hop {
            out.push(Alert {
                rule: "impossible-travel".into(),
                severity: severity_of("impossible-travel").into(),
                time: p.first,
                summary: format!(
                    "{:.0} km from {} ({}) to {} ({}) in {:.0} minutes",
                    km,
                    q.value,
                    q.evidence.region,
                    p.value,
                    p.evidence.region,
                    hours * 60.0
                ),
                evidence: p.evidence.clone(),
                values: Vec::new(),
            });
        }
    }
    let new_days: Vec<i64> = delta.days.iter().map(|d| d.day).collect();
    for pair in after.days.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.day - a.day >= cfg.dormant_days && new_days.contains(&b.day) {
            let ev = delta
                .regions
                .iter()
                .chain(&delta.networks)
                .map(|s| &s.evidence)
                .filter(|e| e.time >= b.first && e.time < (b.day + 1) * 86_400)
                .min_by_key(|e| e.time)
                .cloned();
            out.push(Alert {
                rule: "dormant-reuse".into(),
                severity: severity_of("dormant-reuse").into(),
                time: b.first,
                summary: format!("used again after {} days without use", b.day - a.day),
                evidence: ev.unwrap_or_else(|| Evidence {
                    time: b.first,
                    ..Evidence::default()
                }),
                values: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| (a.time, &a.rule).cmp(&(b.time, &b.rule)));
    out
}

#[cfg(test)]
mod tests;
