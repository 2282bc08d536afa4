//! AWS policy evaluation for one request, following AWS's documented logic
//! (IAM User Guide, "Policy evaluation logic"):
//!
//! 1. An explicit `Deny` in any applicable policy denies.
//! 2. Every layer of Organizations SCPs must allow the action.
//! 3. Same account: a resource-based policy that names the principal itself (not
//!    just its account) allows, whatever the identity policies say.
//! 4. Otherwise identity-based policies must allow; across accounts the resource
//!    policy must also allow the principal or its account.
//! 5. A permissions boundary and a session policy, where present, must also allow.
//!
//! Conditions are evaluated where the request [`Context`] supplies every key they
//! test, with the common operators (String*, Arn*, Bool, and `IfExists`). Anything
//! else is not guessed: a statement that would apply but for an undecided
//! condition or an unresolved policy variable makes the decision *conditional*,
//! and the decision lists what was not evaluated.
//!
//! A context can also say the caller is free to choose the request's own
//! parameters ([`Context::caller_chooses`], used for privilege escalation): a
//! condition on a key the request itself sets (`aws:RequestTag/…`,
//! `aws:TagKeys`, `aws:RequestedRegion`…, see [`CALLER_KEYS`]) then constrains
//! nothing — an `Allow` holds and a `Deny` is avoided.

use crate::pattern::{action_matches, resource_matches};
use crate::policy::{Condition, Effect, Match, Policy, Principal, Statement};
use std::borrow::Cow;

/// Values of condition keys and policy variables known for a request
/// (`aws:username`, `aws:PrincipalTag/team`, `…:sub`). Key names ignore case.
///
/// A context holds a handful of keys and is cloned for every technique an
/// escalation check tries, so the values sit behind one shared, reference-
/// counted list: a clone costs no allocation, and adding a key copies the
/// list only while it is shared.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// (lower-case key, values), in the order first given.
    values: std::sync::Arc<Vec<(String, Vec<String>)>>,
    /// The caller picks the values of [`CALLER_KEYS`] it was not given.
    caller_chooses: bool,
}

/// Condition keys whose value the request itself carries, so a caller can pick
/// one that satisfies an `Allow` or avoids a `Deny` (lower case; a trailing `/`
/// is a prefix). A condition on these is not a constraint on who can act.
pub const CALLER_KEYS: &[&str] = &[
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:requestedregion",
    "ec2:region",
    "ec2:instancetype",
    "ec2:instancemarkettype",
    "sts:rolesessionname",
    "sts:transitivetagkeys",
    "lambda:functionurlauthtype",
    "iam:awsservicename",
    "ssm:sessiondocumentaccesscheck",
];

fn caller_key(key: &str) -> bool {
    CALLER_KEYS.iter().any(|c| {
        if c.ends_with('/') {
            key.len() >= c.len()
                && key.is_char_boundary(c.len())
                && key[..c.len()].eq_ignore_ascii_case(c)
        } else {
            key.eq_ignore_ascii_case(c)
        }
    })
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }
    pub fn with(mut self, key: &str, value: &str) -> Context {
        let values = std::sync::Arc::make_mut(&mut self.values);
        match values.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some((_, v)) => v.push(value.to_string()),
            None => values.push((key.to_ascii_lowercase(), vec![value.to_string()])),
        }
        self
    }
    /// The caller chooses the values of request keys ([`CALLER_KEYS`]) it was
    /// not given: conditions on them hold for an `Allow` and miss for a `Deny`.
    pub fn caller_chooses(mut self) -> Context {
        self.caller_chooses = true;
        self
    }
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }
}

/// One request: who, what, on which resource.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The caller's ARN (IAM user, role, or for web identity the provider ARN).
    pub principal: &'a str,
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN (`*` where the action takes none).
    pub resource: &'a str,
    pub context: &'a Context,
}

/// The policies that bear on a request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// The principal's identity-based policies (attached, inline, through groups).
    pub identity: Vec<&'a Policy>,
    pub boundary: Option<&'a Policy>,
    /// SCP layers from the organisation root down to the account; each must allow.
    pub scps: Vec<Vec<&'a Policy>>,
    /// The resource-based policy (bucket policy, key policy, trust policy…).
    pub resource: Option<&'a Policy>,
    /// The account owning the resource, when it may differ from the principal's.
    pub resource_account: Option<&'a str>,
    pub session: Option<&'a Policy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// True when the outcome depends on conditions or variables that were not evaluated.
    pub conditional: bool,
    /// Plain-language reason, naming the deciding policy layer and statement.
    pub reason: String,
    /// What was not evaluated (`StringLike token…:sub`, `${aws:PrincipalTag/x}`).
    pub unresolved: Vec<String>,
    /// For an allow by identity policies: the index in [`PolicySet::identity`] of
    /// the policy that allows it.
    pub identity_policy: Option<usize>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// Whether a statement applies: surely, only under undecided conditions, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applies {
    No,
    Maybe(Vec<String>),
    Yes,
}

