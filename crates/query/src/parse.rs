//! The openCypher subset: tokens, syntax tree and a recursive-descent parser
//! whose errors say where (line, column) and what was expected.

use crate::QueryError;
use serde_json::Value as Json;

/// A parsed query: parts separated by `WITH`, the last ending in `RETURN`.
#[derive(Debug, Clone)]
pub struct Query {
    pub parts: Vec<Part>,
}

/// `MATCH … [WHERE …]` clauses, then a `WITH` or `RETURN` projection.
#[derive(Debug, Clone)]
pub struct Part {
    pub matches: Vec<MatchClause>,
    pub projection: Projection,
}

#[derive(Debug, Clone)]
pub struct MatchClause {
    pub optional: bool,
    pub patterns: Vec<PathPattern>,
    pub filter: Option<Expr>,
}

/// `(a)-[r]->(b)<-[s]-(c)`: nodes and the relationships between them.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub nodes: Vec<NodePattern>,
    pub rels: Vec<RelPattern>,
}

#[derive(Debug, Clone)]
pub struct NodePattern {
    pub var: Option<String>,
    pub labels: Vec<String>,
    pub props: Vec<(String, Expr)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `-[]->`
    Out,
    /// `<-[]-`
    In,
    /// `-[]-`
    Both,
}

#[derive(Debug, Clone)]
pub struct RelPattern {
    pub var: Option<String>,
    pub types: Vec<String>,
    pub dir: Dir,
    /// `*min..max` for a variable-length relationship.
    pub range: Option<(u32, Option<u32>)>,
    pub props: Vec<(String, Expr)>,
}

#[derive(Debug, Clone)]
pub struct Projection {
    /// `RETURN` (true) or `WITH`.
    pub is_return: bool,
    pub distinct: bool,
    /// `RETURN *`
    pub star: bool,
    pub items: Vec<(Expr, String)>,
    /// `WITH … WHERE`
    pub filter: Option<Expr>,
    pub order: Vec<(Expr, bool)>,
    pub skip: Option<Expr>,
    pub limit: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Xor,
    In,
    StartsWith,
    EndsWith,
    Contains,
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Json),
    Param(String),
    Var(String),
    Prop(Box<Expr>, String),
    Bin(Op, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull(Box<Expr>, bool),
    List(Vec<Expr>),
    /// A function call: name (lower-cased), DISTINCT, arguments.
    Call(String, bool, Vec<Expr>),
    CountStar,
    /// `n:Label`
    HasLabel(Box<Expr>, Vec<String>),
    /// A pattern used as a predicate: `exists((a)-[:X]->())` or bare.
    Exists(Box<PathPattern>),
}

