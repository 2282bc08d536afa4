//! Attribution: who is accountable for a non-human identity, how sure we are,
//! and why.
//!
//! Callers gather the *evidence* the graph holds about one identity (an owner
//! tag, the system's own owner field, who created it, who wrote the
//! infrastructure code that defines it, who approved it, its team) and pass it
//! here; [`attribute`] combines it into one answer. The scoring is
//! deterministic and documented in `docs/OWNERSHIP.md`:
//!
//! 1. Each piece of evidence has a weight in 0–1 set by its [`Method`]
//!    ([`Method::weight`]). Evidence a credential inherits from the principal it
//!    authenticates as counts [`INHERITED`] times its weight.
//! 2. A party's score is the probability that at least one of its pieces is
//!    right, pieces taken as independent: `1 − Π(1 − wᵢ)`, with one piece per
//!    method and party (the strongest), so ten copies of one tag count once.
//! 3. People compete; the best-scored person is the candidate and the
//!    runner-up person's score counts against it: `confidence = s₁ − s₂ / 2`.
//!    Conflicting evidence lowers the confidence and is listed, never dropped.
//!    Evidence marked not counted (a bot, a commit author no directory
//!    lists) is listed and skipped.
//! 4. Two people *declared* owner of one object (owner tags, labels,
//!    annotations, owner fields: [`Method::is_declaration`]) make it
//!    contested, whatever else agrees with one of them.
//! 5. The candidate is the owner when `confidence ≥` [`THRESHOLD`]. Otherwise,
//!    when the best person's own score reaches the threshold but a runner-up
//!    pulls the confidence below it, the identity is contested (a team does
//!    not settle a conflict between people); else a team with a score at or
//!    above the threshold owns it (team ownership), and with neither the
//!    identity is unowned: never a guess.
//!
//! Teams never compete with people: a team tag beside an owner tag names where
//! the owner sits, not someone else.

use serde::Serialize;

/// The confidence at or above which an attribution is an owner.
pub const THRESHOLD: f64 = 0.5;

/// The factor on evidence a credential inherits from its principal.
pub const INHERITED: f64 = 0.9;

/// A person or a team, as the caller numbers them (graph node ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Party {
    Person(i64),
    Team(i64),
}

/// How a piece of evidence ties an identity to a party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The system's own owner field: an Entra app owner, a GitHub token's
    /// owner, an Okta API token's user, Vault metadata `owner`.
    SystemOwner,
    /// An `owner` tag, label or annotation someone set on the resource.
    OwnerTag,
    /// Who created it: a `created-by` tag or metadata, a deploy key's
    /// `added_by`, a CloudTrail create event.
    Creator,
    /// The author of the commit that added the infrastructure code defining it.
    IacAuthor,
    /// The author of a later commit to the file that defines it.
    IacEditor,
    /// The repository's `CODEOWNERS` names a person or team for the file
    /// that defines it.
    CodeOwner,
    /// Who consented to an OAuth grant of it.
    Approver,
    /// Its name is a person's handle (the local part of their e-mail or their
    /// GitHub login), and only that person's: a person's own IAM user. A
    /// display name is never evidence.
    Handle,
    /// A team tag or label, or the team a namespace belongs to.
    TeamTag,
    /// An owner written in free text: a description (`Owner: ana@…`), a
    /// `maintainer` or `contact` annotation. As strong as a name that is one
    /// person's handle: enough alone (and for the credentials of what it
    /// describes), outweighed by any tag, owner field, creator or author.
    FreeText,
}

impl Method {
    /// The weight of one piece of evidence of this method.
    pub fn weight(self) -> f64 {
        match self {
            Method::SystemOwner => 0.95,
            Method::OwnerTag => 0.85,
            Method::Creator => 0.7,
            Method::IacAuthor => 0.7,
            Method::Approver => 0.5,
            Method::Handle => 0.6,
            Method::IacEditor => 0.2,
            Method::CodeOwner => 0.6,
            Method::TeamTag => 0.8,
            Method::FreeText => 0.6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::SystemOwner => "system-owner",
            Method::OwnerTag => "owner-tag",
            Method::Creator => "creator",
            Method::IacAuthor => "iac-author",
            Method::IacEditor => "iac-editor",
            Method::CodeOwner => "codeowners",
            Method::Approver => "approver",
            Method::Handle => "handle",
            Method::TeamTag => "team-tag",
            Method::FreeText => "free-text",
        }
    }

