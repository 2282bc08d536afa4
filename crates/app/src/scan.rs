//! Secrets in files and git history: walk, scan in parallel, group by
//! credential (never the value: keyed fingerprints and previews), and the
//! source batches that put what was found in the graph — each secret a
//! credential joined to the inventory by key id or fingerprint, each place a
//! location; MCP servers as agents holding what their host's home holds;
//! who wrote each Terraform block, from history. [`scan_and_ingest`] is the
//! whole `scan --ingest` sequence.

use crate::files::{candidates, find_repos, Candidate, Hidden};
use crate::progress::{Progress, Unit};
use anyhow::Result;
use custody_model::{Fingerprinter, InputError, Location};
use custody_scan::facts::{facts, scan_file as scan_found, Finding, GitOrigin, Origin};
use custody_scan::git::History;
use custody_scan::Scanner;
use custody_store::{SourceBatch, Store};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// What to scan beyond the files themselves.
#[derive(Clone, Copy, Default)]
pub struct Options {
    pub git: bool,
    /// The results will be stored: keep what an ingest needs (file digests).
    pub ingest: bool,
    /// Ask each found credential's issuer whether it still works (opt-in:
    /// it sends each value to its own issuer).
    pub validate: Option<custody_validate::Options>,
}

/// Files larger than this are skipped and reported (generated or data files).
const MAX_FILE: u64 = 64 * 1024 * 1024;

struct Scanned {
    path: String,
    /// For a blob in history: its repository and the commit that introduced it
    /// (`path` is then the path inside the commit).
    repository: Option<String>,
    commit: Option<String>,
    findings: Vec<Finding>,
    batch: Option<SourceBatch>,
    error: Option<InputError>,
    bytes: u64,
    /// A Terraform file's declarations, for who-wrote-what (history only).
    iac: Option<custody_scan::iac::Version>,
    /// HEAD's `CODEOWNERS` (history only): its place in GitHub's search
    /// order, its path and its rules.
    codeowners: Option<(u8, String, custody_scan::codeowners::CodeOwners)>,
    /// Read but not scanned, and why (binary).
    skipped: Option<String>,
    /// Finds to ask their issuers about (`--validate` only).
    candidates: Vec<custody_validate::Candidate>,
}

impl Scanned {
    /// A file or blob read with nothing found (yet).
    fn nothing(path: String) -> Scanned {
        Scanned {
            path,
            repository: None,
            commit: None,
            findings: Vec::new(),
            batch: None,
            error: None,
            bytes: 0,
            iac: None,
            codeowners: None,
            skipped: None,
            candidates: Vec::new(),
        }
    }
}

/// The finds whose rule names a liveness check, as candidates for it: the
/// value moves from the find into the candidate (never copied out). `findings`
/// holds one finding per find, in order, then any the workflow reader added.
fn to_validate(
    found: Vec<custody_scan::facts::Found>,
    findings: &[Finding],
) -> Vec<custody_validate::Candidate> {
    found
        .into_iter()
        .zip(findings)
        .filter_map(|(f, finding)| {
            let check = custody_scan::Rules::builtin_rule(&f.rule)?
                .validate
                .clone()?;
            let key_id = finding
                .credential
                .strip_prefix("aws-access-key:")
                .map(str::to_string);
            Some(custody_validate::Candidate {
                credential: finding.credential.clone(),
                check,
                secret: f.secret,
                key_id,
                account: f.account,
            })
        })
        .collect()
}

