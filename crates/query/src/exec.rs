//! Evaluation: patterns are matched from their most selective node (a key
//! lookup when the query names one, else the smallest label or kind), then
//! expanded edge by edge; rows flow through `WITH` and `RETURN` projections.

use crate::parse::{Dir, Expr, MatchClause, NodePattern, Op, PathPattern, Projection, Query};
use crate::{Graph, Limits, QueryError};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// A relationship bound to a variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Rel {
    pub id: i64,
    pub kind: String,
    pub from: i64,
    pub to: i64,
    pub props: custody_model::Props,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Val>),
    Node(i64),
    Rel(Arc<Rel>),
}

impl Val {
    fn from_json(j: &Json) -> Val {
        match j {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => n
                .as_i64()
                .map(Val::Int)
                .unwrap_or_else(|| Val::Float(n.as_f64().unwrap_or(f64::NAN))),
            Json::String(s) => Val::Str(s.clone()),
            Json::Array(xs) => Val::List(xs.iter().map(Val::from_json).collect()),
            // Maps are kept as their JSON text: comparable, printable.
            Json::Object(_) => Val::Str(j.to_string()),
        }
    }

    fn truthy(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Null => None,
            _ => Some(true),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Int(_) | Val::Float(_) => "number",
            Val::Str(_) => "string",
            Val::List(_) => "list",
            Val::Node(_) => "node",
            Val::Rel(_) => "relationship",
        }
    }
}

/// Orders values of any type: null last, then by type, then by value.
fn order(a: &Val, b: &Val) -> Ordering {
    fn rank(v: &Val) -> u8 {
        match v {
            Val::Bool(_) => 0,
            Val::Int(_) | Val::Float(_) => 1,
            Val::Str(_) => 2,
            Val::List(_) => 3,
            Val::Node(_) => 4,
            Val::Rel(_) => 5,
            Val::Null => 6,
        }
    }
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            num(a).partial_cmp(&num(b)).unwrap_or(Ordering::Equal)
        }
        (Val::Str(x), Val::Str(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Node(x), Val::Node(y)) => x.cmp(y),
        (Val::Rel(x), Val::Rel(y)) => x.id.cmp(&y.id),
        (Val::List(x), Val::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = order(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn num(v: &Val) -> f64 {
    match v {
        Val::Int(i) => *i as f64,
        Val::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// Cypher comparison: null when either side is null or the types differ.
fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_))
        | (Val::Str(_), Val::Str(_))
        | (Val::Bool(_), Val::Bool(_)) => Some(order(a, b)),
        _ => None,
    }
}

fn equals(a: &Val, b: &Val) -> Option<bool> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => Some(num(a) == num(b)),
        _ => Some(a == b),
    }
}

/// One row: variable → value.
type Row = BTreeMap<String, Val>;

pub struct Exec<'g> {
    pub graph: &'g dyn Graph,
    pub params: &'g Map<String, Json>,
    pub limits: Limits,
    started: Instant,
    /// Rows and expansions produced so far (the work budget).
    work: u64,
    /// When to look at the clock next.
    next_clock: u64,
    /// The current MATCH's WHERE conjuncts with the variables each needs:
    /// each is checked as soon as its variables are bound, pruning early.
    conjuncts: Vec<(Expr, Vec<String>)>,
}

/// The top-level `AND`-ed parts of a predicate.
fn split_and(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Bin(Op::And, a, b) => {
            split_and(a, out);
            split_and(b, out);
        }
        other => out.push(other.clone()),
    }
}

/// The variables an expression reads.
fn vars_of(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Var(v) => out.push(v.clone()),
        Expr::Prop(x, _)
        | Expr::Not(x)
        | Expr::Neg(x)
        | Expr::IsNull(x, _)
        | Expr::HasLabel(x, _) => vars_of(x, out),
        Expr::Bin(_, a, b) => {
            vars_of(a, out);
            vars_of(b, out);
        }
        Expr::List(xs) | Expr::Call(_, _, xs) => xs.iter().for_each(|x| vars_of(x, out)),
        Expr::Exists(p) => {
            out.extend(p.nodes.iter().filter_map(|n| n.var.clone()));
            out.extend(p.rels.iter().filter_map(|r| r.var.clone()));
        }
        Expr::Lit(_) | Expr::Param(_) | Expr::CountStar => {}
    }
}

pub struct Output {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Val>>,
}

const LABELS: &[&str] = &[
    "Credential",
    "Principal",
    "Agent",
    "Human",
    "Group",
    "Location",
    "Workload",
    "Resource",
    "Finding",
    "Alert",
];

