//! The Cypher subset on a fixed graph: a leaver's access key that reaches a
//! customer database through a role chain, its surfaces, owners and a team.

use custody_query::{run, EdgeData, Graph, Limits, NodeData, QueryError};
use serde_json::{json, Value};
use std::sync::Arc;

struct Mem {
    nodes: Vec<Arc<NodeData>>,
    edges: Vec<EdgeData>,
}

impl Graph for Mem {
    fn find(&self, key: &str) -> Result<Option<i64>, QueryError> {
        Ok(self
            .nodes
            .iter()
            .find(|n| n.key == key || n.keys.iter().any(|k| k == key))
            .map(|n| n.id))
    }
    fn node(&self, id: i64) -> Result<Option<Arc<NodeData>>, QueryError> {
        Ok(self.nodes.iter().find(|n| n.id == id).cloned())
    }
    fn edges(&self, id: i64) -> Result<Arc<Vec<Arc<EdgeData>>>, QueryError> {
        Ok(Arc::new(
            self.edges
                .iter()
                .filter(|e| e.from == id || e.to == id)
                .map(|e| Arc::new(e.clone()))
                .collect(),
        ))
    }
    fn scan(&self, label: Option<&str>, kind: Option<&str>) -> Result<Vec<i64>, QueryError> {
        Ok(self
            .nodes
            .iter()
            .filter(|n| label.is_none_or(|l| n.label == l) && kind.is_none_or(|k| n.kind == k))
            .map(|n| n.id)
            .collect())
    }
}

fn graph() -> Mem {
    let node = |id: i64, label: &str, kind: &str, key: &str, name: &str, props: Value| {
        Arc::new(NodeData {
            id,
            label: label.into(),
            kind: kind.into(),
            system: "test".into(),
            key: key.into(),
            name: Some(name.into()),
            keys: vec![key.into()],
            props: props.as_object().cloned().unwrap_or_default().into(),
        })
    };
    let nodes = vec![
        node(
            1,
            "Credential",
            "aws_access_key",
            "aws-access-key:AKIAQYLPMN5HFIQR7ZTC",
            "AKIAQYLPMN5HFIQR7ZTC",
            json!({"status": "Active", "last_used": "2026-11-21"}),
        ),
        node(
            2,
            "Credential",
            "aws_access_key",
            "aws-access-key:AKIAU6FFQNFHALQN7EMO",
            "AKIAU6FFQNFHALQN7EMO",
            json!({"status": "Inactive"}),
        ),
        node(
            3,
            "Principal",
            "aws_iam_user",
            "arn:aws:iam::111122223333:user/svc-export",
            "svc-export",
            json!({"account_id": "111122223333"}),
        ),
        node(
            4,
            "Principal",
            "aws_iam_role",
            "arn:aws:iam::111122223333:role/reporting",
            "reporting",
            json!({}),
        ),
        node(
            5,
            "Principal",
            "aws_iam_role",
            "arn:aws:iam::444455556666:role/customer-db-read",
            "customer-db-read",
            json!({}),
        ),
        node(
            6,
            "Resource",
            "aws_rds_cluster",
            "arn:aws:rds:us-east-1:444455556666:cluster:customers",
            "customers",
            json!({"sensitivity": "critical"}),
        ),
        node(
            7,
            "Human",
            "employee",
            "email:amara@corp.example",
            "Amara Jensen",
            json!({"employment_status": "terminated"}),
        ),
        node(
            8,
            "Human",
            "employee",
            "email:zane@corp.example",
            "Zane Tanaka",
            json!({"employment_status": "active"}),
        ),
        node(
            9,
            "Location",
            "git_blob",
            "uri:git://github.com/corp/reporting@abc/.env#L3",
            ".env:3",
            json!({}),
        ),
        node(
            10,
            "Location",
            "k8s_secret",
            "uri:k8s://finance/secrets/export#AWS_ACCESS_KEY_ID",
            "finance/export",
            json!({}),
        ),
        node(
            11,
            "Group",
            "okta_group",
            "okta:00g1",
            "data-eng",
            json!({}),
        ),
        node(
            12,
            "Agent",
            "mcp_server",
            "uri:mcp://laptop/.cursor/mcp.json#aws",
            "aws",
            json!({}),
        ),
    ];
    let edge = |id: i64, kind: &str, from: i64, to: i64| EdgeData {
        id,
        kind: kind.into(),
        from,
        to,
        props: Default::default(),
    };
    let edges = vec![
        edge(100, "AUTHENTICATES_AS", 1, 3),
        edge(101, "AUTHENTICATES_AS", 2, 3),
        edge(102, "CAN_ASSUME", 3, 4),
        edge(103, "CAN_ASSUME", 4, 5),
        edge(104, "HAS_ACCESS", 5, 6),
        edge(105, "OWNED_BY", 3, 7),
        edge(106, "REPORTS_TO", 7, 8),
        edge(107, "STORED_IN", 1, 9),
        edge(108, "STORED_IN", 1, 10),
        edge(109, "MEMBER_OF", 7, 11),
        edge(110, "MEMBER_OF", 8, 11),
        edge(111, "HOLDS", 12, 1),
    ];
    Mem { nodes, edges }
}