fn scan_file(
    scanner: &Scanner,
    fp: &custody_model::Fingerprinter,
    c: &Candidate,
    buf: &mut Vec<u8>,
    opts: Options,
) -> Scanned {
    let ingest = opts.ingest;
    let path = c.path.display().to_string();
    let fail = |message: String| Scanned {
        error: Some(InputError::new(
            "secret-scan",
            &path,
            Location::File,
            message,
        )),
        ..Scanned::nothing(path.clone())
    };
    match std::fs::metadata(&c.path) {
        Ok(m) if m.len() > MAX_FILE => {
            return fail(format!(
                "skipped: {} MB is larger than the {} MB limit",
                m.len() >> 20,
                MAX_FILE >> 20
            ))
        }
        Err(e) => return fail(format!("cannot read the file: {e}")),
        _ => {}
    }
    // One buffer per thread, reused: fresh allocations per file cost more in
    // page faults than the scan itself.
    buf.clear();
    let read =
        std::fs::File::open(&c.path).and_then(|mut f| std::io::Read::read_to_end(&mut f, buf));
    if let Err(e) = read {
        return fail(format!("cannot read the file: {e}"));
    }
    // UTF-16 (PowerShell's `>`) is text too: scanned decoded.
    let decoded = custody_model::text::decode(buf);
    let bytes: &[u8] = &decoded;
    // Binary files are not text a secret is pasted into; a stray odd byte
    // in text does not make it binary. Skipped files are reported.
    if let Some(share) = custody_model::text::binary_share(bytes) {
        return Scanned {
            skipped: Some(binary_note(share)),
            ..Scanned::nothing(path)
        };
    }
    let found = scan_found(scanner, &path, bytes);
    let origin = Origin::file(&path);
    let (mut findings, mut facts) = facts(fp, &origin, &found);
    with_workflow(&origin, bytes, &found, &mut findings, &mut facts);
    // Every server an MCP client configuration names is an agent, whether
    // or not a secret sits in its entry.
    if let Some((client, servers)) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| custody_scan::mcp::servers(&path, text))
    {
        facts.extend(custody_scan::facts::agents(&path, client, &servers));
    }
    let batch = SourceBatch {
        unparsed: None,
        prepared: None,
        path: path.clone(),
        format: "secret-scan".into(),
        scope: format!("secret-scan:{path}"),
        sha256: ingest.then(|| format!("{:x}", Sha256::digest(&buf[..]))),
        observed_at: None,
        records: found.len(),
        facts,
        errors: Vec::new(),
    };
    let candidates = match opts.validate {
        Some(_) => to_validate(found, &findings),
        None => Vec::new(),
    };
    Scanned {
        findings,
        batch: Some(batch),
        bytes: bytes.len() as u64,
        candidates,
        ..Scanned::nothing(path)
    }
}

/// Secret values a live collection read on request (`collect aws
/// --read-secret-values`), each an API answer held in memory: scanned as a
/// file of that content would be (a Secrets Manager `get-secret-value` answer
/// is recognised by its shape), fingerprinted, and dropped. Each becomes a
/// source batch named by its call and target; nothing of the value is kept.
pub fn scan_values(values: &[(&str, &[u8])], fp: &Fingerprinter) -> Vec<SourceBatch> {
    let scanner = Scanner::builtin();
    values
        .iter()
        .map(|(label, bytes)| {
            let found = scan_found(&scanner, label, bytes);
            let origin = Origin::file(label);
            let (_, facts) = facts(fp, &origin, &found);
            SourceBatch {
                unparsed: None,
                prepared: None,
                path: label.to_string(),
                format: "secret-scan".into(),
                scope: format!("secret-scan:{label}"),
                // No hash of the content: that of a short secret would be guessable.
                sha256: None,
                observed_at: None,
                records: found.len(),
                facts,
                errors: Vec::new(),
            }
        })
        .collect()
}

/// A GitHub Actions workflow also says which repository secrets it reads.
fn with_workflow(
    origin: &Origin,
    bytes: &[u8],
    found: &[custody_scan::facts::Found],
    findings: &mut Vec<Finding>,
    facts: &mut Vec<custody_model::Fact>,
) {
    if custody_scan::workflow::is_workflow(origin.path) {
        let text = String::from_utf8_lossy(bytes);
        let (f, x) = custody_scan::facts::workflow(origin, &text, found);
        findings.extend(f);
        facts.extend(x);
    }
}