impl<'g> Exec<'g> {
    pub fn new(graph: &'g dyn Graph, params: &'g Map<String, Json>, limits: Limits) -> Exec<'g> {
        Exec {
            graph,
            params,
            limits,
            started: Instant::now(),
            work: 0,
            next_clock: 0,
            conjuncts: Vec::new(),
        }
    }

    fn tick(&mut self, n: u64) -> Result<(), QueryError> {
        self.work += n;
        if self.work > self.limits.max_work {
            return Err(QueryError::Limit(format!(
                "the query visited more than {} rows and edges; narrow it (a key, a label, a shorter path)",
                self.limits.max_work
            )));
        }
        if self.work >= self.next_clock {
            self.next_clock = self.work + 1024;
        } else {
            return Ok(());
        }
        if self.started.elapsed() > self.limits.timeout {
            return Err(QueryError::Limit(format!(
                "the query ran longer than {:.1}s",
                self.limits.timeout.as_secs_f64()
            )));
        }
        Ok(())
    }

    pub fn run(&mut self, q: &Query) -> Result<Output, QueryError> {
        let mut rows: Vec<Row> = vec![Row::new()];
        for part in &q.parts {
            for m in &part.matches {
                rows = self.match_clause(m, rows)?;
            }
            let (columns, out) = self.project(&part.projection, rows)?;
            if part.projection.is_return {
                let rows = out
                    .into_iter()
                    .map(|r| {
                        columns
                            .iter()
                            .map(|c| r.get(c).cloned().unwrap_or(Val::Null))
                            .collect()
                    })
                    .collect();
                return Ok(Output { columns, rows });
            }
            rows = out;
        }
        Err(QueryError::Semantic("the query has no RETURN".into()))
    }

    fn match_clause(&mut self, m: &MatchClause, rows: Vec<Row>) -> Result<Vec<Row>, QueryError> {
        let mut parts = Vec::new();
        if let Some(f) = &m.filter {
            split_and(f, &mut parts);
        }
        self.conjuncts = parts
            .into_iter()
            .map(|e| {
                let mut vars = Vec::new();
                vars_of(&e, &mut vars);
                (e, vars)
            })
            .collect();
        let result = self.match_rows(m, rows);
        self.conjuncts.clear();
        result
    }

    /// Whether every WHERE conjunct whose variables are all bound holds.
    fn passes(&self, row: &Row) -> Result<bool, QueryError> {
        for (e, vars) in &self.conjuncts {
            if vars.iter().all(|v| row.contains_key(v)) && self.eval(e, row)?.truthy() != Some(true)
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn match_rows(&mut self, m: &MatchClause, rows: Vec<Row>) -> Result<Vec<Row>, QueryError> {
        let mut out = Vec::new();
        for row in rows {
            let mut found = vec![row.clone()];
            for p in &m.patterns {
                let mut next = Vec::new();
                for r in found {
                    self.match_path(p, m.filter.as_ref(), r, &mut next)?;
                }
                found = next;
            }
            if m.filter.is_some() {
                // Conjuncts whose variables are all bound were checked as the
                // path grew (`passes`); only the others are left to check.
                let mut kept = Vec::new();
                'rows: for r in found {
                    for (e, vars) in &self.conjuncts {
                        if !vars.iter().all(|v| r.contains_key(v))
                            && self.eval(e, &r)?.truthy() != Some(true)
                        {
                            continue 'rows;
                        }
                    }
                    kept.push(r);
                }
                found = kept;
            }
            if found.is_empty() && m.optional {
                // OPTIONAL MATCH keeps the row with its new variables null.
                let mut r = row;
                for p in &m.patterns {
                    for v in p.nodes.iter().filter_map(|n| n.var.as_ref()) {
                        r.entry(v.clone()).or_insert(Val::Null);
                    }
                    for v in p.rels.iter().filter_map(|n| n.var.as_ref()) {
                        r.entry(v.clone()).or_insert(Val::Null);
                    }
                }
                out.push(r);
            } else {
                out.extend(found);
            }
        }
        Ok(out)
    }

    /// A key the query pins a node to: `{key: …}` in the pattern, or
    /// `var.key = …` among the WHERE clause's top-level conjuncts.
    fn pinned_key(
        &self,
        n: &NodePattern,
        filter: Option<&Expr>,
        row: &Row,
    ) -> Result<Option<Val>, QueryError> {
        for (k, e) in &n.props {
            if k == "key" {
                return self.eval_const(e, row);
            }
        }
        let Some(var) = n.var.as_ref() else {
            return Ok(None);
        };
        let mut stack: Vec<&Expr> = filter.into_iter().collect();
        while let Some(e) = stack.pop() {
            match e {
                Expr::Bin(Op::And, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Expr::Bin(Op::Eq, a, b) => {
                    for (p, v) in [(a, b), (b, a)] {
                        if let Expr::Prop(x, k) = p.as_ref() {
                            if k == "key" && matches!(x.as_ref(), Expr::Var(w) if w == var) {
                                if let Some(v) = self.eval_const(v, row)? {
                                    return Ok(Some(v));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Evaluates an expression that needs no pattern variable (a literal, a
    /// parameter, or a variable already bound).
    fn eval_const(&self, e: &Expr, row: &Row) -> Result<Option<Val>, QueryError> {
        Ok(match e {
            Expr::Lit(_) | Expr::Param(_) => Some(self.eval(e, row)?),
            Expr::Var(v) => row.get(v).cloned(),
            _ => None,
        })
    }

    /// Candidate node ids for a node pattern: bound, pinned by key, or scanned
    /// by its most selective label or kind.
    fn candidates(
        &mut self,
        n: &NodePattern,
        filter: Option<&Expr>,
        row: &Row,
    ) -> Result<(u8, Vec<i64>), QueryError> {
        if let Some(v) = n.var.as_ref().and_then(|v| row.get(v)) {
            return Ok((
                0,
                match v {
                    Val::Node(id) => vec![*id],
                    _ => Vec::new(),
                },
            ));
        }
        if let Some(k) = self.pinned_key(n, filter, row)? {
            let Val::Str(k) = k else {
                return Ok((1, Vec::new()));
            };
            return Ok((1, self.graph.find(&k)?.into_iter().collect()));
        }
        Ok((2, Vec::new()))
    }

    /// The label or kind filters a node pattern's labels stand for.
    fn filters(l: &str) -> Vec<(Option<&str>, Option<&str>)> {
        if l == "Identity" {
            vec![
                (Some("Credential"), None),
                (Some("Principal"), None),
                (Some("Agent"), None),
            ]
        } else if LABELS.contains(&l) {
            vec![(Some(l), None)]
        } else {
            vec![(None, Some(l))]
        }
    }

    /// How many nodes the most selective of a pattern's labels has, and which.
    fn smallest_label<'n>(
        &self,
        n: &'n NodePattern,
    ) -> Result<Option<(usize, &'n str)>, QueryError> {
        let mut best: Option<(usize, &str)> = None;
        for l in &n.labels {
            let mut count = 0;
            for (label, kind) in Self::filters(l) {
                count += self.graph.count(label, kind)?;
            }
            if best.is_none_or(|(c, _)| count < c) {
                best = Some((count, l.as_str()));
            }
        }
        Ok(best)
    }

    fn scan(&mut self, n: &NodePattern) -> Result<Vec<i64>, QueryError> {
        match self.smallest_label(n)? {
            Some((_, l)) => {
                let mut ids = Vec::new();
                for (label, kind) in Self::filters(l) {
                    ids.extend(self.graph.scan(label, kind)?);
                }
                Ok(ids)
            }
            None if self.limits.allow_full_scan => self.graph.scan(None, None),
            None => Err(QueryError::Limit(
                "a pattern must start from a key, a label or a bound variable; add a label such as (n:Credential) or n.key = '…'"
                    .into(),
            )),
        }
    }

    fn node_matches(&mut self, n: &NodePattern, id: i64, row: &Row) -> Result<bool, QueryError> {
        if let Some(v) = &n.var {
            if let Some(bound) = row.get(v) {
                if bound != &Val::Node(id) {
                    return Ok(false);
                }
            }
        }
        let mut wants = Vec::with_capacity(n.props.len());
        for (k, e) in &n.props {
            wants.push((k, self.eval(e, row)?));
        }
        let mut ok = false;
        self.graph.with_node(id, &mut |node| {
            ok = n.labels.iter().all(|l| {
                node.label == *l
                    || node.kind == *l
                    || (l == "Identity"
                        && matches!(node.label.as_str(), "Credential" | "Principal" | "Agent"))
            }) && wants
                .iter()
                .all(|(k, want)| equals(&node_prop(node, k), want) == Some(true));
        })?;
        Ok(ok)
    }

    fn match_path(
        &mut self,
        p: &PathPattern,
        filter: Option<&Expr>,
        row: Row,
        out: &mut Vec<Row>,
    ) -> Result<(), QueryError> {
        // Start from the most selective node of the chain.
        let mut start = 0;
        let mut start_ids = None;
        let mut best = u8::MAX;
        for (i, n) in p.nodes.iter().enumerate() {
            let (rank, ids) = self.candidates(n, filter, &row)?;
            if rank < best {
                best = rank;
                start = i;
                start_ids = Some(ids);
            }
        }
        let ids = match (best, start_ids) {
            (0 | 1, Some(ids)) => ids,
            _ => {
                // No key or binding: the node with the most selective label,
                // by count (only that one is read).
                let mut chosen: Option<(usize, usize)> = None;
                for (i, n) in p.nodes.iter().enumerate() {
                    if let Some((count, _)) = self.smallest_label(n)? {
                        if chosen.is_none_or(|(_, c)| count < c) {
                            chosen = Some((i, count));
                        }
                    }
                }
                if let Some((i, _)) = chosen {
                    start = i;
                }
                self.scan(&p.nodes[start])?
            }
        };
        for id in ids {
            self.tick(1)?;
            if !self.node_matches(&p.nodes[start], id, &row)? {
                continue;
            }
            let mut r = row.clone();
            if let Some(v) = &p.nodes[start].var {
                r.insert(v.clone(), Val::Node(id));
            }
            if !self.passes(&r)? {
                continue;
            }
            let mut used = HashSet::new();
            self.extend(p, start, start, id, id, r, &mut used, out)?;
        }
        Ok(())
    }

    /// Expands right from `right` (node id `rid`) to the end of the chain, then
    /// left from `left` (node id `lid`) to its start.
    #[allow(clippy::too_many_arguments)]
    fn extend(
        &mut self,
        p: &PathPattern,
        left: usize,
        right: usize,
        lid: i64,
        rid: i64,
        row: Row,
        used: &mut HashSet<i64>,
        out: &mut Vec<Row>,
    ) -> Result<(), QueryError> {
        let (forward, at, from) = if right + 1 < p.nodes.len() {
            (true, right, rid)
        } else if left > 0 {
            (false, left, lid)
        } else {
            if out.len() >= self.limits.max_matches {
                return Err(QueryError::Limit(format!(
                    "the pattern matched more than {} rows before RETURN; narrow it (a key, a label, a shorter path)",
                    self.limits.max_matches
                )));
            }
            out.push(row);
            return self.tick(1);
        };
        let (rel, next_node, dir) = if forward {
            (&p.rels[at], &p.nodes[at + 1], p.rels[at].dir)
        } else {
            let d = match p.rels[at - 1].dir {
                Dir::Out => Dir::In,
                Dir::In => Dir::Out,
                Dir::Both => Dir::Both,
            };
            (&p.rels[at - 1], &p.nodes[at - 1], d)
        };
        let (lo, hi) = match rel.range {
            None => (1, 1),
            Some((lo, hi)) => (
                lo,
                hi.unwrap_or(self.limits.max_hops).min(self.limits.max_hops),
            ),
        };
        // Depth-first over paths of lo..=hi hops, no relationship twice.
        let mut stack: Vec<(i64, Vec<Arc<Rel>>)> = vec![(from, Vec::new())];
        while let Some((node, path)) = stack.pop() {
            let depth = path.len() as u32;
            if depth >= lo && self.node_matches(next_node, node, &row)? {
                let mut r = row.clone();
                if let Some(v) = &rel.var {
                    let bound = if rel.range.is_some() {
                        Val::List(path.iter().cloned().map(Val::Rel).collect())
                    } else {
                        path.first().cloned().map(Val::Rel).unwrap_or(Val::Null)
                    };
                    if let Some(prev) = r.get(v) {
                        if *prev != bound {
                            continue;
                        }
                    }
                    r.insert(v.clone(), bound);
                }
                if let Some(v) = &next_node.var {
                    r.insert(v.clone(), Val::Node(node));
                }
                if !self.passes(&r)? {
                    continue;
                }
                let fresh: Vec<i64> = path
                    .iter()
                    .map(|e| e.id)
                    .filter(|e| used.insert(*e))
                    .collect();
                let (nl, nr, nlid, nrid) = if forward {
                    (left, right + 1, lid, node)
                } else {
                    (left - 1, right, node, rid)
                };
                self.extend(p, nl, nr, nlid, nrid, r, used, out)?;
                for e in fresh {
                    used.remove(&e);
                }
            }
            if depth >= hi {
                continue;
            }
            let edges = self.graph.edges(node)?;
            self.tick(edges.len() as u64)?;
            // Pushed in reverse so paths are explored in edge order.
            for e in edges.iter().rev() {
                let other = match dir {
                    Dir::Out if e.from == node => e.to,
                    Dir::In if e.to == node => e.from,
                    Dir::Both if e.from == node => e.to,
                    Dir::Both if e.to == node => e.from,
                    _ => continue,
                };
                if !rel.types.is_empty() && !rel.types.contains(&e.kind) {
                    continue;
                }
                if used.contains(&e.id) || path.iter().any(|x| x.id == e.id) {
                    continue;
                }
                let mut ok = true;
                for (k, want) in &rel.props {
                    let want = self.eval(want, &row)?;
                    let have = e.props.value(k).map_or(Val::Null, |j| Val::from_json(&j));
                    if equals(&have, &want) != Some(true) {
                        ok = false;
                    }
                }
                if !ok {
                    continue;
                }
                let mut next = path.clone();
                next.push(e.clone());
                stack.push((other, next));
            }
        }
        Ok(())
    }

    fn project(
        &mut self,
        p: &Projection,
        rows: Vec<Row>,
    ) -> Result<(Vec<String>, Vec<Row>), QueryError> {
        let mut columns: Vec<String> = Vec::new();
        let mut items: Vec<(Expr, String)> = Vec::new();
        if p.star {
            if let Some(r) = rows.first() {
                for k in r.keys() {
                    items.push((Expr::Var(k.clone()), k.clone()));
                }
            }
        }
        items.extend(p.items.iter().cloned());
        for (_, a) in &items {
            columns.push(a.clone());
        }
        if p.is_return {
            let mut seen = HashSet::new();
            if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
                return Err(QueryError::Semantic(format!(
                    "the column `{dup}` is returned twice; name one with AS"
                )));
            }
        }
        let aggregating = items.iter().any(|(e, _)| e.is_aggregate());
        // Each output row keeps its input row so ORDER BY may use either.
        let mut out: Vec<(Row, Row)> = Vec::new();
        if aggregating {
            let mut groups: Vec<(Vec<Val>, Vec<Row>)> = Vec::new();
            let mut index: BTreeMap<String, usize> = BTreeMap::new();
            for r in rows {
                let mut key = Vec::new();
                for (e, _) in items.iter().filter(|(e, _)| !e.is_aggregate()) {
                    key.push(self.eval(e, &r)?);
                }
                let k = format!("{key:?}");
                match index.get(&k) {
                    Some(&i) => groups[i].1.push(r),
                    None => {
                        index.insert(k, groups.len());
                        groups.push((key, vec![r]));
                    }
                }
            }
            // With no grouping keys, an empty input is one group (count(*) = 0).
            if groups.is_empty() && items.iter().all(|(e, _)| e.is_aggregate()) {
                groups.push((Vec::new(), Vec::new()));
            }
            for (key, members) in groups {
                let mut o = Row::new();
                let mut ki = key.into_iter();
                for (e, a) in &items {
                    let v = if e.is_aggregate() {
                        self.aggregate(e, &members)?
                    } else {
                        ki.next().unwrap_or(Val::Null)
                    };
                    o.insert(a.clone(), v);
                }
                let first = members.into_iter().next().unwrap_or_default();
                out.push((o, first));
            }
        } else {
            for r in rows {
                let mut o = Row::new();
                for (e, a) in &items {
                    o.insert(a.clone(), self.eval(e, &r)?);
                }
                out.push((o, r));
            }
        }
        if p.distinct {
            let mut seen = HashSet::new();
            out.retain(|(o, _)| seen.insert(format!("{o:?}")));
        }
        if let Some(f) = &p.filter {
            let mut kept = Vec::new();
            for (o, r) in out {
                if self.eval(f, &o)?.truthy() == Some(true) {
                    kept.push((o, r));
                }
            }
            out = kept;
        }
        let count = |e: &Option<Expr>, this: &Exec| -> Result<Option<usize>, QueryError> {
            match e {
                None => Ok(None),
                Some(e) => match this.eval(e, &Row::new())? {
                    Val::Int(n) if n >= 0 => Ok(Some(n as usize)),
                    v => Err(QueryError::Semantic(format!(
                        "SKIP and LIMIT take a non-negative integer, not a {}",
                        v.type_name()
                    ))),
                },
            }
        };
        let skip = count(&p.skip, self)?.unwrap_or(0);
        let limit = count(&p.limit, self)?;
        if !p.order.is_empty() {
            // Keys naming only output columns are read from the output row;
            // others see the input row under it (a merged copy).
            let mut names = Vec::new();
            for (e, _) in &p.order {
                vars_of(e, &mut names);
            }
            let from_output = names.iter().all(|v| columns.contains(v));
            let mut keyed = Vec::with_capacity(out.len());
            for (i, (o, r)) in out.into_iter().enumerate() {
                let mut keys = Vec::with_capacity(p.order.len());
                if from_output {
                    for (e, _) in &p.order {
                        keys.push(self.eval(e, &o)?);
                    }
                } else {
                    let mut env = if aggregating { Row::new() } else { r.clone() };
                    env.extend(o.clone());
                    for (e, _) in &p.order {
                        keys.push(self.eval(e, &env)?);
                    }
                }
                keyed.push((keys, i, o));
            }
            // Ties keep the match order (the index is the last key), so a
            // partial selection for LIMIT returns what a full sort would.
            let cmp = |a: &(Vec<Val>, usize, Row), b: &(Vec<Val>, usize, Row)| {
                for (i, (_, desc)) in p.order.iter().enumerate() {
                    let o = order(&a.0[i], &b.0[i]);
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.1.cmp(&b.1)
            };
            if let Some(l) = limit {
                let keep = skip.saturating_add(l);
                if keep < keyed.len() {
                    if keep > 0 {
                        keyed.select_nth_unstable_by(keep - 1, cmp);
                    }
                    keyed.truncate(keep);
                }
            }
            keyed.sort_unstable_by(cmp);
            out = keyed.into_iter().map(|(_, _, o)| (o, Row::new())).collect();
        }
        let mut rows: Vec<Row> = out.into_iter().skip(skip).map(|(o, _)| o).collect();
        if let Some(l) = limit {
            rows.truncate(l);
        }
        if p.is_return && rows.len() > self.limits.max_rows {
            return Err(QueryError::Limit(format!(
                "the query returns more than {} rows; add LIMIT or narrow it",
                self.limits.max_rows
            )));
        }
        Ok((columns, rows))
    }

    fn aggregate(&mut self, e: &Expr, rows: &[Row]) -> Result<Val, QueryError> {
        match e {
            Expr::CountStar => Ok(Val::Int(rows.len() as i64)),
            Expr::Call(f, _, args)
                if !matches!(f.as_str(), "count" | "collect" | "min" | "max" | "sum" | "avg") =>
            {
                // A scalar function of aggregates: size(collect(x)).
                let mut vals = Vec::new();
                for a in args {
                    vals.push(if a.is_aggregate() {
                        self.aggregate(a, rows)?
                    } else {
                        self.eval(a, rows.first().unwrap_or(&Row::new()))?
                    });
                }
                self.call(f, vals)
            }
            Expr::Call(f, distinct, args) if args.len() == 1 && !args[0].is_aggregate() => {
                let mut vals = Vec::new();
                for r in rows {
                    let v = self.eval(&args[0], r)?;
                    if v != Val::Null {
                        vals.push(v);
                    }
                }
                if *distinct {
                    let mut seen = HashSet::new();
                    vals.retain(|v| seen.insert(format!("{v:?}")));
                }
                Ok(match f.as_str() {
                    "count" => Val::Int(vals.len() as i64),
                    "collect" => Val::List(vals),
                    "min" => vals.into_iter().min_by(order).unwrap_or(Val::Null),
                    "max" => vals.into_iter().max_by(order).unwrap_or(Val::Null),
                    "sum" | "avg" => {
                        let n = vals.len();
                        let all_int = vals.iter().all(|v| matches!(v, Val::Int(_)));
                        let total: f64 = vals.iter().map(num).sum();
                        if f == "avg" {
                            if n == 0 {
                                Val::Null
                            } else {
                                Val::Float(total / n as f64)
                            }
                        } else if all_int {
                            Val::Int(vals.iter().map(|v| if let Val::Int(i) = v { *i } else { 0 }).sum())
                        } else {
                            Val::Float(total)
                        }
                    }
                    other => return Err(QueryError::Semantic(format!("unknown function {other}()"))),
                })
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.aggregate(a, rows)?, self.aggregate(b, rows)?);
                binary(*op, a, b)
            }
            Expr::Lit(_) | Expr::Param(_) => self.eval(e, &Row::new()),
            _ => Err(QueryError::Semantic(
                "aggregates (count, collect, min, max, sum, avg) take one argument and cannot be nested".into(),
            )),
        }
    }

    pub fn eval(&self, e: &Expr, row: &Row) -> Result<Val, QueryError> {
        Ok(match e {
            Expr::Lit(j) => Val::from_json(j),
            Expr::Param(p) => match self.params.get(p) {
                Some(j) => Val::from_json(j),
                None => {
                    return Err(QueryError::Semantic(format!(
                        "the parameter ${p} was not given"
                    )))
                }
            },
            Expr::Var(v) => match row.get(v) {
                Some(x) => x.clone(),
                None => return Err(QueryError::Semantic(format!("`{v}` is not defined"))),
            },
            Expr::Prop(x, k) => match self.eval(x, row)? {
                Val::Node(id) => {
                    let mut v = Val::Null;
                    self.graph.with_node(id, &mut |n| v = node_prop(n, k))?;
                    v
                }
                Val::Rel(r) => r.props.value(k).map_or(Val::Null, |j| Val::from_json(&j)),
                Val::Null => Val::Null,
                other => {
                    return Err(QueryError::Semantic(format!(
                        "`.{k}` needs a node or relationship, not a {}",
                        other.type_name()
                    )))
                }
            },
            Expr::Not(x) => match self.eval(x, row)?.truthy() {
                Some(b) => Val::Bool(!b),
                None => Val::Null,
            },
            Expr::Neg(x) => match self.eval(x, row)? {
                Val::Int(i) => Val::Int(-i),
                Val::Float(f) => Val::Float(-f),
                _ => Val::Null,
            },
            Expr::IsNull(x, negated) => Val::Bool((self.eval(x, row)? == Val::Null) != *negated),
            Expr::List(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    out.push(self.eval(x, row)?);
                }
                Val::List(out)
            }
            Expr::HasLabel(x, labels) => match self.eval(x, row)? {
                Val::Node(id) => match self.graph.node(id)? {
                    Some(n) => Val::Bool(labels.iter().all(|l| {
                        n.label == *l
                            || n.kind == *l
                            || (l == "Identity"
                                && matches!(n.label.as_str(), "Credential" | "Principal" | "Agent"))
                    })),
                    None => Val::Null,
                },
                _ => Val::Null,
            },
            Expr::Bin(op, a, b) => binary(*op, self.eval(a, row)?, self.eval(b, row)?)?,
            Expr::CountStar => {
                return Err(QueryError::Semantic(
                    "count(*) belongs in WITH or RETURN".into(),
                ))
            }
            Expr::Exists(p) => {
                let mut probe = Exec::new(self.graph, self.params, self.limits.clone());
                let mut out = Vec::new();
                probe.match_path(p, None, row.clone(), &mut out)?;
                Val::Bool(!out.is_empty())
            }
            Expr::Call(f, _, args) => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                self.call(f, vals)?
            }
        })
    }

    fn call(&self, f: &str, args: Vec<Val>) -> Result<Val, QueryError> {
        let one = |args: &[Val]| -> Result<Val, QueryError> {
            match args {
                [a] => Ok(a.clone()),
                _ => Err(QueryError::Semantic(format!("{f}() takes one argument"))),
            }
        };
        Ok(match f {
            "type" => match one(&args)? {
                Val::Rel(r) => Val::Str(r.kind.clone()),
                _ => Val::Null,
            },
            "id" => match one(&args)? {
                Val::Node(id) => Val::Int(id),
                Val::Rel(r) => Val::Int(r.id),
                _ => Val::Null,
            },
            "labels" => match one(&args)? {
                Val::Node(id) => match self.graph.node(id)? {
                    Some(n) => Val::List(vec![Val::Str(n.label.clone()), Val::Str(n.kind.clone())]),
                    None => Val::Null,
                },
                _ => Val::Null,
            },
            "tolower" => match one(&args)? {
                Val::Str(s) => Val::Str(s.to_lowercase()),
                _ => Val::Null,
            },
            "toupper" => match one(&args)? {
                Val::Str(s) => Val::Str(s.to_uppercase()),
                _ => Val::Null,
            },
            "size" | "length" => match one(&args)? {
                Val::Str(s) => Val::Int(s.chars().count() as i64),
                Val::List(l) => Val::Int(l.len() as i64),
                _ => Val::Null,
            },
            "coalesce" => args
                .into_iter()
                .find(|v| *v != Val::Null)
                .unwrap_or(Val::Null),
            "exists" => Val::Bool(one(&args)? != Val::Null),
            "count" | "collect" | "min" | "max" | "sum" | "avg" => {
                return Err(QueryError::Semantic(format!(
                    "{f}() is an aggregate: use it in WITH or RETURN"
                )))
            }
            other => return Err(QueryError::Semantic(format!("unknown function {other}()"))),
        })
    }
}

fn binary(op: Op, a: Val, b: Val) -> Result<Val, QueryError> {
    let cmp = |want: &[Ordering]| match compare(&a, &b) {
        Some(o) => Val::Bool(want.contains(&o)),
        None => Val::Null,
    };
    let text = |f: fn(&str, &str) -> bool| match (&a, &b) {
        (Val::Str(x), Val::Str(y)) => Val::Bool(f(x, y)),
        _ => Val::Null,
    };
    Ok(match op {
        Op::Eq => equals(&a, &b).map_or(Val::Null, Val::Bool),
        Op::Ne => equals(&a, &b).map_or(Val::Null, |x| Val::Bool(!x)),
        Op::Lt => cmp(&[Ordering::Less]),
        Op::Le => cmp(&[Ordering::Less, Ordering::Equal]),
        Op::Gt => cmp(&[Ordering::Greater]),
        Op::Ge => cmp(&[Ordering::Greater, Ordering::Equal]),
        Op::Xor => match (a.truthy(), b.truthy()) {
            (Some(x), Some(y)) => Val::Bool(x != y),
            _ => Val::Null,
        },
        Op::In => match &b {
            Val::List(xs) => {
                if a == Val::Null {
                    Val::Null
                } else {
                    Val::Bool(xs.iter().any(|x| equals(&a, x) == Some(true)))
                }
            }
            Val::Null => Val::Null,
            other => {
                return Err(QueryError::Semantic(format!(
                    "IN needs a list on its right, not a {}",
                    other.type_name()
                )))
            }
        },
        Op::StartsWith => text(|x, y| x.starts_with(y)),
        Op::EndsWith => text(|x, y| x.ends_with(y)),
        Op::Contains => text(|x, y| x.contains(y)),
        Op::Add => match (&a, &b) {
            (Val::Int(x), Val::Int(y)) => Val::Int(x.saturating_add(*y)),
            (Val::Str(x), Val::Str(y)) => Val::Str(format!("{x}{y}")),
            (Val::List(x), Val::List(y)) => Val::List(x.iter().chain(y).cloned().collect()),
            (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
                Val::Float(num(&a) + num(&b))
            }
            _ => Val::Null,
        },
        Op::Sub => match (&a, &b) {
            (Val::Int(x), Val::Int(y)) => Val::Int(x.saturating_sub(*y)),
            (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
                Val::Float(num(&a) - num(&b))
            }
            _ => Val::Null,
        },
        Op::Mul => match (&a, &b) {
            (Val::Int(x), Val::Int(y)) => Val::Int(x.saturating_mul(*y)),
            (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
                Val::Float(num(&a) * num(&b))
            }
            _ => Val::Null,
        },
        Op::Div => match (&a, &b) {
            (Val::Int(_), Val::Int(0)) => Val::Null,
            (Val::Int(x), Val::Int(y)) => Val::Int(x / y),
            (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
                Val::Float(num(&a) / num(&b))
            }
            _ => Val::Null,
        },
        Op::And => match (a.truthy(), b.truthy()) {
            (Some(false), _) | (_, Some(false)) => Val::Bool(false),
            (Some(true), Some(true)) => Val::Bool(true),
            _ => Val::Null,
        },
        Op::Or => match (a.truthy(), b.truthy()) {
            (Some(true), _) | (_, Some(true)) => Val::Bool(true),
            (Some(false), Some(false)) => Val::Bool(false),
            _ => Val::Null,
        },
    })
}

/// A node's property: the graph's own fields first, then its merged properties.
pub fn node_prop(n: &crate::NodeData, k: &str) -> Val {
    match k {
        "key" => Val::Str(n.key.clone()),
        "kind" => Val::Str(n.kind.clone()),
        "label" => Val::Str(n.label.clone()),
        "system" => Val::Str(n.system.clone()),
        "name" => n.name.clone().map_or(Val::Null, Val::Str),
        "keys" => Val::List(n.keys.iter().cloned().map(Val::Str).collect()),
        _ => n.props.value(k).map_or(Val::Null, |j| Val::from_json(&j)),
    }
}