impl Expr {
    pub fn is_aggregate(&self) -> bool {
        match self {
            Expr::CountStar => true,
            Expr::Call(f, _, args) => {
                matches!(
                    f.as_str(),
                    "count" | "collect" | "min" | "max" | "sum" | "avg"
                ) || args.iter().any(Expr::is_aggregate)
            }
            Expr::Bin(_, a, b) => a.is_aggregate() || b.is_aggregate(),
            Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) | Expr::Prop(a, _) => a.is_aggregate(),
            Expr::List(xs) => xs.iter().any(Expr::is_aggregate),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `` `quoted name` ``
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    Param(String),
    Sym(&'static str),
    End,
}

struct Lexed {
    tok: Tok,
    line: usize,
    col: usize,
}

const SYMBOLS: &[&str] = &[
    "<>", "<=", ">=", "->", "<-", "..", "=~", "(", ")", "[", "]", "{", "}", ":", ",", ".", "-",
    ">", "<", "=", "*", "|", "+", "/", "%",
];

fn lex(src: &str) -> Result<Vec<Lexed>, QueryError> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut out = Vec::new();
    let err = |line, col, message: String| QueryError::Syntax { line, col, message };
    while i < chars.len() {
        let c = chars[i];
        let (l0, c0) = (line, col);
        let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize| {
            for k in 0..n {
                if chars.get(*i + k) == Some(&'\n') {
                    *line += 1;
                    *col = 1;
                } else {
                    *col += 1;
                }
            }
            *i += n;
        };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1);
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1);
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err(err(l0, c0, "this string is not closed".into())),
                    Some('\\') => {
                        let e = chars.get(j + 1).copied().unwrap_or('\\');
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        j += 2;
                    }
                    Some(&q) if q == c => break,
                    Some(&ch) => {
                        s.push(ch);
                        j += 1;
                    }
                }
            }
            let n = j + 1 - i;
            advance(&mut i, &mut line, &mut col, n);
            out.push(Lexed {
                tok: Tok::Str(s),
                line: l0,
                col: c0,
            });
            continue;
        }
        if c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            if j >= chars.len() {
                return Err(err(l0, c0, "this `name` is not closed".into()));
            }
            let name: String = chars[i + 1..j].iter().collect();
            let n = j + 1 - i;
            advance(&mut i, &mut line, &mut col, n);
            out.push(Lexed {
                tok: Tok::Quoted(name),
                line: l0,
                col: c0,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            // `1..3` is a range, not a float.
            let float =
                chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit());
            if float {
                j += 1;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
            }
            let text: String = chars[i..j].iter().collect();
            let tok = if float {
                Tok::Float(text.parse().map_err(|_| err(l0, c0, "bad number".into()))?)
            } else {
                Tok::Int(
                    text.parse()
                        .map_err(|_| err(l0, c0, "this number is too large".into()))?,
                )
            };
            let n = j - i;
            advance(&mut i, &mut line, &mut col, n);
            out.push(Lexed {
                tok,
                line: l0,
                col: c0,
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            let n = j - i;
            advance(&mut i, &mut line, &mut col, n);
            let tok = match text.strip_prefix('$') {
                Some("") => return Err(err(l0, c0, "a parameter needs a name: $name".into())),
                Some(p) => Tok::Param(p.to_string()),
                None => Tok::Ident(text),
            };
            out.push(Lexed {
                tok,
                line: l0,
                col: c0,
            });
            continue;
        }
        let rest: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
            return Err(err(l0, c0, format!("unexpected character `{c}`")));
        };
        let n = sym.chars().count();
        advance(&mut i, &mut line, &mut col, n);
        out.push(Lexed {
            tok: Tok::Sym(sym),
            line: l0,
            col: c0,
        });
    }
    out.push(Lexed {
        tok: Tok::End,
        line,
        col,
    });
    Ok(out)
}

/// Clauses that would change the graph, refused by name.
const WRITES: &[&str] = &[
    "CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "LOAD", "FOREACH", "CALL",
];

struct Parser {
    toks: Vec<Lexed>,
    at: usize,
    /// How deep the expression being read nests (parentheses, lists, `NOT`,
    /// `-`): bounded, so no query can exhaust the stack of the thread that
    /// parses or evaluates it.
    depth: usize,
}

/// The deepest expression nesting a query may have (SQLite allows 1,000;
/// no real question needs more than a few).
pub const MAX_DEPTH: usize = 100;

