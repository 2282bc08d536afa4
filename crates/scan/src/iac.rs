//! Terraform code in git history: who added the code that defines an identity.
//!
//! Terraform state names every managed resource by its address
//! (`aws_iam_access_key.deployer`); the code that declares it
//! (`resource "aws_iam_access_key" "deployer" {`) sits in a repository whose
//! history says who wrote it. [`parse`] reads the declarations and the
//! backend (`backend "s3" { key = "payments/terraform.tfstate" }`, which says
//! which state file the directory's code applies to) of one `.tf` file;
//! [`facts`] takes every version of every `.tf` file of one repository's
//! history, oldest first, and says for each declaration who added it (the
//! author of the first commit whose version holds it: what `git blame` says of
//! the block's first line when nobody rewrote it) and who changed the file
//! later while the declaration stood.
//!
//! Facts: a `Location` `iac://<repo>/<file>#<type>.<name>` (kind
//! `terraform_code`) per declaration, `CREATED_BY` its author (`role: added`)
//! and each later author (`role: edited`), and a `Location`
//! `iac://<repo>/<dir>` (kind `terraform_root`) per directory with a backend.
//! With the repository's `CODEOWNERS` ([`crate::codeowners`]), each
//! declaration in HEAD is `OWNED_BY` the people (`id:github/<login>`, e-mail)
//! and teams (`id:github-team/<org>/<slug>`) its file's rule names.
//! Attribution joins a state resource to its code by the backend key and the
//! address. Authors are keyed by e-mail; a GitHub `noreply` address is the
//! GitHub login it names, so commits made from GitHub's web editor meet the
//! SAML identity that joins that login to the person's IdP e-mail.

use crate::codeowners::{CodeOwners, Owner};
use crate::git::Commit;
use custody_model::{
    EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde_json::{json, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A Terraform file: `*.tf` (not `.tfvars`, not JSON).
pub fn is_terraform(path: &str) -> bool {
    path.ends_with(".tf")
}

/// `resource "TYPE" "NAME" {` at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decl {
    pub resource_type: String,
    pub name: String,
    pub line: u64,
}

/// `backend "s3" { bucket = "…" key = "…" }` (or `gcs` with `prefix`, `azurerm`
/// with `key`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Backend {
    pub kind: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// The quoted strings at the start of `s` (`"a" "b" {` → `[a, b]`).
fn quoted(mut s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        let Some(rest) = s.strip_prefix('"') else {
            return out;
        };
        let Some(end) = rest.find('"') else {
            return out;
        };
        out.push(&rest[..end]);
        s = &rest[end + 1..];
    }
}

/// `name = "value"` → `("name", "value")`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once('=')?;
    let v = quoted(v);
    Some((k.trim(), v.first().copied()?))
}