    /// Evidence that the party made the identity, not only that it owns it:
    /// offboarding lists what a leaver created even when someone else owns it.
    pub fn is_creation(self) -> bool {
        matches!(self, Method::Creator | Method::IacAuthor)
    }

    /// Someone declared the owner on the object itself (a tag, label,
    /// annotation, or the system's owner field), as opposed to history
    /// (who created or wrote it) or names. Two declarations naming different
    /// people are a conflict a human must settle, whatever else is known.
    pub fn is_declaration(self) -> bool {
        matches!(self, Method::SystemOwner | Method::OwnerTag)
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub party: Party,
    pub method: Method,
    /// The weight it counted with (after inheritance).
    pub weight: f64,
    /// What the source said, in its words (`IAM tag owner=…`).
    pub said: String,
    /// The identity it was said about, when not this one (a credential's
    /// principal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Why this piece is shown but not counted: the party cannot be
    /// accountable (a bot, a commit author no directory knows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_counted: Option<String>,
}

impl Evidence {
    pub fn new(party: Party, method: Method, said: impl Into<String>) -> Evidence {
        Evidence {
            party,
            method,
            weight: method.weight(),
            said: said.into(),
            via: None,
            not_counted: None,
        }
    }

    /// The same evidence at `weight` (a handle several people share names
    /// each of them at a share of the method's weight).
    pub fn weighted(mut self, weight: f64) -> Evidence {
        self.weight = round(weight);
        self
    }

    /// The same evidence, shown but not counted, and why.
    pub fn not_counted(mut self, why: impl Into<String>) -> Evidence {
        self.not_counted = Some(why.into());
        self
    }

    /// Whether it counts towards a score.
    pub fn counts(&self) -> bool {
        self.not_counted.is_none()
    }

    /// The same evidence, inherited through `via` at [`INHERITED`] its weight.
    pub fn inherited(&self, via: &str) -> Evidence {
        Evidence {
            weight: round(self.weight * INHERITED),
            via: Some(self.via.clone().unwrap_or_else(|| via.to_string())),
            ..self.clone()
        }
    }
}

/// How an attribution came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A person owns it.
    Owned,
    /// No person is sure enough, a team is.
    Team,
    /// People compete and none is sure enough.
    Contested,
    /// Some evidence, none strong enough.
    Weak,
    /// No evidence at all.
    Unowned,
}

/// A party's combined score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    pub party: Party,
    pub score: f64,
}

/// The answer for one identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    pub status: Status,
    /// The accountable party: a person, or a team (status `team`).
    pub owner: Option<Party>,
    /// 0–1: the owner's score less half the runner-up's.
    pub confidence: f64,
    /// The best-scored team, whoever owns it.
    pub team: Option<Party>,
    /// Every party the evidence names, best first.
    pub scores: Vec<Score>,
    /// Every piece of evidence, strongest first.
    pub evidence: Vec<Evidence>,
}

impl Attribution {
    /// People other than the owner that evidence names: the conflict.
    pub fn conflicts(&self) -> impl Iterator<Item = &Score> {
        self.scores
            .iter()
            .filter(move |s| matches!(s.party, Party::Person(_)) && Some(s.party) != self.owner)
    }