pub fn parse(src: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        toks: lex(src)?,
        at: 0,
        depth: 0,
    };
    let q = p.query()?;
    if p.peek() != &Tok::End {
        return Err(p.error("the end of the query"));
    }
    Ok(q)
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.at + n).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.at].tok.clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> QueryError {
        let l = &self.toks[self.at];
        let found = match &l.tok {
            Tok::Ident(s) | Tok::Quoted(s) => format!("`{s}`"),
            Tok::Str(s) => format!("the string '{s}'"),
            Tok::Int(n) => n.to_string(),
            Tok::Float(f) => f.to_string(),
            Tok::Param(p) => format!("${p}"),
            Tok::Sym(s) => format!("`{s}`"),
            Tok::End => "the end of the query".into(),
        };
        QueryError::Syntax {
            line: l.line,
            col: l.col,
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), QueryError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.error(&format!("`{kw}`")))
        }
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(s) if *s == sym) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, sym: &str) -> Result<(), QueryError> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(self.error(&format!("`{sym}`")))
        }
    }

    fn name(&mut self, what: &str) -> Result<String, QueryError> {
        match self.peek().clone() {
            Tok::Ident(s) | Tok::Quoted(s) => {
                self.next();
                Ok(s)
            }
            _ => Err(self.error(what)),
        }
    }

    fn refuse_writes(&self) -> Result<(), QueryError> {
        if let Tok::Ident(s) = self.peek() {
            let up = s.to_ascii_uppercase();
            if WRITES.contains(&up.as_str()) {
                let l = &self.toks[self.at];
                return Err(QueryError::ReadOnly {
                    line: l.line,
                    col: l.col,
                    clause: up,
                });
            }
        }
        Ok(())
    }

    fn query(&mut self) -> Result<Query, QueryError> {
        let mut parts = Vec::new();
        loop {
            let mut matches = Vec::new();
            loop {
                self.refuse_writes()?;
                let optional = self.eat_kw("OPTIONAL");
                if !self.eat_kw("MATCH") {
                    if optional {
                        return Err(self.error("`MATCH` after `OPTIONAL`"));
                    }
                    break;
                }
                let mut patterns = vec![self.path()?];
                while self.eat(",") {
                    patterns.push(self.path()?);
                }
                let filter = if self.eat_kw("WHERE") {
                    Some(self.expr()?)
                } else {
                    None
                };
                matches.push(MatchClause {
                    optional,
                    patterns,
                    filter,
                });
            }
            self.refuse_writes()?;
            let is_return = if self.eat_kw("RETURN") {
                true
            } else if self.eat_kw("WITH") {
                false
            } else {
                return Err(self.error(if matches.is_empty() {
                    "`MATCH`, `WITH` or `RETURN`"
                } else {
                    "`MATCH`, `WHERE`, `WITH` or `RETURN`"
                }));
            };
            let projection = self.projection(is_return)?;
            parts.push(Part {
                matches,
                projection,
            });
            if is_return {
                self.refuse_writes()?;
                return Ok(Query { parts });
            }
        }
    }

    fn projection(&mut self, is_return: bool) -> Result<Projection, QueryError> {
        let distinct = self.eat_kw("DISTINCT");
        let mut star = false;
        let mut items = Vec::new();
        if self.eat("*") {
            star = true;
        } else {
            loop {
                let start = self.at;
                let e = self.expr()?;
                let alias = if self.eat_kw("AS") {
                    self.name("a name after `AS`")?
                } else {
                    self.source_text(start)
                };
                items.push((e, alias));
                if !self.eat(",") {
                    break;
                }
            }
        }
        let filter = if !is_return && self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_kw("DESC") || self.eat_kw("DESCENDING") {
                    true
                } else {
                    let _ = self.eat_kw("ASC") || self.eat_kw("ASCENDING");
                    false
                };
                order.push((e, desc));
                if !self.eat(",") {
                    break;
                }
            }
        }
        let skip = if self.eat_kw("SKIP") {
            Some(self.expr()?)
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Projection {
            is_return,
            distinct,
            star,
            items,
            filter,
            order,
            skip,
            limit,
        })
    }

    /// The query text of tokens `start..self.at`, as a column name.
    fn source_text(&self, start: usize) -> String {
        let mut s = String::new();
        for l in &self.toks[start..self.at] {
            let t = match &l.tok {
                Tok::Ident(x) => x.clone(),
                Tok::Quoted(x) => format!("`{x}`"),
                Tok::Str(x) => format!("'{x}'"),
                Tok::Int(n) => n.to_string(),
                Tok::Float(f) => f.to_string(),
                Tok::Param(p) => format!("${p}"),
                Tok::Sym(x) => x.to_string(),
                Tok::End => String::new(),
            };
            let glue = matches!(l.tok, Tok::Sym("." | "(" | ")" | "[" | "]"))
                || s.ends_with(['.', '(', '[']);
            if !s.is_empty() && !glue {
                s.push(' ');
            }
            s.push_str(&t);
        }
        s
    }

    fn path(&mut self) -> Result<PathPattern, QueryError> {
        let mut nodes = vec![self.node()?];
        let mut rels = Vec::new();
        while matches!(self.peek(), Tok::Sym("-" | "<-")) {
            rels.push(self.rel()?);
            nodes.push(self.node()?);
        }
        Ok(PathPattern { nodes, rels })
    }

    fn node(&mut self) -> Result<NodePattern, QueryError> {
        self.expect("(")?;
        let var = match self.peek() {
            Tok::Ident(_) | Tok::Quoted(_) => Some(self.name("a variable")?),
            _ => None,
        };
        let mut labels = Vec::new();
        while self.eat(":") {
            labels.push(self.name("a label")?);
        }
        let props = if matches!(self.peek(), Tok::Sym("{")) {
            self.prop_map()?
        } else {
            Vec::new()
        };
        self.expect(")")?;
        Ok(NodePattern { var, labels, props })
    }

    fn prop_map(&mut self) -> Result<Vec<(String, Expr)>, QueryError> {
        self.expect("{")?;
        let mut props = Vec::new();
        if !self.eat("}") {
            loop {
                let k = self.name("a property name")?;
                self.expect(":")?;
                props.push((k, self.expr()?));
                if self.eat("}") {
                    break;
                }
                self.expect(",")?;
            }
        }
        Ok(props)
    }

    fn rel(&mut self) -> Result<RelPattern, QueryError> {
        let left_arrow = self.eat("<-");
        if !left_arrow {
            self.expect("-")?;
        }
        let (mut var, mut types, mut range, mut props) = (None, Vec::new(), None, Vec::new());
        if self.eat("[") {
            if matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_)) {
                var = Some(self.name("a variable")?);
            }
            if self.eat(":") {
                types.push(self.name("a relationship type")?);
                while self.eat("|") {
                    self.eat(":");
                    types.push(self.name("a relationship type")?);
                }
            }
            if self.eat("*") {
                let min = match self.peek() {
                    Tok::Int(n) => {
                        let n = *n;
                        self.next();
                        Some(n)
                    }
                    _ => None,
                };
                let (lo, hi) = if self.eat("..") {
                    let hi = match self.peek() {
                        Tok::Int(n) => {
                            let n = *n;
                            self.next();
                            Some(n)
                        }
                        _ => None,
                    };
                    (min.unwrap_or(1), hi)
                } else {
                    // `*3` is exactly three; `*` is one or more.
                    (min.unwrap_or(1), min)
                };
                let as_u32 = |n: i64| u32::try_from(n).map_err(|_| self.error("a hop count"));
                range = Some((as_u32(lo)?, hi.map(as_u32).transpose()?));
            }
            if matches!(self.peek(), Tok::Sym("{")) {
                props = self.prop_map()?;
            }
            self.expect("]")?;
        }
        let right_arrow = self.eat("->");
        if !right_arrow {
            self.expect("-")?;
        }
        let dir = match (left_arrow, right_arrow) {
            (true, false) => Dir::In,
            (false, true) => Dir::Out,
            (false, false) => Dir::Both,
            (true, true) => return Err(self.error("one arrow head, not two")),
        };
        Ok(RelPattern {
            var,
            types,
            dir,
            range,
            props,
        })
    }

    pub fn expr(&mut self) -> Result<Expr, QueryError> {
        self.nested(|p| p.or())
    }

    /// Reads one more level of nesting, refused with a located error past
    /// [`MAX_DEPTH`].
    fn nested(
        &mut self,
        read: impl FnOnce(&mut Parser) -> Result<Expr, QueryError>,
    ) -> Result<Expr, QueryError> {
        if self.depth >= MAX_DEPTH {
            let l = &self.toks[self.at];
            return Err(QueryError::Syntax {
                line: l.line,
                col: l.col,
                message: format!("the expression nests deeper than {MAX_DEPTH} levels"),
            });
        }
        self.depth += 1;
        let e = read(self);
        self.depth -= 1;
        e
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.xor()?;
        while self.eat_kw("OR") {
            e = Expr::Bin(Op::Or, Box::new(e), Box::new(self.xor()?));
        }
        Ok(e)
    }

    fn xor(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.and()?;
        while self.eat_kw("XOR") {
            e = Expr::Bin(Op::Xor, Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.not()?;
        while self.eat_kw("AND") {
            e = Expr::Bin(Op::And, Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.nested(|p| p.not())?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.additive()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("=") => Op::Eq,
                Tok::Sym("<>") => Op::Ne,
                Tok::Sym("<") => Op::Lt,
                Tok::Sym("<=") => Op::Le,
                Tok::Sym(">") => Op::Gt,
                Tok::Sym(">=") => Op::Ge,
                Tok::Ident(s) if s.eq_ignore_ascii_case("IN") => Op::In,
                Tok::Ident(s) if s.eq_ignore_ascii_case("CONTAINS") => Op::Contains,
                Tok::Ident(s) if s.eq_ignore_ascii_case("STARTS") => Op::StartsWith,
                Tok::Ident(s) if s.eq_ignore_ascii_case("ENDS") => Op::EndsWith,
                Tok::Ident(s) if s.eq_ignore_ascii_case("IS") => {
                    self.next();
                    let negated = self.eat_kw("NOT");
                    self.expect_kw("NULL")?;
                    e = Expr::IsNull(Box::new(e), negated);
                    continue;
                }
                _ => return Ok(e),
            };
            self.next();
            if matches!(op, Op::StartsWith | Op::EndsWith) {
                self.expect_kw("WITH")?;
            }
            e = Expr::Bin(op, Box::new(e), Box::new(self.additive()?));
        }
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("+") => Op::Add,
                Tok::Sym("-") => Op::Sub,
                _ => return Ok(e),
            };
            self.next();
            e = Expr::Bin(op, Box::new(e), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("*") => Op::Mul,
                Tok::Sym("/") => Op::Div,
                _ => return Ok(e),
            };
            self.next();
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.nested(|p| p.unary())?)));
        }
        let mut e = self.atom()?;
        loop {
            if self.eat(".") {
                let k = self.name("a property name after `.`")?;
                e = Expr::Prop(Box::new(e), k);
            } else if matches!(self.peek(), Tok::Sym(":"))
                && matches!(self.peek_at(1), Tok::Ident(_) | Tok::Quoted(_))
            {
                let mut labels = Vec::new();
                while self.eat(":") {
                    labels.push(self.name("a label")?);
                }
                e = Expr::HasLabel(Box::new(e), labels);
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, QueryError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Lit(Json::String(s)))
            }
            Tok::Int(n) => {
                self.next();
                Ok(Expr::Lit(Json::from(n)))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Expr::Lit(Json::from(f)))
            }
            Tok::Param(p) => {
                self.next();
                Ok(Expr::Param(p))
            }
            Tok::Sym("[") => {
                self.next();
                let mut xs = Vec::new();
                if !self.eat("]") {
                    loop {
                        xs.push(self.expr()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Expr::List(xs))
            }
            Tok::Sym("(") => {
                // A parenthesised pattern is a predicate; otherwise an expression.
                if self.looks_like_pattern() {
                    return Ok(Expr::Exists(Box::new(self.path()?)));
                }
                self.next();
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Ident(s) | Tok::Quoted(s) => {
                let up = s.to_ascii_uppercase();
                match up.as_str() {
                    "TRUE" => {
                        self.next();
                        return Ok(Expr::Lit(Json::Bool(true)));
                    }
                    "FALSE" => {
                        self.next();
                        return Ok(Expr::Lit(Json::Bool(false)));
                    }
                    "NULL" => {
                        self.next();
                        return Ok(Expr::Lit(Json::Null));
                    }
                    _ => {}
                }
                self.next();
                if self.eat("(") {
                    let f = s.to_ascii_lowercase();
                    if f == "exists"
                        && matches!(self.peek(), Tok::Sym("("))
                        && self.looks_like_pattern()
                    {
                        let p = self.path()?;
                        self.expect(")")?;
                        return Ok(Expr::Exists(Box::new(p)));
                    }
                    if f == "count" && self.eat("*") {
                        self.expect(")")?;
                        return Ok(Expr::CountStar);
                    }
                    let distinct = self.eat_kw("DISTINCT");
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",")?;
                        }
                    }
                    return Ok(Expr::Call(f, distinct, args));
                }
                Ok(Expr::Var(s))
            }
            _ => Err(self.error("an expression")),
        }
    }

    /// `(` followed by a node pattern and a relationship: `(a)-[…]`, `(:L)`, `()`.
    fn looks_like_pattern(&self) -> bool {
        let mut i = self.at + 1;
        let tok = |i: usize| &self.toks[i.min(self.toks.len() - 1)].tok;
        if matches!(tok(i), Tok::Ident(_) | Tok::Quoted(_)) {
            i += 1;
        }
        match tok(i) {
            Tok::Sym(":") => true,
            Tok::Sym(")") => matches!(tok(i + 1), Tok::Sym("-" | "<-")),
            Tok::Sym("{") => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_query_parses() {
        let q = parse(
            "MATCH (k:Credential {kind: 'aws_access_key'})-[:AUTHENTICATES_AS]->(p)<-[r:OWNED_BY|MEMBER_OF*1..3]-(h)
             WHERE k.status = 'Active' AND NOT h.name STARTS WITH 'svc' OR p.key IN $arns
             WITH p, count(DISTINCT k) AS keys WHERE keys > 1
             RETURN p.key AS principal, keys ORDER BY keys DESC, principal SKIP 1 LIMIT 10",
        )
        .unwrap();
        assert_eq!(q.parts.len(), 2);
        let m = &q.parts[0].matches[0];
        assert_eq!(m.patterns[0].nodes.len(), 3);
        assert_eq!(m.patterns[0].rels[1].dir, Dir::In);
        assert_eq!(m.patterns[0].rels[1].range, Some((1, Some(3))));
        assert_eq!(q.parts[1].projection.items[0].1, "principal");
        assert!(q.parts[0].projection.items[1].0.is_aggregate());
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let e = parse("MATCH (n:Credential\nRETURN n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 1"), "{e}");
        assert!(e.contains("expected `)`"), "{e}");
        let e = parse("MATCH (n) RETURN n.").unwrap_err().to_string();
        assert!(e.contains("a property name"), "{e}");
        let e = parse("RETURN 'open").unwrap_err().to_string();
        assert!(e.contains("not closed"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused_with_its_place_not_a_crash() {
        // On the stack of a server worker (2 MiB): 100,000 levels of each
        // kind of nesting are refused, never overflow.
        let run = || {
            for (open, close) in [("(", ")"), ("[", "]"), ("NOT ", ""), ("-", "")] {
                let n = 100_000;
                let q = format!("RETURN {}1{}", open.repeat(n), close.repeat(n));
                match parse(&q) {
                    Err(QueryError::Syntax { line, col, message }) => {
                        assert_eq!(line, 1);
                        assert!(col > 1, "{col}");
                        assert!(message.contains("nests deeper"), "{message}");
                    }
                    other => panic!("{open}: {other:?}"),
                }
            }
            let ok = format!(
                "RETURN {}1{}",
                "(".repeat(MAX_DEPTH - 1),
                ")".repeat(MAX_DEPTH - 1)
            );
            assert!(parse(&ok).is_ok());
        };
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn writes_are_refused_by_name() {
        for q in [
            "CREATE (n:Credential) RETURN n",
            "MATCH (n) DETACH DELETE n",
            "MATCH (n) SET n.owner = 'x' RETURN n",
            "MATCH (n) WITH n MERGE (m {key: n.key}) RETURN m",
        ] {
            let e = parse(q).unwrap_err();
            assert!(matches!(e, QueryError::ReadOnly { .. }), "{q}: {e}");
        }
    }

    #[test]
    fn column_names_default_to_the_expression_text() {
        let q = parse("MATCH (n) RETURN n.key, count(*), toLower(n.name)").unwrap();
        let names: Vec<&str> = q.parts[0]
            .projection
            .items
            .iter()
            .map(|(_, a)| a.as_str())
            .collect();
        assert_eq!(names, ["n.key", "count(*)", "toLower(n.name)"]);
    }
}
