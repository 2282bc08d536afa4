//! Precision and recall per rule on the hand-labelled corpus
//! (`tests/corpus/labels.toml`: real-shaped secrets and look-alikes, every value
//! fake). Run with `--nocapture` to see the table; docs/SCANNING.md records it.

use custody_scan::facts::scan_file;
use custody_scan::Scanner;
use std::collections::{BTreeMap, BTreeSet};

#[derive(serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    note: String,
    path: String,
    expect: Vec<String>,
    text: String,
}

/// Rules that judge by a variable's name and the value's entropy rather than
/// by a format: reported, but outside the ≥ 0.99 bar.
const GENERIC: &[&str] = &["generic-secret-assignment", "named-secret-value"];

#[derive(Default, Clone, Copy)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Score {
    fn precision(&self) -> f64 {
        let found = self.tp + self.fp;
        if found == 0 {
            1.0
        } else {
            self.tp as f64 / found as f64
        }
    }
    fn recall(&self) -> f64 {
        let expected = self.tp + self.fn_;
        if expected == 0 {
            1.0
        } else {
            self.tp as f64 / expected as f64
        }
    }
    fn add(&mut self, o: Score) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

#[test]
fn precision_and_recall_per_rule_on_the_labelled_corpus() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/labels.toml"
    ))
    .unwrap();
    let corpus: Corpus =
        toml::from_str(&text).unwrap_or_else(|e| panic!("labels.toml: {}", e.message()));
    let scanner = Scanner::builtin();
    let mut per_rule: BTreeMap<String, Score> = BTreeMap::new();
    let mut misses = Vec::new();
    for c in &corpus.case {
        let found: BTreeSet<String> = scan_file(&scanner, &c.path, c.text.as_bytes())
            .iter()
            .map(|f| format!("{}@{}", f.rule, f.line))
            .collect();
        let expected: BTreeSet<String> = c.expect.iter().cloned().collect();
        let rule_of = |s: &String| s.split('@').next().unwrap_or_default().to_string();
        for hit in found.intersection(&expected) {
            per_rule.entry(rule_of(hit)).or_default().tp += 1;
        }
        for fp in found.difference(&expected) {
            per_rule.entry(rule_of(fp)).or_default().fp += 1;
            misses.push(format!("false positive {fp} in {} ({})", c.path, c.note));
        }
        for fn_ in expected.difference(&found) {
            per_rule.entry(rule_of(fn_)).or_default().fn_ += 1;
            misses.push(format!("missed {fn_} in {} ({})", c.path, c.note));
        }
    }
    let (mut specific, mut all) = (Score::default(), Score::default());
    println!(
        "{:<34} {:>3} {:>3} {:>3} {:>9} {:>7}",
        "rule", "tp", "fp", "fn", "precision", "recall"
    );
    for (rule, s) in &per_rule {
        println!(
            "{rule:<34} {:>3} {:>3} {:>3} {:>9.2} {:>7.2}",
            s.tp,
            s.fp,
            s.fn_,
            s.precision(),
            s.recall()
        );
        all.add(*s);
        if !GENERIC.contains(&rule.as_str()) {
            specific.add(*s);
        }
    }
    println!(
        "{:<34} {:>3} {:>3} {:>3} {:>9.2} {:>7.2}",
        "non-generic rules",
        specific.tp,
        specific.fp,
        specific.fn_,
        specific.precision(),
        specific.recall()
    );
    println!(
        "{:<34} {:>3} {:>3} {:>3} {:>9.2} {:>7.2}",
        "all rules",
        all.tp,
        all.fp,
        all.fn_,
        all.precision(),
        all.recall()
    );
    println!("{} cases; {}", corpus.case.len(), misses.join("; "));
    assert!(
        specific.precision() >= 0.99 && specific.recall() >= 0.99,
        "non-generic precision {:.2}, recall {:.2}: {misses:#?}",
        specific.precision(),
        specific.recall()
    );
    assert!(
        all.precision() >= 0.9 && all.recall() >= 0.9,
        "overall precision {:.2}, recall {:.2}: {misses:#?}",
        all.precision(),
        all.recall()
    );
}