/// The declarations and the backend of one `.tf` file. Comments (`#`, `//`,
/// `/* … */`) are skipped; anything unreadable is simply not a declaration.
pub fn parse(text: &str) -> (Vec<Decl>, Option<Backend>) {
    let mut decls = Vec::new();
    let mut backend: Option<Backend> = None;
    let mut in_backend = false;
    let mut depth = 0i32;
    let mut backend_depth = 0i32;
    let mut in_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        if in_comment {
            match line.find("*/") {
                Some(e) => {
                    in_comment = false;
                    line = line[e + 2..].trim();
                }
                None => continue,
            }
        }
        if line.starts_with('#') || line.starts_with("//") || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix("/*") {
            if !s.contains("*/") {
                in_comment = true;
            }
            continue;
        }
        if depth == 0 {
            if let Some(rest) = line.strip_prefix("resource") {
                if let [t, n, ..] = quoted(rest)[..] {
                    decls.push(Decl {
                        resource_type: t.to_string(),
                        name: n.to_string(),
                        line: i as u64 + 1,
                    });
                }
            }
        }
        if let Some(rest) = line.strip_prefix("backend") {
            if let Some(kind) = quoted(rest).first() {
                in_backend = true;
                backend_depth = depth + 1;
                backend = Some(Backend {
                    kind: kind.to_string(),
                    ..Backend::default()
                });
            }
        } else if in_backend {
            if let (Some(b), Some((k, v))) = (backend.as_mut(), assignment(line)) {
                match k {
                    "bucket" | "storage_account_name" => b.bucket = Some(v.to_string()),
                    "key" | "prefix" => b.key = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        // Braces outside strings.
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            match c {
                '"' if prev != '\\' => in_str = !in_str,
                '{' if !in_str => depth += 1,
                '}' if !in_str => {
                    depth -= 1;
                    if in_backend && depth < backend_depth {
                        in_backend = false;
                    }
                }
                _ => {}
            }
            prev = c;
        }
        depth = depth.max(0);
    }
    (decls, backend)
}

/// One version of one `.tf` file in history.
#[derive(Debug, Clone)]
pub struct Version {
    pub path: String,
    pub commit: Arc<Commit>,
    /// HEAD holds this version.
    pub current: bool,
    pub decls: Vec<Decl>,
    pub backend: Option<Backend>,
}

/// A commit author as a `Human` key: the e-mail, or for a GitHub `noreply`
/// address (`12345+login@users.noreply.github.com`) the GitHub login.
pub fn author_key(email: &str) -> Option<Key> {
    let email = email.trim();
    let (local, domain) = email.split_once('@')?;
    if local.is_empty() || local.contains(' ') {
        return None;
    }
    if domain.eq_ignore_ascii_case("users.noreply.github.com") {
        // GitHub logins keep their case as the API spells them.
        let login = local.split_once('+').map_or(local, |(_, l)| l);
        return Some(Key::other("github", login));
    }
    Some(Key::email(email))
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The repository's `CODEOWNERS` as of HEAD: its path and its rules.
pub type Owners<'a> = Option<(&'a str, &'a CodeOwners)>;

/// The facts of one repository's Terraform history (see the module docs).
/// `versions` may come in any order; they are taken oldest first. With
/// `owners`, each declaration still in HEAD is also `OWNED_BY` the owners
/// its file's `CODEOWNERS` rule names (`method: codeowners`).
pub fn facts(repo: &str, versions: &[Version], owners: Owners<'_>) -> Vec<Fact> {
    let mut order: Vec<&Version> = versions.iter().collect();
    order.sort_by(|a, b| {
        a.commit
            .time
            .cmp(&b.commit.time)
            .then(a.commit.id.cmp(&b.commit.id))
    });
    struct Seen<'a> {
        line: u64,
        added: &'a Commit,
        edited: Vec<&'a Commit>,
        current: bool,
    }
    let mut decls: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut roots: BTreeMap<String, (&Backend, &Commit)> = BTreeMap::new();
    for v in &order {
        for d in &v.decls {
            let at = (v.path.clone(), format!("{}.{}", d.resource_type, d.name));
            match decls.get_mut(&at) {
                None => {
                    decls.insert(
                        at,
                        Seen {
                            line: d.line,
                            added: &v.commit,
                            edited: Vec::new(),
                            current: v.current,
                        },
                    );
                }
                Some(s) => {
                    s.current |= v.current;
                    if v.current {
                        s.line = d.line;
                    }
                    if s.added.author_email != v.commit.author_email
                        && !s
                            .edited
                            .iter()
                            .any(|c| c.author_email == v.commit.author_email)
                    {
                        s.edited.push(&v.commit);
                    }
                }
            }
        }
        if let Some(b) = v.backend.as_ref().filter(|_| v.current) {
            roots.insert(dir_of(&v.path).to_string(), (b, &v.commit));
        }
    }
    let mut out = Vec::new();
    let slug = repo.strip_prefix("github.com/").unwrap_or(repo);
    for ((path, address), s) in &decls {
        let key = Key::uri(&format!("iac://{slug}/{path}#{address}"));
        let mut p = Map::new();
        p.insert("repository".into(), json!(slug));
        p.insert("file".into(), json!(path));
        p.insert("dir".into(), json!(dir_of(path)));
        p.insert("address".into(), json!(address));
        p.insert("line".into(), json!(s.line));
        p.insert("current".into(), json!(s.current));
        out.push(Fact::Node(NodeFact {
            label: Label::Location,
            kind: "terraform_code".into(),
            system: "terraform".into(),
            keys: vec![key.clone()],
            name: Some(format!("{slug}/{path} {address}")),
            props: p,
            prov: Provenance::at(Location::Line(s.line)),
        }));
        let authors =
            std::iter::once(("added", s.added)).chain(s.edited.iter().map(|c| ("edited", *c)));
        for (role, c) in authors {
            let Some(who) = author_key(&c.author_email) else {
                continue;
            };
            let mut ep = Map::new();
            ep.insert("method".into(), json!("iac-commit"));
            ep.insert("role".into(), json!(role));
            ep.insert("commit".into(), json!(c.id));
            ep.insert("author".into(), json!(c.author_name));
            ep.insert("time".into(), json!(c.time));
            ep.insert("line".into(), json!(s.line));
            out.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::CreatedBy,
                from: Endpoint::new(Label::Location, key.clone()),
                to: Endpoint::new(Label::Human, who),
                props: ep,
                prov: Provenance::at(Location::Line(s.line)),
            }));
        }
        if let Some((file, rule)) = owners
            .filter(|_| s.current)
            .and_then(|(f, c)| Some((f, c.rule_for(path)?)))
        {
            for o in rule.owners() {
                let to = match o {
                    Owner::User(login) => Endpoint::new(Label::Human, Key::other("github", login)),
                    Owner::Team(org, team) => Endpoint::new(
                        Label::Group,
                        Key::other("github-team", &format!("{org}/{team}")),
                    ),
                    Owner::Email(e) => Endpoint::new(Label::Human, Key::email(e)),
                };
                let mut ep = Map::new();
                ep.insert("method".into(), json!("codeowners"));
                ep.insert("file".into(), json!(file));
                ep.insert("line".into(), json!(rule.line));
                ep.insert("pattern".into(), json!(rule.pattern));
                ep.insert(
                    "evidence".into(),
                    json!(format!(
                        "{file} line {}: `{} {}` covers {path}",
                        rule.line,
                        rule.pattern,
                        rule.owners.join(" ")
                    )),
                );
                out.push(Fact::Edge(EdgeFact {
                    kind: EdgeKind::OwnedBy,
                    from: Endpoint::new(Label::Location, key.clone()),
                    to,
                    props: ep,
                    prov: Provenance::at(Location::Line(s.line)),
                }));
            }
        }
    }
    for (dir, (b, _)) in roots {
        let mut p = Map::new();
        p.insert("repository".into(), json!(slug));
        p.insert("dir".into(), json!(dir));
        p.insert("backend".into(), json!(b.kind));
        if let Some(k) = &b.key {
            p.insert("backend_key".into(), json!(k));
        }
        if let Some(k) = &b.bucket {
            p.insert("backend_bucket".into(), json!(k));
        }
        out.push(Fact::Node(NodeFact {
            label: Label::Location,
            kind: "terraform_root".into(),
            system: "terraform".into(),
            keys: vec![Key::uri(&format!("iac://{slug}/{dir}"))],
            name: Some(format!("{slug}/{dir}")),
            props: p,
            prov: Provenance::at(Location::File),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"
terraform {
  backend "s3" {
    bucket = "northwind-tfstate"   # where every team's state lives
    key    = "payments/terraform.tfstate"
    region = "us-east-1"
  }
}

# resource "aws_iam_user" "commented" {}
/* resource "aws_iam_user" "also_commented" {
} */
resource "aws_iam_user" "batch" {
  name = "svc-payments-batch"
  tags = { team = "payments", note = "a { brace in a string" }
}

resource "aws_iam_access_key" "batch" {
  user = aws_iam_user.batch.name
}
"#;

    fn commit(id: &str, email: &str, time: i64) -> Arc<Commit> {
        Arc::new(Commit {
            id: id.into(),
            author_name: email.split('@').next().unwrap_or("").into(),
            author_email: email.into(),
            time,
            summary: String::new(),
        })
    }

    #[test]
    fn declarations_and_the_backend_are_read() {
        let (d, b) = parse(MAIN);
        let names: Vec<_> = d
            .iter()
            .map(|d| (d.resource_type.as_str(), d.name.as_str(), d.line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("aws_iam_user", "batch", 13),
                ("aws_iam_access_key", "batch", 18)
            ]
        );
        let b = b.unwrap();
        assert_eq!(b.kind, "s3");
        assert_eq!(b.key.as_deref(), Some("payments/terraform.tfstate"));
        assert_eq!(b.bucket.as_deref(), Some("northwind-tfstate"));
    }

    #[test]
    fn codeowners_name_the_owners_of_current_declarations() {
        let (d, b) = parse(MAIN);
        let versions = vec![Version {
            path: "payments/main.tf".into(),
            commit: commit("c1", "ana@example.com", 100),
            current: true,
            decls: d,
            backend: b,
        }];
        let owners = CodeOwners::parse(
            "* @acme/platform
/payments/ @acme/payments @bo-n
",
        );
        let f = facts(
            "github.com/acme/infra",
            &versions,
            Some((".github/CODEOWNERS", &owners)),
        );
        let owned: Vec<(String, String)> = f
            .iter()
            .filter_map(|f| match f {
                Fact::Edge(e) if e.kind == EdgeKind::OwnedBy => Some((
                    e.from.key.as_str().to_string(),
                    e.to.key.as_str().to_string(),
                )),
                _ => None,
            })
            .collect();
        let user = "uri:iac://acme/infra/payments/main.tf#aws_iam_user.batch".to_string();
        assert!(owned.contains(&(user.clone(), "id:github-team/acme/payments".into())));
        assert!(owned.contains(&(user, "id:github/bo-n".into())));
        // The last matching line decides: the catch-all team is not an owner.
        assert!(!owned.iter().any(|(_, o)| o.ends_with("/platform")));
        assert_eq!(owned.len(), 4);
    }

    #[test]
    fn the_first_author_added_it_later_authors_edited() {
        let (d1, b1) = parse("resource \"aws_iam_user\" \"batch\" {\n}\n");
        let (d2, b2) = parse(MAIN);
        let versions = vec![
            Version {
                path: "payments/main.tf".into(),
                commit: commit("c2", "7001+bo-n@users.noreply.github.com", 200),
                current: true,
                decls: d2,
                backend: b2,
            },
            Version {
                path: "payments/main.tf".into(),
                commit: commit("c1", "Ana@Example.com", 100),
                current: false,
                decls: d1,
                backend: b1,
            },
        ];
        let f = facts("github.com/acme/infra", &versions, None);
        let edges: Vec<(String, String, String)> = f
            .iter()
            .filter_map(|f| match f {
                Fact::Edge(e) => Some((
                    e.from.key.as_str().to_string(),
                    e.to.key.as_str().to_string(),
                    e.props["role"].as_str().unwrap_or("").to_string(),
                )),
                _ => None,
            })
            .collect();
        assert!(edges.contains(&(
            "uri:iac://acme/infra/payments/main.tf#aws_iam_user.batch".into(),
            "email:ana@example.com".into(),
            "added".into()
        )));
        assert!(edges.contains(&(
            "uri:iac://acme/infra/payments/main.tf#aws_iam_user.batch".into(),
            "id:github/bo-n".into(),
            "edited".into()
        )));
        // The key block came with the second commit: its author added it.
        assert!(edges.contains(&(
            "uri:iac://acme/infra/payments/main.tf#aws_iam_access_key.batch".into(),
            "id:github/bo-n".into(),
            "added".into()
        )));
        let root = f.iter().find_map(|f| match f {
            Fact::Node(n) if n.kind == "terraform_root" => Some(n),
            _ => None,
        });
        assert_eq!(
            root.map(|n| n.props["backend_key"].clone()),
            Some(json!("payments/terraform.tfstate"))
        );
    }

    #[test]
    fn noreply_addresses_are_github_logins() {
        assert_eq!(
            author_key("12345+jdoe@users.noreply.github.com").map(|k| k.as_str().to_string()),
            Some("id:github/jdoe".into())
        );
        assert_eq!(
            author_key("jdoe@users.noreply.github.com").map(|k| k.as_str().to_string()),
            Some("id:github/jdoe".into())
        );
        assert_eq!(author_key("not an address"), None);
    }
}
