//! IAM policy documents (identity, resource, trust, boundary, SCP) as AWS reads
//! them: `Statement` may be one object or a list; `Action`, `Resource`,
//! `Principal` values may be a string or a list; `NotAction`, `NotResource` and
//! `NotPrincipal` invert the match.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` vs `NotAction` (and likewise for resources and principals).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Match<T> {
    Only(Vec<T>),
    Not(Vec<T>),
}

/// A principal entry: `("AWS", "arn:aws:iam::123456789012:root")`, `("Service",
/// "lambda.amazonaws.com")`, `("Federated", "…oidc-provider/…")`, or `("*", "*")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: String,
    pub value: String,
}

/// One condition test: `StringLike` on `token.actions.githubusercontent.com:sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Match<String>,
    /// `None` when the document has no `Resource` (trust policies).
    pub resources: Option<Match<String>>,
    /// `None` when the document has no `Principal` (identity policies, SCPs).
    pub principals: Option<Match<Principal>>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// Whether the statement's `Action` (or `NotAction`) covers `action`,
    /// whatever its effect, resources and conditions.
    pub fn names_action(&self, action: &str) -> bool {
        match &self.actions {
            Match::Only(l) => l.iter().any(|a| crate::pattern::action_matches(a, action)),
            Match::Not(l) => !l.iter().any(|a| crate::pattern::action_matches(a, action)),
        }
    }

    /// Whether the statement's resources or conditions use `${…}` policy variables.
    pub fn has_variables(&self) -> bool {
        let in_list = |l: &Vec<String>| l.iter().any(|v| v.contains("${"));
        let resources = match &self.resources {
            Some(Match::Only(l)) | Some(Match::Not(l)) => in_list(l),
            None => false,
        };
        resources || self.conditions.iter().any(|c| in_list(&c.values))
    }

    /// A label for explanations: the Sid, or the statement's index.
    pub fn label(&self, index: usize) -> String {
        self.sid
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("statement {index}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// Why a policy document could not be read, with the JSON pointer of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}: {}", self.pointer, self.message)
    }
}

impl std::error::Error for PolicyError {}

fn err(pointer: String, message: impl Into<String>) -> PolicyError {
    PolicyError {
        pointer,
        message: message.into(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(v: &Value, at: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| scalar(x).ok_or_else(|| err(format!("{at}/{i}"), "expected a string")))
            .collect(),
        other => scalar(other)
            .map(|s| vec![s])
            .ok_or_else(|| err(at.to_string(), "expected a string or a list of strings")),
    }
}

fn either(
    stmt: &serde_json::Map<String, Value>,
    yes: &str,
    no: &str,
    at: &str,
) -> Result<Option<Match<String>>, PolicyError> {
    match (stmt.get(yes), stmt.get(no)) {
        (Some(_), Some(_)) => Err(err(at.to_string(), format!("has both {yes} and {no}"))),
        (Some(v), None) => Ok(Some(Match::Only(strings(v, &format!("{at}/{yes}"))?))),
        (None, Some(v)) => Ok(Some(Match::Not(strings(v, &format!("{at}/{no}"))?))),
        (None, None) => Ok(None),
    }
}

fn principals(v: &Value, at: &str) -> Result<Vec<Principal>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![Principal {
            kind: "*".into(),
            value: "*".into(),
        }]),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (kind, vals) in map {
                for value in strings(vals, &format!("{at}/{kind}"))? {
                    out.push(Principal {
                        kind: kind.clone(),
                        value,
                    });
                }
            }
            Ok(out)
        }
        _ => Err(err(
            at.to_string(),
            "expected \"*\" or an object such as {\"AWS\": …}",
        )),
    }
}

fn conditions(v: &Value, at: &str) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(err(
            at.to_string(),
            "expected an object of condition operators",
        ));
    };
    let mut out = Vec::new();
    for (operator, keys) in ops {
        let Value::Object(keys) = keys else {
            return Err(err(
                format!("{at}/{operator}"),
                "expected an object of condition keys",
            ));
        };
        for (key, values) in keys {
            out.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values: strings(values, &format!("{at}/{operator}/{key}"))?,
            });
        }
    }
    Ok(out)
}