    /// The people the evidence says created the identity.
    pub fn creators(&self) -> impl Iterator<Item = Party> + '_ {
        self.evidence
            .iter()
            .filter(|e| e.method.is_creation() && e.via.is_none() && e.counts())
            .map(|e| e.party)
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Combines one identity's evidence into its attribution.
pub fn attribute(mut evidence: Vec<Evidence>) -> Attribution {
    evidence.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then(a.party.cmp(&b.party))
            .then(a.method.cmp(&b.method))
            .then(a.said.cmp(&b.said))
    });
    // One piece per (party, method): the strongest, which sorts first.
    let mut seen = std::collections::HashSet::new();
    let mut miss: Vec<(Party, f64)> = Vec::new();
    for e in evidence.iter().filter(|e| e.counts()) {
        if !seen.insert((e.party, e.method)) {
            continue;
        }
        match miss.iter_mut().find(|(p, _)| *p == e.party) {
            Some((_, m)) => *m *= 1.0 - e.weight,
            None => miss.push((e.party, 1.0 - e.weight)),
        }
    }
    let mut scores: Vec<Score> = miss
        .into_iter()
        .map(|(party, m)| Score {
            party,
            score: round(1.0 - m),
        })
        .collect();
    scores.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.party.cmp(&b.party)));
    let mut people = scores
        .iter()
        .filter(|s| matches!(s.party, Party::Person(_)));
    let first = people.next().copied();
    let second = people.next().map_or(0.0, |s| s.score);
    let team = scores
        .iter()
        .find(|s| matches!(s.party, Party::Team(_)))
        .copied();
    let person_conf = first.map_or(0.0, |f| round((f.score - second / 2.0).max(0.0)));
    // Two people declared the owner on one object (a label and an
    // annotation, the live tag and the Terraform code's, both on the
    // identity or both on the principal it inherits from): someone must
    // decide, whatever else is known.
    let mut declared: Vec<(Option<&str>, Party)> = evidence
        .iter()
        .filter(|e| {
            e.counts()
                && e.method.is_declaration()
                && e.weight >= THRESHOLD
                && matches!(e.party, Party::Person(_))
        })
        .map(|e| (e.via.as_deref(), e.party))
        .collect();
    declared.sort();
    declared.dedup();
    let disputed = declared.windows(2).any(|w| w[0].0 == w[1].0);
    let (status, owner, confidence) = match (first, team) {
        (Some(_), _) if disputed => (Status::Contested, None, person_conf),
        (Some(f), _) if person_conf >= THRESHOLD => (Status::Owned, Some(f.party), person_conf),
        // People with strong claims disagree: someone must decide, and a
        // team behind them does not settle it.
        (Some(f), _) if second > 0.0 && f.score >= THRESHOLD => {
            (Status::Contested, None, person_conf)
        }
        (_, Some(t)) if t.score >= THRESHOLD => (Status::Team, Some(t.party), t.score),
        (Some(_), _) if second > 0.0 => (Status::Contested, None, person_conf),
        _ if evidence.iter().all(|e| !e.counts()) => (Status::Unowned, None, 0.0),
        _ => (
            Status::Weak,
            None,
            person_conf.max(team.map_or(0.0, |t| t.score)),
        ),
    };
    Attribution {
        status,
        owner,
        confidence,
        team: team.map(|t| t.party),
        scores,
        evidence,
    }
}

/// Who takes over what a leaver owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The new owner: a person or a team.
    pub to: Option<Party>,
    /// Why them (`manager`, `manager's manager (the manager has left too)`…).
    pub why: String,
}