fn q(text: &str) -> Vec<Vec<Value>> {
    q_with(text, json!({}), Limits::default()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn q_with(text: &str, params: Value, limits: Limits) -> Result<Vec<Vec<Value>>, QueryError> {
    let g = graph();
    let params = params.as_object().cloned().unwrap_or_default();
    let r = run(&g, text, &params, limits)?;
    Ok(r.rows
        .iter()
        .map(|row| r.columns.iter().map(|c| row[c].clone()).collect())
        .collect())
}

#[test]
fn a_key_lookup_and_one_hop() {
    let rows = q("MATCH (k {key: 'aws-access-key:AKIAQYLPMN5HFIQR7ZTC'})-[:STORED_IN]->(l) RETURN l.kind ORDER BY l.kind");
    assert_eq!(
        rows,
        vec![vec![json!("git_blob")], vec![json!("k8s_secret")]]
    );
    // The same pin written in WHERE, with the reference `custody show` takes.
    let rows = q("MATCH (k)-[:AUTHENTICATES_AS]->(p) WHERE k.key = 'aws-access-key:AKIAU6FFQNFHALQN7EMO' RETURN p.name");
    assert_eq!(rows, vec![vec![json!("svc-export")]]);
}

#[test]
fn parameters_pin_the_start() {
    let rows = q_with(
        "MATCH (k)-[:AUTHENTICATES_AS]->(p) WHERE k.key = $k RETURN p.name",
        json!({"k": "aws-access-key:AKIAU6FFQNFHALQN7EMO"}),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(rows, vec![vec![json!("svc-export")]]);
}

#[test]
fn variable_length_role_chains() {
    let rows = q(
        "MATCH (u:aws_iam_user)-[:CAN_ASSUME*1..3]->(r:Principal) RETURN r.name ORDER BY r.name",
    );
    assert_eq!(
        rows,
        vec![vec![json!("customer-db-read")], vec![json!("reporting")]]
    );
    let rows = q("MATCH (u:aws_iam_user)-[:CAN_ASSUME*2]->(r) RETURN r.name");
    assert_eq!(rows, vec![vec![json!("customer-db-read")]]);
    // The seed's question: who owns credentials that reach the customer database?
    let rows = q(
        "MATCH (c:Credential)-[:AUTHENTICATES_AS]->(:Principal)-[:CAN_ASSUME*0..4]->(:Principal)-[:HAS_ACCESS]->(db:Resource {sensitivity: 'critical'})
         MATCH (c)-[:AUTHENTICATES_AS]->(:Principal)-[:OWNED_BY]->(h:Human)
         RETURN DISTINCT h.name AS owner, h.employment_status AS status, count(DISTINCT c) AS keys",
    );
    assert_eq!(
        rows,
        vec![vec![json!("Amara Jensen"), json!("terminated"), json!(2)]]
    );
}

#[test]
fn undirected_and_incoming_relationships() {
    let rows = q("MATCH (h:Human {name: 'Zane Tanaka'})<-[:REPORTS_TO]-(r) RETURN r.name");
    assert_eq!(rows, vec![vec![json!("Amara Jensen")]]);
    let rows = q("MATCH (g:Group)-[:MEMBER_OF]-(h) WITH g, h ORDER BY h.name RETURN g.name, collect(h.name) AS members");
    assert_eq!(
        rows,
        vec![vec![
            json!("data-eng"),
            json!(["Amara Jensen", "Zane Tanaka"])
        ]]
    );
}

#[test]
fn where_operators() {
    let rows = q("MATCH (k:Credential) WHERE k.status IN ['Active', 'Expired'] AND k.name STARTS WITH 'AKIA' RETURN k.name");
    assert_eq!(rows, vec![vec![json!("AKIAQYLPMN5HFIQR7ZTC")]]);
    let rows = q("MATCH (k:Credential) WHERE k.last_used IS NULL RETURN k.name");
    assert_eq!(rows, vec![vec![json!("AKIAU6FFQNFHALQN7EMO")]]);
    let rows = q("MATCH (l:Location) WHERE l.key CONTAINS 'k8s://' OR l.key ENDS WITH '#L99' RETURN count(*) AS n");
    assert_eq!(rows, vec![vec![json!(1)]]);
    let rows = q("MATCH (k:Credential) WHERE NOT k.status = 'Active' RETURN k.status");
    assert_eq!(rows, vec![vec![json!("Inactive")]]);
}

#[test]
fn pattern_predicates_and_optional_match() {
    // Credentials stored outside a vault (any STORED_IN at all, here).
    let rows = q("MATCH (k:Credential) WHERE (k)-[:STORED_IN]->(:Location) RETURN k.name");
    assert_eq!(rows, vec![vec![json!("AKIAQYLPMN5HFIQR7ZTC")]]);
    let rows = q("MATCH (k:Credential) WHERE NOT exists((k)-[:STORED_IN]->()) RETURN k.name");
    assert_eq!(rows, vec![vec![json!("AKIAU6FFQNFHALQN7EMO")]]);
    let rows = q("MATCH (k:Credential) OPTIONAL MATCH (a:Agent)-[:HOLDS]->(k) RETURN k.name, a.name ORDER BY k.name");
    assert_eq!(
        rows,
        vec![
            vec![json!("AKIAQYLPMN5HFIQR7ZTC"), json!("aws")],
            vec![json!("AKIAU6FFQNFHALQN7EMO"), Value::Null]
        ]
    );
}

#[test]
fn with_aggregation_ordering_and_paging() {
    let rows = q("MATCH (n:Identity) WITH n.label AS label, count(*) AS n WHERE n > 1 RETURN label, n ORDER BY n DESC, label");
    assert_eq!(
        rows,
        vec![
            vec![json!("Principal"), json!(3)],
            vec![json!("Credential"), json!(2)]
        ]
    );
    let rows = q("MATCH (n:Principal) RETURN n.name ORDER BY n.name SKIP 1 LIMIT 1");
    assert_eq!(rows, vec![vec![json!("reporting")]]);
    let rows = q("MATCH (n:Principal) RETURN min(n.name) AS first, max(n.name) AS last, size(collect(n)) AS n");
    assert_eq!(
        rows,
        vec![vec![
            json!("customer-db-read"),
            json!("svc-export"),
            json!(3)
        ]]
    );
    let rows = q("MATCH (n:Nothing) RETURN count(*) AS n");
    assert_eq!(rows, vec![vec![json!(0)]]);
}

#[test]
fn nodes_and_relationships_come_back_as_objects() {
    let rows = q("MATCH (k:Credential {status: 'Active'})-[r:HOLDS]-(a) RETURN a, r, type(r) AS t");
    assert_eq!(rows[0][0]["kind"], "mcp_server");
    assert_eq!(rows[0][1]["type"], "HOLDS");
    assert_eq!(rows[0][2], "HOLDS");
}

#[test]
fn errors_and_limits() {
    let e = q_with("MATCH (n) RETURN n", json!({}), Limits::default()).unwrap_err();
    assert!(
        matches!(e, QueryError::Limit(_)),
        "a label-less scan is refused: {e}"
    );
    let e = q_with(
        "MATCH (n:Credential) RETURN m",
        json!({}),
        Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("`m` is not defined"), "{e}");
    let e = q_with(
        "MATCH (n) WHERE n.key = $missing RETURN n",
        json!({}),
        Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("$missing"), "{e}");
    let e = q_with(
        "MATCH (n:Credential) DELETE n",
        json!({}),
        Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, QueryError::ReadOnly { .. }), "{e}");
    let tight = Limits {
        max_rows: 2,
        ..Limits::default()
    };
    let e = q_with("MATCH (n:Principal) RETURN n", json!({}), tight.clone()).unwrap_err();
    assert!(e.to_string().contains("more than 2 rows"), "{e}");
    assert!(q_with("MATCH (n:Principal) RETURN n LIMIT 2", json!({}), tight).is_ok());
    let busy = Limits {
        max_work: 5,
        ..Limits::default()
    };
    let e = q_with(
        "MATCH (a:Principal)-[*1..8]-(b) RETURN count(*)",
        json!({}),
        busy,
    )
    .unwrap_err();
    assert!(e.to_string().contains("visited more than 5"), "{e}");
    // Memory: rows held before RETURN folds them are bounded too, whatever
    // the work budget allows.
    let held = Limits {
        max_matches: 3,
        ..Limits::default()
    };
    let e = q_with(
        "MATCH (a:Principal)-[*1..8]-(b) RETURN count(b)",
        json!({}),
        held,
    )
    .unwrap_err();
    assert!(matches!(e, QueryError::Limit(_)), "{e}");
    assert!(e.to_string().contains("matched more than 3 rows"), "{e}");
}
