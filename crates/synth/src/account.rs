//! One synthetic AWS account while it is being written: its IAM documents,
//! credential report and key listings, and what its resource inventory must
//! hold. `aws` fills it; `resources` writes the inventory from it.

use crate::people::Org;
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

pub(crate) struct Account<'a> {
    pub(crate) id: String,
    pub(crate) as_of: NaiveDate,
    pub(crate) org: &'a Org,
    pub(crate) members: Vec<usize>,
    pub(crate) names: HashSet<String>,
    pub(crate) users: Vec<Value>,
    pub(crate) roles: Vec<Value>,
    pub(crate) groups: Vec<Value>,
    pub(crate) policies: Vec<Value>,
    pub(crate) attached: BTreeMap<String, usize>,
    pub(crate) report: String,
    pub(crate) key_docs: Vec<Value>,
    /// What the resource inventory must contain: buckets and secret prefixes the
    /// customer policies name, roles that functions and instances run as, and the
    /// EKS cluster's OIDC issuer that IRSA roles trust.
    pub(crate) buckets: Vec<String>,
    pub(crate) secret_prefixes: Vec<String>,
    pub(crate) lambda_roles: Vec<(String, String)>,
    pub(crate) instance_roles: Vec<(String, String)>,
    pub(crate) eks_issuer: Option<String>,
    /// (namespace, service account, role ARN) of each IRSA role.
    pub(crate) irsa: Vec<(String, String, String)>,
    pub(crate) team: String,
    /// The `AWSReservedSSO_AdministratorAccess_…` role's ARN.
    pub(crate) sso_admin: Option<String>,
}

impl Account<'_> {
    pub(crate) fn unique(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut n = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }

    pub(crate) fn attach(&mut self, arn: &str, name: &str) -> Value {
        *self.attached.entry(arn.to_string()).or_default() += 1;
        json!({"PolicyName": name, "PolicyArn": arn})
    }
}
