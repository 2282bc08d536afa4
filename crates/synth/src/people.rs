//! The workforce: an org tree of departments, managers and engineering teams, with
//! some people already gone; written as an HR roster export.

use crate::names::{FIRST, LAST, TEAM_WORDS};
use crate::rng::Rng;
use crate::write::Writer;
use crate::{Options, SynthError};
use chrono::{Duration, NaiveDate};
use std::collections::HashSet;

pub struct Person {
    pub first: String,
    pub last: String,
    pub email: String,
    pub employee_id: String,
    pub department: &'static str,
    pub title: String,
    pub manager: Option<usize>,
    pub team: Option<usize>,
    pub hired: NaiveDate,
    pub terminated: Option<NaiveDate>,
    pub okta_id: String,
    /// A planted scenario's subject: random assignments pass them by, so
    /// what they own is exactly what the scenario wrote.
    pub planted: bool,
}

pub struct Team {
    pub name: String,
    pub members: Vec<usize>,
}

pub struct Org {
    pub domain: String,
    pub people: Vec<Person>,
    pub teams: Vec<Team>,
    pub as_of: NaiveDate,
}

const DEPARTMENTS: &[(&str, u32, &str)] = &[
    ("Engineering", 42, "Software Engineer"),
    ("Sales", 14, "Account Executive"),
    ("Customer Support", 10, "Support Specialist"),
    ("Operations", 8, "Operations Analyst"),
    ("Marketing", 8, "Marketing Manager"),
    ("Finance", 6, "Financial Analyst"),
    ("Security", 4, "Security Engineer"),
    ("People", 4, "People Partner"),
    ("Legal", 4, "Counsel"),
];

pub fn generate(rng: &mut Rng, opts: &Options) -> Org {
    let domain = "northwind-labs.example".to_string();
    let n = opts.people;
    let as_of = opts.as_of;
    let mut used = HashSet::new();
    let mut people: Vec<Person> = Vec::with_capacity(n);
    let total_weight: u32 = DEPARTMENTS.iter().map(|d| d.1).sum();
    // Department of each person (person 0 is the CEO).
    let mut dept_of = vec![0usize; n];
    for (i, d) in dept_of.iter_mut().enumerate().skip(1) {
        let mut x = ((i as u64 * 7919) % total_weight as u64) as u32;
        for (j, dep) in DEPARTMENTS.iter().enumerate() {
            if x < dep.1 {
                *d = j;
                break;
            }
            x -= dep.1;
        }
    }
    for i in 0..n {
        let first = rng.pick(FIRST).to_string();
        let last = rng.pick(LAST).to_string();
        let base = format!(
            "{}.{}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase()
        );
        let mut local = base.clone();
        let mut k = 2;
        while !used.insert(local.clone()) {
            local = format!("{base}{k}");
            k += 1;
        }
        let hired = as_of - Duration::days(rng.range(60, 3650));
        people.push(Person {
            first,
            last,
            email: format!("{local}@{domain}"),
            employee_id: format!("E{:06}", i + 1),
            department: DEPARTMENTS[dept_of[i]].0,
            title: String::new(),
            manager: None,
            team: None,
            hired,
            terminated: None,
            okta_id: rng.okta_id("00u"),
            planted: false,
        });
    }
    people[0].title = "Chief Executive Officer".into();
    people[0].department = "Executive";
    // Per department: a VP under the CEO, managers (span ~8) under the VP, the rest under managers.
    let mut teams: Vec<Team> = Vec::new();
    for (j, dep) in DEPARTMENTS.iter().enumerate() {
        let members: Vec<usize> = (1..n).filter(|&i| dept_of[i] == j).collect();
        let Some((&vp, rest)) = members.split_first() else {
            continue;
        };
        people[vp].title = format!("VP {}", dep.0);
        people[vp].manager = Some(0);
        let n_mgr = rest.len().div_ceil(8).max(1).min(rest.len());
        let (managers, ics) = rest.split_at(n_mgr);
        for &m in managers {
            people[m].title = if dep.0 == "Engineering" {
                "Engineering Manager".into()
            } else {
                format!("{} Manager", dep.0)
            };
            people[m].manager = Some(vp);
        }
        for (k, &p) in ics.iter().enumerate() {
            let senior = rng.chance(0.3);
            people[p].title = if senior {
                format!("Senior {}", dep.2)
            } else {
                dep.2.to_string()
            };
            people[p].manager = managers
                .get(k % managers.len().max(1))
                .copied()
                .or(Some(vp));
        }
        if dep.0 == "Engineering" {
            // One team per engineering manager.
            for (t, &m) in managers.iter().enumerate() {
                let word = TEAM_WORDS[t % TEAM_WORDS.len()];
                let name = if t < TEAM_WORDS.len() {
                    word.to_string()
                } else {
                    format!("{word}-{}", t / TEAM_WORDS.len() + 1)
                };
                let mut members = vec![m];
                members.extend(
                    ics.iter()
                        .copied()
                        .filter(|&p| people[p].manager == Some(m)),
                );
                for &p in &members {
                    people[p].team = Some(teams.len());
                }
                teams.push(Team { name, members });
            }
        }
    }
    // About 7% have left (never the CEO or a VP), within the last year.
    for person in people.iter_mut().skip(1) {
        if person.manager != Some(0) && rng.chance(0.07) {
            let days_ago = rng.range(1, 365);
            let end = as_of - Duration::days(days_ago);
            if end > person.hired {
                person.terminated = Some(end);
            }
        }
    }
    Org {
        domain,
        people,
        teams,
        as_of,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn write_roster(w: &mut Writer, org: &Org) -> Result<(), SynthError> {
    let mut out = String::from("employee_id,email,first_name,last_name,department,title,manager_email,status,hire_date,termination_date\n");
    for p in &org.people {
        let manager = p
            .manager
            .map(|m| org.people[m].email.as_str())
            .unwrap_or("");
        let status = if p.terminated.is_some() {
            "terminated"
        } else {
            "active"
        };
        let term = p.terminated.map(|d| d.to_string()).unwrap_or_default();
        let row = [
            p.employee_id.as_str(),
            &p.email,
            &p.first,
            &p.last,
            p.department,
            &p.title,
            manager,
            status,
            &p.hired.to_string(),
            &term,
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    w.text("hr/roster.csv", &out)
}