impl Policy {
    /// `Allow * on *`: what full control of an account amounts to.
    pub fn admin() -> Policy {
        Policy {
            statements: vec![Statement {
                sid: Some("FullControl".into()),
                effect: Effect::Allow,
                actions: Match::Only(vec!["*".into()]),
                resources: Some(Match::Only(vec!["*".into()])),
                principals: None,
                conditions: Vec::new(),
            }],
        }
    }

    /// Reads a policy document (already URL-decoded, as custody's connectors store it).
    pub fn from_value(doc: &Value) -> Result<Policy, PolicyError> {
        let stmts: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(_) => {
                return Err(err(
                    "/Statement".into(),
                    "expected a statement or a list of statements",
                ))
            }
            None => return Err(err(String::new(), "no Statement")),
        };
        let single = !matches!(doc.get("Statement"), Some(Value::Array(_)));
        let mut statements = Vec::with_capacity(stmts.len());
        for (i, s) in stmts.into_iter().enumerate() {
            let at = if single {
                "/Statement".to_string()
            } else {
                format!("/Statement/{i}")
            };
            let Value::Object(map) = s else {
                return Err(err(at, "expected an object"));
            };
            let effect = match map.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => {
                    return Err(err(
                        format!("{at}/Effect"),
                        "Effect must be \"Allow\" or \"Deny\"",
                    ))
                }
            };
            let actions = either(map, "Action", "NotAction", &at)?
                .ok_or_else(|| err(at.clone(), "no Action or NotAction"))?;
            let resources = either(map, "Resource", "NotResource", &at)?;
            let principals = match (map.get("Principal"), map.get("NotPrincipal")) {
                (Some(v), None) => Some(Match::Only(principals(v, &format!("{at}/Principal"))?)),
                (None, Some(v)) => Some(Match::Not(principals(v, &format!("{at}/NotPrincipal"))?)),
                (Some(_), Some(_)) => return Err(err(at, "has both Principal and NotPrincipal")),
                (None, None) => None,
            };
            let conditions = match map.get("Condition") {
                Some(c) => conditions(c, &format!("{at}/Condition"))?,
                None => Vec::new(),
            };
            statements.push(Statement {
                sid: map.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect,
                actions,
                resources,
                principals,
                conditions,
            });
        }
        Ok(Policy { statements })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aws_shapes_are_all_read() {
        let p = Policy::from_value(&json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}})).unwrap();
        assert_eq!(
            p.statements[0].actions,
            Match::Only(vec!["s3:GetObject".into()])
        );
        let trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x", "AWS": ["a", "b"]},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"x:sub": "repo:o/r:*"}, "Bool": {"aws:MultiFactorAuthPresent": true}}}]});
        let p = Policy::from_value(&trust).unwrap();
        let s = &p.statements[0];
        assert!(s.resources.is_none());
        let Some(Match::Only(pr)) = &s.principals else {
            panic!()
        };
        assert_eq!(pr.len(), 3);
        assert_eq!(s.conditions.len(), 2);
        assert!(s
            .conditions
            .iter()
            .any(|c| c.values == vec!["true".to_string()]));
        let not = Policy::from_value(&json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*"], "NotResource": "arn:x"}]})).unwrap();
        assert!(matches!(not.statements[0].actions, Match::Not(_)));
        assert!(matches!(not.statements[0].resources, Some(Match::Not(_))));
    }

    #[test]
    fn malformed_documents_are_located() {
        let e = Policy::from_value(&json!({"Statement": [{"Effect": "Allow", "Action": "a", "Resource": "*"}, {"Effect": "Permit", "Action": "a"}]})).unwrap_err();
        assert_eq!(e.pointer, "/Statement/1/Effect");
        let e = Policy::from_value(
            &json!({"Statement": [{"Effect": "Allow", "Action": ["a", {"x": 1}]}]}),
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/Statement/0/Action/1");
        assert!(Policy::from_value(&json!({})).is_err());
    }
}
