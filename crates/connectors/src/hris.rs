//! HR roster CSV, the workforce's source of truth: who works here, who reports to
//! whom, who has left and when. Column names vary between HR systems, so each field
//! accepts the usual spellings (case-insensitive, spaces or underscores):
//!
//! | field | accepted headers |
//! |---|---|
//! | e-mail (required) | `email`, `work_email`, `work email`, `e-mail`, `mail` |
//! | name | `name`, `full_name`, `display_name`, or `first_name` + `last_name` |
//! | department | `department`, `dept` |
//! | title | `title`, `job_title` |
//! | manager | `manager_email`, `manager`, `manager_work_email` |
//! | status | `status`, `employment_status` (`active`, `terminated`, `leave`…) |
//! | termination date | `termination_date`, `terminated_on`, `end_date`, `last_day` |
//! | employee id | `employee_id`, `employee_number`, `id` |

use crate::util::{csv_error, strip_bom};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{
    time, EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde_json::{json, Map, Value};

const CONNECTOR: &str = "hr-roster";

const EMAIL: &[&str] = &[
    "email",
    "work_email",
    "e-mail",
    "mail",
    "email_address",
    "work_email_address",
];
const NAME: &[&str] = &["name", "full_name", "display_name", "employee_name"];
const FIRST: &[&str] = &["first_name", "given_name"];
const LAST: &[&str] = &["last_name", "family_name", "surname"];
const DEPT: &[&str] = &["department", "dept"];
const TITLE: &[&str] = &["title", "job_title"];
const MANAGER: &[&str] = &["manager_email", "manager", "manager_work_email"];
const STATUS: &[&str] = &["status", "employment_status"];
const TERMINATED: &[&str] = &["termination_date", "terminated_on", "end_date", "last_day"];
const EMPLOYEE_ID: &[&str] = &["employee_id", "employee_number", "id"];

fn norm(h: &str) -> String {
    h.trim()
        .trim_matches('"')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
        .replace("e_mail", "email")
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    let names: Vec<String> = names.iter().map(|n| norm(n)).collect();
    headers.iter().position(|h| names.contains(h))
}

/// A roster header names an e-mail column and at least one HR column.
pub fn looks_like_roster_header(first_line: &str) -> bool {
    let headers: Vec<String> = first_line.split(',').map(norm).collect();
    find(&headers, EMAIL).is_some()
        && [STATUS, MANAGER, DEPT, TITLE, TERMINATED]
            .iter()
            .any(|names| find(&headers, names).is_some())
}

pub fn parse(file: &SourceFile<'_>) -> Parsed {
    let mut parsed = Parsed::default();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(strip_bom(file.bytes));
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(norm).collect(),
        Err(_) => {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Line(1),
                "unreadable header",
            ));
            return parsed;
        }
    };
    let Some(email_col) = find(&headers, EMAIL) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::Line(1),
            "no e-mail column: expected one of email, work_email, e-mail, mail",
        ));
        return parsed;
    };
    let cols = |names: &[&str]| find(&headers, names);
    let (name_c, first_c, last_c, dept_c, title_c, mgr_c, status_c, term_c, id_c) = (
        cols(NAME),
        cols(FIRST),
        cols(LAST),
        cols(DEPT),
        cols(TITLE),
        cols(MANAGER),
        cols(STATUS),
        cols(TERMINATED),
        cols(EMPLOYEE_ID),
    );
    for result in rdr.records() {
        let rec = match result {
            Ok(r) => r,
            Err(e) => {
                parsed.errors.push(csv_error(CONNECTOR, file.path, &e));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let loc = Location::Line(line);
        let cell = |c: Option<usize>| {
            c.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        parsed.records += 1;
        let email = cell(Some(email_col)).unwrap_or("");
        if !valid_email(email) {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                loc,
                "the e-mail column does not hold an e-mail address",
            ));
            continue;
        }
        let mut props = Map::new();
        let name =
            cell(name_c)
                .map(str::to_string)
                .or_else(|| match (cell(first_c), cell(last_c)) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    (Some(f), None) => Some(f.to_string()),
                    (None, l) => l.map(str::to_string),
                });
        for (k, v) in [
            ("department", cell(dept_c)),
            ("title", cell(title_c)),
            ("employee_id", cell(id_c)),
        ] {
            if let Some(v) = v {
                props.insert(k.into(), json!(v));
            }
        }
        let termination = match cell(term_c) {
            Some(raw) => match time::parse(raw) {
                Some(t) => Some(t.format("%Y-%m-%d").to_string()),
                None => {
                    parsed.errors.push(InputError::new(
                        CONNECTOR,
                        file.path,
                        loc.clone(),
                        "termination date is not a date (expected YYYY-MM-DD)",
                    ));
                    None
                }
            },
            None => None,
        };
        let status = match cell(status_c).map(str::to_ascii_lowercase) {
            Some(s)
                if [
                    "terminated",
                    "inactive",
                    "former",
                    "separated",
                    "offboarded",
                ]
                .contains(&s.as_str()) =>
            {
                "terminated".to_string()
            }
            Some(s) if s == "active" || s == "employed" => "active".to_string(),
            Some(s) => s,
            None if termination.is_some() => "terminated".to_string(),
            None => "active".to_string(),
        };
        props.insert("employment_status".into(), json!(status));
        if let Some(t) = termination {
            props.insert("termination_date".into(), json!(t));
        }
        if let Some(n) = &name {
            props.insert("name".into(), Value::String(n.clone()));
        }
        // The address the person is shown by, whichever of their addresses
        // (an IdP login, a SAML name) becomes the node's key.
        props.insert(
            "roster_email".into(),
            json!(email.trim().to_ascii_lowercase()),
        );
        let key = Key::email(email);
        parsed.facts.push(Fact::Node(NodeFact {
            label: Label::Human,
            kind: "employee".into(),
            system: "hris".into(),
            keys: vec![key.clone()],
            name,
            props,
            prov: Provenance::at(loc.clone()),
        }));
        if let Some(mgr) = cell(mgr_c) {
            if valid_email(mgr) {
                parsed.facts.push(Fact::Edge(EdgeFact {
                    kind: EdgeKind::ReportsTo,
                    from: Endpoint::new(Label::Human, key),
                    to: Endpoint::new(Label::Human, Key::email(mgr)),
                    props: Map::new(),
                    prov: Provenance::at(loc),
                }));
            } else {
                parsed.errors.push(InputError::new(
                    CONNECTOR,
                    file.path,
                    loc,
                    "the manager column does not hold an e-mail address",
                ));
            }
        }
    }
    parsed
}

fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROSTER: &str = "\u{feff}Email,First Name,Last Name,Department,Job Title,Manager Email,Status,Termination Date\n\
ana@corp.example,Ana,Lopez,Engineering,CTO,,active,\n\
bo@corp.example,Bo,Chen,Engineering,Engineer,ana@corp.example,terminated,2026-03-01\n\
not-an-email,X,Y,Sales,Rep,ana@corp.example,active,\n\
cy@corp.example,Cy,Diaz,Sales,Rep,ana@corp.example,active,someday\n";

    #[test]
    fn roster_with_bom_and_aliases_parses_and_locates_bad_rows() {
        assert!(looks_like_roster_header(
            &ROSTER[3..].lines().next().unwrap().to_ascii_lowercase()
        ));
        let p = parse(&SourceFile {
            path: "roster.csv",
            bytes: ROSTER.as_bytes(),
        });
        assert_eq!(p.records, 4);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!(p.errors[0].location, Location::Line(4));
        assert_eq!(p.errors[1].location, Location::Line(5));
        let bo = p.facts.iter().find_map(|f| match f {
            Fact::Node(n) if n.keys[0] == Key::email("bo@corp.example") => Some(n),
            _ => None,
        });
        let bo = bo.unwrap();
        assert_eq!(bo.props["employment_status"], "terminated");
        assert_eq!(bo.props["termination_date"], "2026-03-01");
        assert_eq!(bo.name.as_deref(), Some("Bo Chen"));
        let reports = p
            .facts
            .iter()
            .filter(|f| matches!(f, Fact::Edge(e) if e.kind == EdgeKind::ReportsTo))
            .count();
        assert_eq!(reports, 2);
    }

    #[test]
    fn a_header_without_email_is_refused() {
        let p = parse(&SourceFile {
            path: "r.csv",
            bytes: b"name,status\nx,active\n",
        });
        assert_eq!(p.errors[0].location, Location::Line(1));
        assert!(p.errors[0].message.contains("e-mail"));
    }
}
