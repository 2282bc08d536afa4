//! `custody owner`, `custody orphans` and `custody offboard`: who is
//! accountable for each identity (with the evidence and how sure), what
//! nobody active owns, and what a leaver leaves behind and to whom it goes.
//! Scoring: `docs/OWNERSHIP.md`.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::{bail, Result};
use clap::Args;
use custody_app::owner::{self, Offboarding, Orphan, OwnerView, Ownership, Standing};
use custody_store::Store;
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Args)]
pub struct OwnerArgs {
    /// Identities: access key ids, ARNs, natural keys, e-mails of service
    /// accounts or node ids. JSON output is an array when several.
    #[arg(required = true)]
    pub references: Vec<String>,
    /// Write CSV (one row per piece of evidence) instead of a table.
    #[arg(skip)]
    pub csv: bool,
}

#[derive(Args)]
pub struct OrphansArgs {
    /// Only these reasons: owner-left, owner-unknown, contested, weak, unowned
    /// (repeat or comma-separate). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub reason: Vec<String>,
    /// Tables: how many identities to list per proposed owner (0: all).
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    #[arg(skip)]
    pub csv: bool,
}

#[derive(Args)]
pub struct OffboardArgs {
    /// The leaver's e-mail (or any key of the person).
    #[arg(required_unless_present = "all_terminated")]
    pub email: Option<String>,
    /// Every person the roster or IdP says has left and who still owns or
    /// created something.
    #[arg(long, conflicts_with = "email")]
    pub all_terminated: bool,
    /// Skip the AWS blast radius (saves loading the AWS model).
    #[arg(long)]
    pub no_blast_radius: bool,
    #[arg(skip)]
    pub csv: bool,
}

fn load(store: &dyn Store, cli: &Global) -> Result<Ownership> {
    let progress = cli.progress();
    let o = owner::load(store, &progress)?;
    custody_app::Progress::done(&progress);
    Ok(o)
}