/// Why a binary file was skipped.
fn binary_note(share: f64) -> String {
    format!(
        "binary: {:.0}% of its first 8 KiB are control bytes",
        share * 100.0
    )
}

/// One blob of history. Blobs never change, so only blobs with findings make
/// a source batch: re-scanning a repository adds what new commits brought.
fn scan_blob(
    scanner: &Scanner,
    fp: &custody_model::Fingerprinter,
    history: &History,
    reader: &custody_scan::git::Reader,
    blob: &custody_scan::git::Blob,
    validate: bool,
) -> Scanned {
    let origin = Origin {
        path: &blob.path,
        git: Some(GitOrigin {
            repo: &history.name,
            commit: &blob.commit,
            current: blob.current,
        }),
    };
    let shown = origin.display();
    let mut out = Scanned {
        repository: Some(history.name.clone()),
        commit: Some(blob.commit.id.clone()),
        ..Scanned::nothing(blob.path.clone())
    };
    let bytes = match reader.read(blob, MAX_FILE) {
        Ok(b) => b,
        Err(message) => {
            out.error = Some(InputError::new(
                "secret-scan",
                &shown,
                Location::File,
                message,
            ));
            return out;
        }
    };
    out.bytes = bytes.len() as u64;
    let bytes = custody_model::text::decode(&bytes).into_owned();
    if let Some(share) = custody_model::text::binary_share(&bytes) {
        out.skipped = Some(binary_note(share));
        return out;
    }
    if let Some(rank) = custody_scan::codeowners::priority(&blob.path).filter(|_| blob.current) {
        let rules = custody_scan::codeowners::CodeOwners::parse(&String::from_utf8_lossy(&bytes));
        out.codeowners = Some((rank, blob.path.clone(), rules));
    }
    if custody_scan::iac::is_terraform(&blob.path) {
        let (decls, backend) = custody_scan::iac::parse(&String::from_utf8_lossy(&bytes));
        if !decls.is_empty() || backend.is_some() {
            out.iac = Some(custody_scan::iac::Version {
                path: blob.path.clone(),
                commit: blob.commit.clone(),
                current: blob.current,
                decls,
                backend,
            });
        }
    }
    let found = scan_found(scanner, &blob.path, &bytes);
    let (mut findings, mut facts) = facts(fp, &origin, &found);
    with_workflow(&origin, &bytes, &found, &mut findings, &mut facts);
    if facts.is_empty() {
        return out;
    }
    let records = found.len();
    if validate {
        out.candidates = to_validate(found, &findings);
    }
    out.findings = findings;
    out.batch = Some(SourceBatch {
        unparsed: None,
        prepared: None,
        path: shown.clone(),
        format: "secret-scan".into(),
        scope: format!("secret-scan:git:{}:{}:{}", history.name, blob.id, blob.path),
        sha256: None,
        observed_at: None,
        records,
        facts,
        errors: Vec::new(),
    });
    out
}