/// The account field of an ARN (the fifth, between the fourth and fifth
/// colons), when not empty.
fn account_of(arn: &str) -> Option<&str> {
    let mut colons = arn.bytes().enumerate().filter(|(_, b)| *b == b':');
    let start = colons.nth(3)?.0 + 1;
    let end = colons.next().map_or(arn.len(), |(i, _)| i);
    Some(&arn[start..end]).filter(|a| !a.is_empty())
}

/// Replaces `${…}` policy variables from the context. Unresolved variables become
/// `*` (so the pattern may match) and are reported.
fn substitute<'p>(pattern: &'p str, ctx: &Context, unresolved: &mut Vec<String>) -> Cow<'p, str> {
    if !pattern.contains("${") {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let var = &after[..end];
        match var {
            "*" | "?" | "$" => out.push_str(var),
            _ => {
                // `${aws:username, 'default'}` carries a default value.
                let (name, default) = match var.split_once(',') {
                    Some((n, d)) => (n.trim(), Some(d.trim().trim_matches('\'').to_string())),
                    None => (var.trim(), None),
                };
                match ctx.get(name).and_then(|v| v.first()).cloned().or(default) {
                    Some(v) => out.push_str(&v),
                    None => {
                        unresolved.push(format!("${{{name}}}"));
                        out.push('*');
                    }
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Evaluates one condition: `Some(true/false)` if decidable, `None` if not.
fn condition(c: &Condition, ctx: &Context, unresolved: &mut Vec<String>) -> Option<bool> {
    let mut op = c.operator.as_str();
    let (mut for_all, mut if_exists) = (false, false);
    if let Some(rest) = op.strip_prefix("ForAllValues:") {
        for_all = true;
        op = rest;
    } else if let Some(rest) = op.strip_prefix("ForAnyValue:") {
        op = rest;
    }
    if let Some(rest) = op.strip_suffix("IfExists") {
        if_exists = true;
        op = rest;
    }
    let Some(have) = ctx.get(&c.key) else {
        if if_exists {
            return Some(true);
        }
        return None;
    };
    let mut var_unresolved = Vec::new();
    let wanted: Vec<Cow<'_, str>> = c
        .values
        .iter()
        .map(|v| substitute(v, ctx, &mut var_unresolved))
        .collect();
    if !var_unresolved.is_empty() {
        unresolved.extend(var_unresolved);
        return None;
    }
    let (negate, test): (bool, fn(&str, &str) -> bool) = match op {
        "StringEquals" | "ArnEquals" => (false, |w, h| w == h),
        "StringNotEquals" | "ArnNotEquals" => (true, |w, h| w == h),
        "StringEqualsIgnoreCase" => (false, |w, h| w.eq_ignore_ascii_case(h)),
        "StringNotEqualsIgnoreCase" => (true, |w, h| w.eq_ignore_ascii_case(h)),
        "StringLike" | "ArnLike" => (false, |w, h| resource_matches(w, h)),
        "StringNotLike" | "ArnNotLike" => (true, |w, h| resource_matches(w, h)),
        "Bool" => (false, |w, h| w.eq_ignore_ascii_case(h)),
        _ => return None,
    };
    let hit = |h: &String| wanted.iter().any(|w| test(w, h));
    let positive = if for_all {
        have.iter().all(hit)
    } else {
        have.iter().any(hit)
    };
    Some(if negate { !positive } else { positive })
}

fn principal_matches(p: &Principal, principal: &str) -> PrincipalHit {
    if p.kind == "*" || p.value == "*" {
        return PrincipalHit::Direct;
    }
    if p.value == principal {
        return PrincipalHit::Direct;
    }
    // An account names it as `123456789012` or `arn:aws:iam::123456789012:root`;
    // an ARN of anything else (it has colons) cannot name its account.
    let named = p
        .value
        .strip_prefix("arn:aws:iam::")
        .and_then(|v| v.strip_suffix(":root"))
        .unwrap_or(&p.value);
    if !named.contains(':') && named == account_of(principal).unwrap_or("") {
        return PrincipalHit::Account;
    }
    PrincipalHit::None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalHit {
    None,
    Account,
    Direct,
}

/// How a statement's `Principal` (or `NotPrincipal`) names `principal`.
fn principal_hit(s: &Statement, principal: &str) -> PrincipalHit {
    match &s.principals {
        None => PrincipalHit::Direct,
        Some(Match::Only(list)) => list
            .iter()
            .map(|p| principal_matches(p, principal))
            .max()
            .unwrap_or(PrincipalHit::None),
        Some(Match::Not(list)) => {
            if list
                .iter()
                .any(|p| principal_matches(p, principal) == PrincipalHit::Direct)
            {
                PrincipalHit::None
            } else {
                PrincipalHit::Direct
            }
        }
    }
}

/// Whether some `Allow` statement of the identity policies names `action`:
/// without one, and without a resource policy that allows the caller on
/// its own, no request for `action` is allowed.
pub fn identity_names(set: &PolicySet<'_>, action: &str) -> bool {
    set.identity.iter().any(|p| {
        p.statements
            .iter()
            .any(|s| s.effect == Effect::Allow && s.names_action(action))
    })
}

/// Whether `policy`, as a resource policy, could allow `principal` without
/// any identity policy: some `Allow` statement names the principal itself,
/// not only its account (rule 3 above, for a request in the same account).
pub fn may_allow_alone(policy: &Policy, principal: &str) -> bool {
    policy
        .statements
        .iter()
        .any(|s| s.effect == Effect::Allow && principal_hit(s, principal) == PrincipalHit::Direct)
}

/// Does a statement apply to the request? For resource policies, also how the
/// principal is named.
fn applies(s: &Statement, req: &Request<'_>) -> (Applies, PrincipalHit) {
    let action_hit = match &s.actions {
        Match::Only(list) => list.iter().any(|p| action_matches(p, req.action)),
        Match::Not(list) => !list.iter().any(|p| action_matches(p, req.action)),
    };
    if !action_hit {
        return (Applies::No, PrincipalHit::None);
    }
    let mut unresolved = Vec::new();
    if let Some(resources) = &s.resources {
        let hit = |list: &Vec<String>, unresolved: &mut Vec<String>| {
            list.iter()
                .any(|p| resource_matches(&substitute(p, req.context, unresolved), req.resource))
        };
        let r = match resources {
            Match::Only(list) => hit(list, &mut unresolved),
            Match::Not(list) => !hit(list, &mut unresolved),
        };
        if !r {
            return (Applies::No, PrincipalHit::None);
        }
    }
    let who = principal_hit(s, req.principal);
    if who == PrincipalHit::None {
        return (Applies::No, PrincipalHit::None);
    }
    for c in &s.conditions {
        match condition(c, req.context, &mut unresolved) {
            Some(true) => {}
            Some(false) => return (Applies::No, PrincipalHit::None),
            None if req.context.caller_chooses
                && caller_key(&c.key)
                && req.context.get(&c.key).is_none() =>
            {
                // The caller sets this key: it satisfies an Allow, avoids a Deny.
                if s.effect == Effect::Deny {
                    return (Applies::No, PrincipalHit::None);
                }
            }
            None => unresolved.push(format!("{} {}", c.operator, c.key)),
        }
    }
    if unresolved.is_empty() {
        (Applies::Yes, who)
    } else {
        unresolved.dedup();
        (Applies::Maybe(unresolved), who)
    }
}

/// Where a statement sits: (index of the policy in its layer, index of the
/// statement in the policy).
type At = (usize, usize);

/// The strongest way any statement of `effect` in `policies` applies, and
/// where (the label is made only for the decision that names it).
fn strongest(
    policies: &[&Policy],
    effect: Effect,
    req: &Request<'_>,
    min_who: PrincipalHit,
) -> (Applies, At) {
    let mut best = (Applies::No, (0, 0));
    for (pi, p) in policies.iter().enumerate() {
        for (i, s) in p.statements.iter().enumerate() {
            if s.effect != effect {
                continue;
            }
            let (a, who) = applies(s, req);
            if who < min_who {
                continue;
            }
            match (&a, &best.0) {
                (Applies::Yes, _) => return (Applies::Yes, (pi, i)),
                (Applies::Maybe(_), Applies::No) => best = (a, (pi, i)),
                _ => {}
            }
        }
    }
    best
}

/// The label of the statement at `at` in `policies` (its Sid, or its index).
fn label(policies: &[&Policy], at: At) -> String {
    policies
        .get(at.0)
        .and_then(|p| p.statements.get(at.1))
        .map(|s| s.label(at.1))
        .unwrap_or_default()
}

/// Decides one request under a set of policies.
pub fn evaluate(set: &PolicySet<'_>, req: &Request<'_>) -> Decision {
    let mut unresolved: Vec<String> = Vec::new();
    let note = |a: &Applies, unresolved: &mut Vec<String>| {
        if let Applies::Maybe(u) = a {
            unresolved.extend(u.iter().cloned());
        }
    };
    let deny = |outcome: Outcome, reason: String, unresolved: Vec<String>| Decision {
        conditional: !unresolved.is_empty(),
        outcome,
        reason,
        unresolved,
        identity_policy: None,
    };

    // 1. Explicit denies anywhere: the layers in order, without building a list.
    let boundary = set.boundary.as_ref().map(std::slice::from_ref);
    let resource = set.resource.as_ref().map(std::slice::from_ref);
    let session = set.session.as_ref().map(std::slice::from_ref);
    let layers = std::iter::once(("identity policy", set.identity.as_slice()))
        .chain(boundary.map(|b| ("permissions boundary", b)))
        .chain(set.scps.iter().map(|l| ("SCP", l.as_slice())))
        .chain(resource.map(|r| ("resource policy", r)))
        .chain(session.map(|s| ("session policy", s)));
    for (name, policies) in layers {
        let (a, at) = strongest(policies, Effect::Deny, req, PrincipalHit::Account);
        match a {
            Applies::Yes => {
                return deny(
                    Outcome::ExplicitDeny,
                    format!("explicitly denied by {name} ({})", label(policies, at)),
                    Vec::new(),
                )
            }
            // A deny that may apply makes any allow conditional.
            Applies::Maybe(u) => {
                let which = label(policies, at);
                unresolved.extend(
                    u.into_iter()
                        .map(|x| format!("deny in {name} ({which}) if {x}")),
                )
            }
            Applies::No => {}
        }
    }

    // 2. Every SCP layer must allow.
    for (depth, scp) in set.scps.iter().enumerate() {
        let (a, _) = strongest(scp, Effect::Allow, req, PrincipalHit::None);
        if a == Applies::No {
            return deny(
                Outcome::ImplicitDeny,
                format!("no SCP at level {depth} allows it"),
                unresolved,
            );
        }
        note(&a, &mut unresolved);
    }

    let principal_account = account_of(req.principal);
    let cross_account =
        matches!((set.resource_account, principal_account), (Some(r), Some(p)) if r != p);

    // 3. Same account: a resource policy naming the principal itself allows.
    let mut resource_allows = Applies::No;
    if let Some(r) = set.resource {
        let min = if cross_account {
            PrincipalHit::Account
        } else {
            PrincipalHit::Direct
        };
        let (a, at) = strongest(&[r], Effect::Allow, req, min);
        if !cross_account && a != Applies::No {
            note(&a, &mut unresolved);
            return Decision {
                outcome: Outcome::Allow,
                conditional: !unresolved.is_empty(),
                reason: format!("allowed by the resource policy ({})", label(&[r], at)),
                unresolved,
                identity_policy: None,
            };
        }
        resource_allows = a;
    }

    // 4. Identity policies (and, across accounts, the resource policy too).
    let (a, at) = strongest(&set.identity, Effect::Allow, req, PrincipalHit::None);
    if a == Applies::No {
        return deny(
            Outcome::ImplicitDeny,
            "no identity policy allows it".into(),
            unresolved,
        );
    }
    note(&a, &mut unresolved);
    if cross_account {
        if resource_allows == Applies::No {
            return deny(
                Outcome::ImplicitDeny,
                "cross-account: the resource policy does not allow this principal".into(),
                unresolved,
            );
        }
        note(&resource_allows, &mut unresolved);
    }

    // 5. Boundary and session policy must allow too.
    for (name, p) in [
        ("permissions boundary", set.boundary),
        ("session policy", set.session),
    ] {
        if let Some(p) = p {
            let (b, _) = strongest(&[p], Effect::Allow, req, PrincipalHit::None);
            if b == Applies::No {
                return deny(
                    Outcome::ImplicitDeny,
                    format!("the {name} does not allow it"),
                    unresolved,
                );
            }
            note(&b, &mut unresolved);
        }
    }
    Decision {
        outcome: Outcome::Allow,
        conditional: !unresolved.is_empty(),
        reason: format!("allowed by identity policy ({})", label(&set.identity, at)),
        unresolved,
        identity_policy: Some(at.0),
    }
}