/// Routes a leaver's identities: to their manager; up the chain past managers
/// who have left too; else to the identity's team; else nobody (the security
/// team must decide). `manager_of` and `active` describe the workforce.
pub fn route(
    leaver: i64,
    team: Option<Party>,
    manager_of: impl Fn(i64) -> Option<i64>,
    active: impl Fn(i64) -> bool,
) -> Route {
    let mut seen = vec![leaver];
    let mut at = leaver;
    let mut gone: Vec<i64> = Vec::new();
    while let Some(m) = manager_of(at) {
        if seen.contains(&m) {
            break; // a cycle in the roster
        }
        seen.push(m);
        if active(m) {
            let why = match gone.len() {
                0 => "manager".to_string(),
                1 => "manager's manager (the manager has left too)".to_string(),
                n => {
                    format!("the first active manager up the chain ({n} managers above have left)")
                }
            };
            return Route {
                to: Some(Party::Person(m)),
                why,
            };
        }
        gone.push(m);
        at = m;
    }
    match team {
        Some(t) => Route {
            to: Some(t),
            why: "the owning team (no active manager in the chain)".into(),
        },
        None => Route {
            to: None,
            why: "no active manager and no team: the security team decides".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: Party = Party::Person(1);
    const BEN: Party = Party::Person(2);
    const PAYMENTS: Party = Party::Team(10);

    #[test]
    fn no_evidence_is_unowned_never_a_guess() {
        let a = attribute(vec![]);
        assert_eq!(a.status, Status::Unowned);
        assert_eq!(a.owner, None);
        assert_eq!(a.confidence, 0.0);
    }

    #[test]
    fn agreeing_evidence_adds_up() {
        let a = attribute(vec![
            Evidence::new(ANA, Method::IacAuthor, "commit 1a2b by ana"),
            Evidence::new(ANA, Method::OwnerTag, "IAM tag owner=ana@x"),
        ]);
        assert_eq!(a.status, Status::Owned);
        assert_eq!(a.owner, Some(ANA));
        // 1 − 0.15 × 0.3
        assert_eq!(a.confidence, 0.955);
    }

    #[test]
    fn copies_of_one_claim_count_once() {
        let one = attribute(vec![Evidence::new(ANA, Method::IacEditor, "edit")]);
        let three = attribute(vec![
            Evidence::new(ANA, Method::IacEditor, "edit"),
            Evidence::new(ANA, Method::IacEditor, "edit again"),
            Evidence::new(ANA, Method::IacEditor, "and again"),
        ]);
        assert_eq!(one.confidence, three.confidence);
        assert_eq!(three.status, Status::Weak);
    }

    #[test]
    fn conflicting_evidence_lowers_confidence_and_is_shown() {
        let a = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "IAM tag owner=ben@x"),
            Evidence::new(ANA, Method::IacAuthor, "commit 1a2b by ana"),
        ]);
        assert_eq!(a.owner, Some(BEN));
        assert_eq!(a.confidence, 0.5);
        let c: Vec<_> = a.conflicts().map(|s| s.party).collect();
        assert_eq!(c, vec![ANA]);
        assert_eq!(a.creators().collect::<Vec<_>>(), vec![ANA]);
        // Two equal claims: nobody.
        let tie = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "tag"),
            Evidence::new(ANA, Method::OwnerTag, "label"),
        ]);
        assert_eq!(tie.status, Status::Contested);
        assert_eq!(tie.owner, None);
        assert_eq!(tie.scores.len(), 2);
        // A team reviewing the code does not settle two people's claims...
        let with_team = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "tag"),
            Evidence::new(ANA, Method::OwnerTag, "label"),
            Evidence::new(PAYMENTS, Method::CodeOwner, "CODEOWNERS"),
        ]);
        assert_eq!(with_team.status, Status::Contested);
        assert_eq!(with_team.team, Some(PAYMENTS));
        // ...but it outweighs weak ones (two later editors of the file).
        let weak = attribute(vec![
            Evidence::new(BEN, Method::IacEditor, "edit"),
            Evidence::new(ANA, Method::IacEditor, "edit"),
            Evidence::new(PAYMENTS, Method::CodeOwner, "CODEOWNERS"),
        ]);
        assert_eq!(weak.status, Status::Team);
        assert_eq!(weak.owner, Some(PAYMENTS));
    }

    #[test]
    fn two_declared_owners_are_contested_whatever_else_agrees() {
        // The live tag names Ben; the Terraform code's tag and its author
        // name Ana: drift, and a human must decide.
        let a = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "IAM tag owner=ben@x"),
            Evidence::new(ANA, Method::OwnerTag, "Terraform state tag owner=ana@x"),
            Evidence::new(ANA, Method::IacAuthor, "commit 1a2b by ana"),
        ]);
        assert_eq!(a.status, Status::Contested);
        assert_eq!(a.owner, None);
        assert_eq!(a.scores.len(), 2);
        // ...and so is a credential of that user.
        let key = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "IAM tag owner=ben@x").inherited("user"),
            Evidence::new(ANA, Method::OwnerTag, "Terraform tag owner=ana@x").inherited("user"),
            Evidence::new(ANA, Method::IacAuthor, "commit 1a2b by ana").inherited("user"),
        ]);
        assert_eq!(key.status, Status::Contested);
        // Declarations on different objects, or ambiguous ones, do not force it.
        let b = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "tag").inherited("user"),
            Evidence::new(ANA, Method::OwnerTag, "tag"),
            Evidence::new(ANA, Method::IacAuthor, "commit"),
        ]);
        assert_eq!(b.owner, Some(ANA));
        let c = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "owner=wchen (ambiguous)").weighted(0.425),
            Evidence::new(ANA, Method::OwnerTag, "owner=wchen (ambiguous)").weighted(0.425),
        ]);
        assert_eq!(c.status, Status::Contested);
        let d = attribute(vec![
            Evidence::new(BEN, Method::OwnerTag, "owner=wchen (ambiguous)").weighted(0.425),
            Evidence::new(ANA, Method::OwnerTag, "owner=wchen (ambiguous)").weighted(0.425),
            Evidence::new(ANA, Method::IacAuthor, "commit"),
        ]);
        assert_eq!(d.owner, Some(ANA));
    }

    #[test]
    fn evidence_not_counted_is_shown_and_never_owns() {
        let a = attribute(vec![
            Evidence::new(BEN, Method::IacAuthor, "commit by automation@x").not_counted("a bot"),
            Evidence::new(PAYMENTS, Method::CodeOwner, "CODEOWNERS"),
        ]);
        assert_eq!(a.status, Status::Team);
        assert_eq!(a.owner, Some(PAYMENTS));
        assert_eq!(a.evidence.len(), 2);
        assert_eq!(a.creators().count(), 0);
        let only_bot = attribute(vec![
            Evidence::new(BEN, Method::IacAuthor, "commit").not_counted("a bot")
        ]);
        assert_eq!(only_bot.status, Status::Unowned);
        assert!(only_bot.scores.is_empty());
    }

    #[test]
    fn a_team_owns_what_no_person_is_named_for() {
        let a = attribute(vec![Evidence::new(
            PAYMENTS,
            Method::TeamTag,
            "label team=payments",
        )]);
        assert_eq!(a.status, Status::Team);
        assert_eq!(a.owner, Some(PAYMENTS));
        // A team beside a person names where the person sits.
        let b = attribute(vec![
            Evidence::new(PAYMENTS, Method::TeamTag, "team"),
            Evidence::new(ANA, Method::OwnerTag, "owner"),
        ]);
        assert_eq!(b.owner, Some(ANA));
        assert_eq!(b.team, Some(PAYMENTS));
        assert_eq!(b.conflicts().count(), 0);
    }

    #[test]
    fn inherited_evidence_counts_less() {
        let e = Evidence::new(ANA, Method::OwnerTag, "tag").inherited("arn:aws:iam::1:user/svc");
        assert_eq!(e.weight, 0.765);
        assert_eq!(e.via.as_deref(), Some("arn:aws:iam::1:user/svc"));
        let a = attribute(vec![e]);
        assert_eq!(a.owner, Some(ANA));
        assert_eq!(a.creators().count(), 0);
    }

    #[test]
    fn routing_climbs_past_managers_who_left() {
        // 1 reports to 2 reports to 3 reports to 4; 2 and 3 have left.
        let manager = |p: i64| (p < 4).then_some(p + 1);
        let r = route(1, None, manager, |p| p == 2 || p == 4);
        assert_eq!((r.to, r.why.as_str()), (Some(Party::Person(2)), "manager"));
        let r = route(1, None, manager, |p| p >= 3);
        assert_eq!(r.to, Some(Party::Person(3)));
        assert!(r.why.starts_with("manager's manager"));
        let r = route(1, Some(PAYMENTS), manager, |_| false);
        assert_eq!(r.to, Some(PAYMENTS));
        let r = route(1, None, |_| None, |_| true);
        assert_eq!(r.to, None);
        // A cycle ends.
        let r = route(1, None, |p| Some(if p == 1 { 2 } else { 1 }), |_| false);
        assert_eq!(r.to, None);
    }
}