/// Every blob of every repository under `inputs`, scanned in parallel.
fn scan_histories(
    inputs: &[PathBuf],
    scanner: &Scanner,
    fp: &custody_model::Fingerprinter,
    progress: &dyn Progress,
    repos_out: &mut Vec<RepositoryOut>,
    errors: &mut Vec<InputError>,
    validate: bool,
) -> Vec<Scanned> {
    let mut dirs = Vec::new();
    for p in inputs.iter().filter(|p| p.is_dir()) {
        find_repos(p, &mut dirs);
    }
    let mut scanned = Vec::new();
    for dir in dirs {
        let shown = dir.display().to_string();
        let history = match History::open(&dir, &shown) {
            Ok(h) => h,
            Err(e) => {
                errors.push(InputError::new(
                    "secret-scan",
                    &shown,
                    Location::File,
                    format!("{}: {}", e.what, e.message),
                ));
                continue;
            }
        };
        progress.stage(
            &format!("history of {}", history.name),
            Some(history.blobs.len() as u64),
            Unit::Blobs,
        );
        let found: Vec<Scanned> = history
            .blobs
            .par_iter()
            .map_init(
                || history.reader(),
                |reader, blob| {
                    let s = scan_blob(scanner, fp, &history, reader, blob, validate);
                    progress.advance(1);
                    s
                },
            )
            .collect();
        progress.done();
        // Who wrote the Terraform code: one source for the whole history.
        let versions: Vec<custody_scan::iac::Version> =
            found.iter().filter_map(|s| s.iac.clone()).collect();
        // GitHub reads the first of its three places that exists.
        let owners = found
            .iter()
            .filter_map(|s| s.codeowners.as_ref())
            .min_by_key(|(rank, _, _)| *rank);
        let iac = custody_scan::iac::facts(
            &history.name,
            &versions,
            owners.map(|(_, path, rules)| (path.as_str(), rules)),
        );
        let repo_name = history.name.as_str();
        let owner_errors: Vec<InputError> = owners
            .into_iter()
            .flat_map(|(_, path, rules)| {
                rules.errors.iter().map(move |(line, why)| {
                    InputError::new(
                        "codeowners",
                        &format!("{path} ({repo_name}, HEAD)"),
                        Location::Line(*line),
                        format!("GitHub skips this line: {why}"),
                    )
                })
            })
            .collect();
        errors.extend(owner_errors);
        if !iac.is_empty() {
            scanned.push(Scanned {
                repository: Some(history.name.clone()),
                batch: Some(SourceBatch {
                    unparsed: None,
                    prepared: None,
                    path: format!("{} (Terraform history)", history.name),
                    format: "terraform-history".into(),
                    scope: format!("terraform-history:{}", history.name),
                    sha256: None,
                    observed_at: None,
                    records: versions.len(),
                    facts: iac,
                    errors: Vec::new(),
                }),
                ..Scanned::nothing(shown.clone())
            });
        }
        repos_out.push(RepositoryOut {
            repository: history.name.clone(),
            dir: shown,
            refs: history.refs,
            commits: history.commits,
            blobs: history.blobs.len(),
            megabytes: found.iter().map(|s| s.bytes).sum::<u64>() as f64 / 1e6,
        });
        scanned.extend(found);
    }
    scanned
}

/// One credential and every place it was found.
#[derive(Serialize)]
pub struct CredentialOut {
    /// `aws-access-key:AKIA…` or `fp:<keyed fingerprint>`.
    pub credential: String,
    pub kind: &'static str,
    /// Who issues it (`aws`, `github`, `slack`…): what it is for.
    pub provider: &'static str,
    /// The account, org, workspace or host its format names, when it does.
    pub account: Option<String>,
    pub rules: Vec<String>,
    pub preview: String,
    pub locations: Vec<LocationOut>,
    /// Whether its issuer still accepts it (`--validate`).
    pub liveness: Option<custody_validate::Verdict>,
}