fn csv_out(headers: &[&str], rows: &[Vec<String>]) -> Result<()> {
    use std::io::Write;
    let text = custody_app::people::csv(headers, rows)?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

pub fn owner_cmd(cli: &Global, a: &OwnerArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let o = load(&store, cli)?;
    let mut views: Vec<OwnerView> = Vec::new();
    for r in &a.references {
        let Some(id) = store.find(r)? else {
            bail!("no node matches {r:?} (try `custody list` or a full key such as arn:… or aws-access-key:…)");
        };
        let Some(v) = owner::view(&o, id) else {
            bail!("{r} is not an identity (a credential, principal or agent): ownership is attributed to identities");
        };
        views.push(v);
    }
    if a.csv {
        let mut rows = Vec::new();
        for v in &views {
            let owner = v.owner.as_ref().map(|p| p.label()).unwrap_or_default();
            for e in &v.evidence {
                rows.push(vec![
                    v.identity.key.clone(),
                    format!("{:?}", v.status).to_ascii_lowercase(),
                    owner.clone(),
                    format!("{:.2}", v.confidence),
                    e.party.label(),
                    e.method.to_string(),
                    format!("{:.3}", e.weight),
                    e.said.clone(),
                    e.via.clone().unwrap_or_default(),
                ]);
            }
        }
        csv_out(
            &[
                "identity",
                "status",
                "owner",
                "confidence",
                "names",
                "method",
                "weight",
                "said",
                "via",
            ],
            &rows,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.format {
        OutputFormat::Json if views.len() == 1 => output::json(&views[0])?,
        OutputFormat::Json => output::json(&views)?,
        OutputFormat::Table => {
            for v in &views {
                print_view(v);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn standing_note(p: &owner::PartyOut) -> String {
    match (p.standing, &p.left_on) {
        (Some(Standing::Left), Some(d)) => format!(" (left {d})"),
        (Some(Standing::Left), None) => " (left)".into(),
        (Some(Standing::Unknown), _) => " (not in the roster or IdP)".into(),
        _ => String::new(),
    }
}

fn print_view(v: &OwnerView) {
    println!(
        "{} ({} {})",
        v.identity.name.as_deref().unwrap_or(&v.identity.key),
        v.identity.label,
        v.identity.kind
    );
    println!("  key         {}", v.identity.key);
    match &v.owner {
        Some(p) => println!(
            "  owner       {}{}  confidence {:.2} ({:?})",
            p.label(),
            standing_note(p),
            v.confidence,
            v.status
        ),
        None => println!(
            "  owner       none ({:?}; best confidence {:.2}, threshold {})",
            v.status,
            v.confidence,
            custody_analysis::attribution::THRESHOLD
        ),
    }
    if let Some(t) = v
        .team
        .as_ref()
        .filter(|t| Some(t.key.as_str()) != v.owner.as_ref().map(|o| o.key.as_str()))
    {
        println!("  team        {}", t.label());
    }
    for c in &v.conflicts {
        println!(
            "  conflict    {} also named (score {:.2})",
            c.party.label(),
            c.score
        );
    }
    if let Some(r) = &v.route {
        println!(
            "  hand to     {} — {}",
            r.to.as_ref()
                .map_or("nobody found".to_string(), |p| p.label()),
            r.why
        );
    }
    if v.evidence.is_empty() {
        println!(
            "  evidence    none: no tag, owner field, creator, code author or team names anyone"
        );
    } else {
        println!("  evidence");
        let rows: Vec<Vec<String>> = v
            .evidence
            .iter()
            .map(|e| {
                vec![
                    e.party.label(),
                    e.method.to_string(),
                    match e.not_counted {
                        Some(_) => "not counted".to_string(),
                        None => format!("{:.2}", e.weight),
                    },
                    {
                        let said = match &e.via {
                            Some(via) => format!("{} (via {via})", e.said),
                            None => e.said.clone(),
                        };
                        match &e.not_counted {
                            Some(why) => format!("{said} [{why}]"),
                            None => said,
                        }
                    },
                ]
            })
            .collect();
        output::table(
            &["names", "method", "weight", "what the source said"],
            &rows,
        );
    }
    println!();
}

pub fn orphans_cmd(cli: &Global, a: &OrphansArgs) -> Result<ExitCode> {
    const REASONS: [&str; 5] = [
        "owner-left",
        "owner-unknown",
        "contested",
        "weak",
        "unowned",
    ];
    for r in &a.reason {
        if !REASONS.contains(&r.as_str()) {
            bail!(
                "unknown reason {r:?}: expected one of {}",
                REASONS.join(", ")
            );
        }
    }
    let store = paths::open_existing(cli)?;
    let o = load(&store, cli)?;
    let all = owner::orphans(&o);
    let list: Vec<&Orphan> = all
        .iter()
        .filter(|x| a.reason.is_empty() || a.reason.iter().any(|r| r == x.reason))
        .collect();
    if a.csv {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|x| {
                vec![
                    x.identity.key.clone(),
                    x.identity.kind.clone(),
                    x.reason.to_string(),
                    x.former_owner
                        .as_ref()
                        .map(|p| p.label())
                        .unwrap_or_default(),
                    format!("{:.2}", x.confidence),
                    x.proposed.as_ref().map(|p| p.label()).unwrap_or_default(),
                    x.why.clone(),
                ]
            })
            .collect();
        csv_out(
            &[
                "identity",
                "kind",
                "reason",
                "former_owner",
                "confidence",
                "proposed_owner",
                "why",
            ],
            &rows,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.format == OutputFormat::Json {
        output::json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &list {
        *by_reason.entry(x.reason).or_default() += 1;
    }
    println!(
        "{} of {} identities have no active owner: {}",
        list.len(),
        o.identities.len(),
        by_reason
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Grouped by proposed new owner, in the order above (owner-left first).
    let mut groups: Vec<(String, String, Vec<&Orphan>)> = Vec::new();
    for x in &list {
        let to = x
            .proposed
            .as_ref()
            .map_or_else(|| "(nobody proposed)".to_string(), |p| p.label());
        match groups.iter_mut().find(|g| g.0 == to && g.1 == x.reason) {
            Some(g) => g.2.push(x),
            None => groups.push((to, x.reason.to_string(), vec![x])),
        }
    }
    for (to, reason, xs) in &groups {
        println!("\n→ {to} — {} {reason}: {}", xs.len(), xs[0].why);
        let shown = if a.limit == 0 {
            xs.len()
        } else {
            a.limit.min(xs.len())
        };
        let rows: Vec<Vec<String>> = xs[..shown]
            .iter()
            .map(|x| {
                vec![
                    x.identity
                        .name
                        .clone()
                        .unwrap_or_else(|| x.identity.key.clone()),
                    x.identity.kind.clone(),
                    x.former_owner.as_ref().map_or(String::new(), |p| {
                        format!("{}{}", p.label(), standing_note(p))
                    }),
                    format!("{:.2}", x.confidence),
                ]
            })
            .collect();
        output::table(&["identity", "kind", "former owner", "conf."], &rows);
        if shown < xs.len() {
            println!("  … and {} more (--limit 0 lists all)", xs.len() - shown);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn offboard_cmd(cli: &Global, a: &OffboardArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let o = load(&store, cli)?;
    let people: Vec<i64> = match &a.email {
        Some(e) => {
            let Some(id) = store.find(e)? else {
                bail!("no person matches {e:?}: give the e-mail the roster or IdP has");
            };
            if !o.people.contains_key(&id) {
                bail!("{e} is not a person (a Human node): `custody offboard` takes a person's e-mail");
            }
            vec![id]
        }
        None => {
            let mut v: Vec<i64> = o
                .people
                .iter()
                .filter(|(_, p)| p.standing == Standing::Left)
                .map(|(id, _)| *id)
                .collect();
            v.sort();
            v
        }
    };
    // The AWS model, for each identity's blast radius (unless skipped).
    let model = match a.no_blast_radius {
        true => None,
        false => Some(custody_app::blast::load(&store, &cli.progress())?),
    };
    let blast = |id: i64, key: &str| {
        model
            .as_ref()
            .and_then(|m| custody_app::blast::summary(m, id, key))
    };
    let mut reports: Vec<Offboarding> = Vec::new();
    for p in people {
        let r = owner::offboard(&o, &store, p, &blast)?;
        if a.email.is_some() || !r.identities.is_empty() {
            reports.push(r);
        }
    }
    if a.csv {
        let all: Vec<&Offboarding> = reports.iter().collect();
        csv_out(
            &custody_app::people::OFFBOARDING_COLUMNS,
            &custody_app::people::offboarding_rows(&all),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.format {
        OutputFormat::Json if a.email.is_some() => output::json(&reports[0])?,
        OutputFormat::Json => output::json(&reports)?,
        OutputFormat::Table => {
            if a.all_terminated {
                println!(
                    "{} people who left still own or created identities:",
                    reports.len()
                );
            }
            for r in &reports {
                print_offboarding(r);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_offboarding(r: &Offboarding) {
    println!(
        "\n{}{}: {} identities across {} systems ({})",
        r.person.label(),
        standing_note(&r.person),
        r.identities.len(),
        r.systems.len(),
        r.systems
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(m) = &r.manager {
        println!("  manager: {}{}", m.label(), standing_note(m));
    }
    if r.person.standing == Some(Standing::Active) {
        println!("  (still active: this is what they would leave behind)");
    }
    for h in &r.identities {
        println!(
            "\n  {} [{} {}] — {}, confidence {:.2}",
            h.identity.name.as_deref().unwrap_or(&h.identity.key),
            h.system,
            h.identity.kind,
            h.relation,
            h.confidence
        );
        println!("    key       {}", h.identity.key);
        for e in &h.evidence {
            println!(
                "    evidence  {} {} ({:.2}): {}{}",
                e.party.label(),
                e.method,
                e.weight,
                e.said,
                e.via
                    .as_ref()
                    .map(|v| format!(" (via {v})"))
                    .unwrap_or_default()
            );
        }
        for s in &h.surfaces {
            println!("    surface   {s}");
        }
        match (&h.last_used, h.used_after_leaving) {
            (Some(l), true) => println!("    activity  used {l}, after they left"),
            (Some(l), false) => println!("    activity  last used {l}"),
            (None, _) => println!("    activity  no use in the audit logs read"),
        }
        if let Some(b) = &h.blast_radius {
            println!("    reach     {b}");
        }
        println!("    action    {}", h.action);
        println!(
            "    to        {} — {}",
            h.to.as_ref().map_or("nobody".to_string(), |p| p.label()),
            h.why
        );
    }
}

pub fn print_ownership_score(s: &custody_app::grade::OwnershipScore) {
    println!(
        "\nOwnership: {} identities with a known answer ({} with an owner), scored in {:.1}s at confidence ≥ {}",
        s.identities, s.with_owner, s.seconds, s.threshold
    );
    let rows: Vec<Vec<String>> = s
        .by_kind
        .iter()
        .map(|(k, (n, a, c))| vec![k.clone(), n.to_string(), a.to_string(), c.to_string()])
        .chain(std::iter::once(vec![
            "all".into(),
            s.identities.to_string(),
            s.attributed.to_string(),
            s.correct.to_string(),
        ]))
        .collect();
    output::table(&["kind", "identities", "attributed", "correct"], &rows);
    println!(
        "precision {:.3}, recall {:.3}{}",
        s.precision,
        s.recall,
        if s.not_in_graph > 0 {
            format!(" ({} truth rows not in the graph)", s.not_in_graph)
        } else {
            String::new()
        }
    );
    for e in &s.examples {
        println!("  {e}");
    }
}