#[derive(Serialize)]
pub struct LocationOut {
    /// `path:line:column`, or the Kubernetes Secret key or MCP server field and where it is.
    pub place: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub rule: String,
    /// For history: the repository (`path` is then the path in the commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// For history: the commit that introduced the blob.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A file or blob read but not scanned.
#[derive(Serialize)]
pub struct SkippedOut {
    pub path: String,
    /// For history: the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub why: String,
}

/// One repository whose history was scanned.
#[derive(Serialize)]
pub struct RepositoryOut {
    /// `host/owner/repo` from `remote.origin.url`, or the folder.
    pub repository: String,
    pub dir: String,
    pub refs: usize,
    pub commits: usize,
    /// Distinct blobs, each scanned once.
    pub blobs: usize,
    pub megabytes: f64,
}

#[derive(Serialize)]
pub struct ScanOut {
    pub files: usize,
    /// Files and blobs read but not scanned, and why (binary).
    pub skipped: Vec<SkippedOut>,
    /// Repositories whose history was scanned (`--git`).
    pub repositories: Vec<RepositoryOut>,
    pub megabytes: f64,
    pub seconds: f64,
    pub credentials: Vec<CredentialOut>,
    pub errors: Vec<InputError>,
    /// The snapshot written with `--ingest`.
    pub snapshot: Option<i64>,
}

/// Scans `inputs` and groups what was found by credential; also returns one
/// source batch per scanned file, for `--ingest`.
pub fn collect(
    inputs: &[PathBuf],
    opts: Options,
    fp: &Fingerprinter,
    progress: &dyn Progress,
) -> Result<(ScanOut, Vec<SourceBatch>)> {
    let started = Instant::now();
    let scanner = Scanner::builtin();
    let walked = candidates(inputs, Hidden::Walk, "secret-scan");
    let mut errors = walked.errors;
    let candidates = walked.files;
    progress.stage("files", Some(candidates.len() as u64), Unit::Files);
    let mut scanned: Vec<Scanned> = candidates
        .par_iter()
        .map_init(Vec::new, |buf, c| {
            let s = scan_file(&scanner, fp, c, buf, opts);
            if buf.capacity() > 8 << 20 {
                *buf = Vec::new();
            }
            progress.advance(1);
            s
        })
        .collect();
    progress.done();
    let files = scanned.len();
    let mut repositories = Vec::new();
    if opts.git {
        scanned.extend(scan_histories(
            inputs,
            &scanner,
            fp,
            progress,
            &mut repositories,
            &mut errors,
            opts.validate.is_some(),
        ));
    }
    let bytes: u64 = scanned.iter().map(|s| s.bytes).sum();
    let mut by_credential: BTreeMap<String, CredentialOut> = BTreeMap::new();
    let mut batches = Vec::new();
    // MCP servers on a host, and what was found where: an agent also holds
    // the ambient credentials of its user's home.
    let mut agents = Vec::new();
    // Per configuration: its servers' variables and the files they name.
    let mut env_by_config: BTreeMap<String, EnvAgents> = BTreeMap::new();
    // Agents that select an AWS profile, and the profile each found key is in.
    let mut profiles: std::collections::HashMap<custody_model::Key, String> = Default::default();
    let mut profile_of: std::collections::HashMap<String, String> = Default::default();
    let mut found_at = Vec::new();
    let mut assigned = Vec::new();
    let mut skipped = Vec::new();
    let mut to_check: Vec<custody_validate::Candidate> = Vec::new();
    for s in scanned {
        errors.extend(s.error);
        to_check.extend(s.candidates);
        if let Some(why) = s.skipped {
            skipped.push(SkippedOut {
                path: s.path.clone(),
                repository: s.repository.clone(),
                why,
            });
        }
        if s.commit.is_none() {
            for f in &s.findings {
                if let Some(p) = &f.profile {
                    profile_of.insert(f.credential.clone(), p.clone());
                }
            }
            let servers = s
                .batch
                .iter()
                .flat_map(|b| &b.facts)
                .filter_map(|f| match f {
                    custody_model::Fact::Node(n) if n.kind == "mcp_server" => Some(n),
                    _ => None,
                });
            for n in servers {
                let (Some(key), Some(config)) = (
                    n.keys.first(),
                    n.props.get("config").and_then(serde_json::Value::as_str),
                ) else {
                    continue;
                };
                agents.push((key.clone(), config.to_string()));
                if let Some(p) = n
                    .props
                    .get("aws_profile")
                    .and_then(serde_json::Value::as_str)
                {
                    profiles.insert(key.clone(), p.to_string());
                }
                let vars: Vec<String> = n
                    .props
                    .get("needs_env")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let files: Vec<(String, String)> = n
                    .props
                    .get("credential_files")
                    .and_then(serde_json::Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect();
                if vars.is_empty() && files.is_empty() {
                    continue;
                }
                let e = env_by_config.entry(config.to_string()).or_default();
                if !vars.is_empty() {
                    e.0.push((key.clone(), config.to_string(), vars));
                }
                if !files.is_empty() {
                    e.1.push((key.clone(), config.to_string(), files));
                }
            }
            assigned.extend(
                s.findings.iter().filter_map(|f| {
                    Some((s.path.clone(), f.variable.clone()?, f.credential.clone()))
                }),
            );
            found_at.extend(
                s.findings
                    .iter()
                    .map(|f| (s.path.clone(), f.credential.clone())),
            );
        }
        batches.extend(s.batch);
        for f in s.findings {
            let e = by_credential
                .entry(f.credential.clone())
                .or_insert_with(|| CredentialOut {
                    credential: f.credential.clone(),
                    kind: f.kind,
                    provider: f.provider,
                    account: f.account.clone(),
                    rules: Vec::new(),
                    preview: f.preview.clone(),
                    locations: Vec::new(),
                    liveness: None,
                });
            if e.account.is_none() {
                e.account = f.account.clone();
            }
            if !e.rules.contains(&f.rule) {
                e.rules.push(f.rule.clone());
            }
            e.locations.push(LocationOut {
                place: f.place,
                path: s.path.clone(),
                line: f.line,
                column: f.column,
                rule: f.rule,
                repository: s.repository.clone(),
                commit: s.commit.clone(),
            });
        }
    }
    if let Some(vopts) = opts.validate {
        let verdicts = validate(to_check, &vopts, progress)?;
        for v in verdicts {
            let Some(c) = by_credential.get_mut(&v.credential) else {
                continue;
            };
            batches.extend(liveness_batch(&v, c.kind));
            c.liveness = Some(v);
        }
    }
    let mut by_home: BTreeMap<String, Vec<(custody_model::Key, String)>> = BTreeMap::new();
    for (agent, config) in agents {
        if let Some(home) = custody_scan::facts::home_of(&config) {
            by_home
                .entry(home.to_string())
                .or_default()
                .push((agent, config));
        }
    }
    for (home, agents) in by_home {
        let mut facts = custody_scan::facts::ambient_holds(&agents, &found_at);
        // A server started with `AWS_PROFILE` uses that profile's key of
        // the shared credentials file, not the others.
        facts.retain(|f| match f {
            custody_model::Fact::Edge(e) => {
                match (profiles.get(&e.from.key), profile_of.get(e.to.key.as_str())) {
                    (Some(wanted), Some(has)) => wanted == has,
                    _ => true,
                }
            }
            custody_model::Fact::Node(_) => true,
        });
        // One source per home, so a later scan of the same home replaces it.
        batches.push(derived(&home, format!("secret-scan-ambient:{home}"), facts));
    }
    // What a server reads from its host's environment, where the scan found
    // the host setting it (`.env`, shell start-up files), and the credential
    // files its configuration names: one source per configuration.
    for (config, (needs, files)) in env_by_config {
        let mut facts = custody_scan::facts::env_holds(&needs, &assigned);
        facts.extend(custody_scan::facts::file_holds(&files, &found_at));
        batches.push(derived(&config, format!("secret-scan-env:{config}"), facts));
    }
    let out = ScanOut {
        files,
        skipped,
        repositories,
        megabytes: bytes as f64 / 1e6,
        seconds: started.elapsed().as_secs_f64(),
        credentials: by_credential.into_values().collect(),
        errors,
        snapshot: None,
    };
    Ok((out, batches))
}

/// Asks each distinct credential's issuer once. Where one credential was
/// found several times, the first find that can be checked is used (for an
/// AWS key, one whose secret was paired with its key id).
fn validate(
    mut to_check: Vec<custody_validate::Candidate>,
    options: &custody_validate::Options,
    progress: &dyn Progress,
) -> Result<Vec<custody_validate::Verdict>> {
    to_check.sort_by_key(|c| c.check == custody_validate::AWS_STS && c.key_id.is_none());
    let mut seen = std::collections::HashSet::new();
    to_check.retain(|c| seen.insert(c.credential.clone()));
    if to_check.is_empty() {
        return Ok(Vec::new());
    }
    progress.stage(
        "asking issuers whether credentials work",
        Some(to_check.len() as u64),
        Unit::Credentials,
    );
    let verdicts = custody_validate::validate_all(to_check, options, &|| progress.advance(1))?;
    progress.done();
    Ok(verdicts)
}

/// What validation learnt about one credential, as its own source (so a later
/// check replaces it): the state and when, on the credential; for an AWS key
/// whose caller identity is an IAM user, the user it authenticates as; for a
/// GitHub token, the GitHub user who owns it.
fn liveness_batch(v: &custody_validate::Verdict, kind: &str) -> Option<SourceBatch> {
    use custody_model::{EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, NodeFact, Provenance};
    let key = Key::parse(&v.credential)?;
    let at = Provenance::at(Location::File);
    let mut props = serde_json::Map::new();
    props.insert("liveness".into(), json!(v.state.as_str()));
    props.insert("liveness_checked_at".into(), json!(v.checked_at));
    props.insert("liveness_check".into(), json!(v.check));
    props.insert("liveness_detail".into(), json!(v.detail));
    if let Some(p) = &v.principal {
        props.insert("validated_principal".into(), json!(p));
    }
    if let Some(a) = &v.account {
        props.insert("validated_account".into(), json!(a));
    }
    let mut facts = vec![Fact::Node(NodeFact {
        label: Label::Credential,
        kind: kind.into(),
        system: "validate".into(),
        keys: vec![key.clone()],
        name: None,
        props,
        prov: at.clone(),
    })];
    // Who the issuer says it is, where the graph names it the same way: an
    // IAM user (`arn:aws:iam::123456789012:user/path/name`) the key
    // authenticates as; the GitHub user whose token it is (`GET /user`
    // answers with the login of the token's owner), as the GitHub connector
    // records a token's owner.
    let principal = v
        .principal
        .as_deref()
        .filter(|_| v.state == custody_validate::State::Live);
    let edge = match v.check.as_str() {
        custody_validate::AWS_STS => principal
            .and_then(|arn| arn.strip_prefix("arn:aws:iam::"))
            .and_then(|rest| rest.split_once(":user/"))
            .map(|(account, path)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                (
                    EdgeKind::AuthenticatesAs,
                    custody_connectors::aws::user_endpoint(account, name),
                    serde_json::Map::new(),
                )
            }),
        "github-user" => principal.map(|login| {
            let mut props = serde_json::Map::new();
            props.insert(
                "evidence".into(),
                json!(format!(
                    "GitHub's GET /user answered as {login} (scan --validate)"
                )),
            );
            props.insert("method".into(), json!("system-owner"));
            props.insert("confidence".into(), json!(1.0));
            (
                EdgeKind::OwnedBy,
                Endpoint::new(Label::Human, custody_connectors::github::user_key(login)),
                props,
            )
        }),
        _ => None,
    };
    if let Some((kind, to, props)) = edge {
        facts.push(Fact::Edge(EdgeFact {
            kind,
            from: Endpoint::new(Label::Credential, key),
            to,
            props,
            prov: at,
        }));
    }
    Some(SourceBatch {
        unparsed: None,
        prepared: None,
        path: format!("validate:{}", v.check),
        format: "secret-validate".into(),
        scope: format!("secret-validate:{}", v.credential),
        sha256: None,
        observed_at: Some(v.checked_at.clone()),
        records: facts.len(),
        facts,
        errors: Vec::new(),
    })
}

/// One configuration's servers: (agent, config, variables it reads) and
/// (agent, config, credential files it names).
type EnvAgents = (
    Vec<(custody_model::Key, String, Vec<String>)>,
    Vec<custody_scan::facts::NamedFiles>,
);

/// A source the scan derives from several files (an agent's home or
/// configuration) rather than reads from one.
fn derived(path: &str, scope: String, facts: Vec<custody_model::Fact>) -> SourceBatch {
    SourceBatch {
        unparsed: None,
        prepared: None,
        path: path.to_string(),
        format: "secret-scan".into(),
        scope,
        sha256: None,
        observed_at: None,
        records: facts.len(),
        facts,
        errors: Vec::new(),
    }
}

/// One detection rule as `scan --list-rules` shows it.
#[derive(Serialize)]
pub struct RuleOut {
    pub id: String,
    pub name: String,
    /// Who issues what it finds.
    pub provider: String,
    /// The credential kind its finds become.
    pub kind: String,
    /// The liveness check `--validate` runs for its finds, if any.
    pub validate: Option<String>,
    /// Properties every find carries (`encrypted`).
    pub props: serde_json::Map<String, serde_json::Value>,
}

/// Every built-in detection rule, in the order they are tried.
pub fn rule_catalog() -> Vec<RuleOut> {
    custody_scan::Rules::builtin_ref()
        .rules
        .iter()
        .map(|r| RuleOut {
            id: r.id.clone(),
            name: r.name.clone(),
            provider: r.provider.clone(),
            kind: r.kind.clone(),
            validate: r.validate.clone(),
            props: r.props.clone(),
        })
        .collect()
}

/// SARIF 2.1.0: one result per place, fingerprinted so code-scanning tools
/// track a secret across commits without seeing it.
pub fn sarif(scanner: &Scanner, out: &ScanOut) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = scanner
        .rules()
        .iter()
        .map(|r| {
            json!({"id": r.id, "name": r.id, "shortDescription": {"text": r.name},
                        "defaultConfiguration": {"level": "error"}})
        })
        .collect();
    let mut results = Vec::new();
    for c in &out.credentials {
        for l in &c.locations {
            results.push(json!({
                "ruleId": l.rule,
                "level": "error",
                "message": {"text": format!("{} ({}, {}) found here; custody never stores the value.", c.kind, c.preview, c.credential)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": l.path},
                    "region": {"startLine": l.line, "startColumn": l.column}}}],
                "partialFingerprints": {"custodyCredential/v1": c.credential},
                "properties": {"repository": l.repository, "commit": l.commit,
                               "provider": c.provider, "kind": c.kind, "account": c.account,
                               "liveness": c.liveness.as_ref().map(|v| json!({
                                   "state": v.state.as_str(), "checked_at": v.checked_at,
                                   "detail": v.detail, "principal": v.principal}))},
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "custody", "informationUri": "https://example.invalid/custody",
                                "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }]
    })
}

/// `scan --ingest`: scan, store what was found as one snapshot, and re-read
/// the graph-level usage rules for the credentials it stored (a credential
/// already seen in audit logs, now found in git history, is a leaked
/// credential in use). Returns the scan (with its snapshot) and how many
/// alerts are new.
pub fn scan_and_ingest(
    store: &mut dyn Store,
    inputs: &[PathBuf],
    opts: Options,
    progress: &dyn Progress,
) -> Result<(ScanOut, usize)> {
    let fp = store.fingerprinter().clone();
    let (mut out, batches) = collect(
        inputs,
        Options {
            ingest: true,
            ..opts
        },
        &fp,
        progress,
    )?;
    let keys = crate::logs::credential_keys(&batches);
    crate::progress::step(progress, "storing what was found");
    let report = store.ingest_all(batches, &mut |p| crate::ingest::store_progress(progress, p))?;
    out.snapshot = Some(report.snapshot);
    let raised = crate::logs::recheck(store, &keys)?;
    progress.done();
    Ok((out, raised))
}
