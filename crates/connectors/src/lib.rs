//! # custody-connectors
//!
//! One module per system. Each connector is a **pure function** from the bytes of
//! one native export (exactly what the system's CLI or API returns) to [`Fact`]s
//! with provenance, plus [`InputError`]s for what it could not read.
//!
//! **Owns:** format detection ([`detect`]) and parsing ([`parse`]).
//! **Must not:** touch the filesystem, network or database (the caller hands in
//! bytes), keep or print secret values (only [`custody_model::Fingerprint`]s and
//! previews), or `unwrap` anything that came from input.
//!
//! To add a connector: add a module, a [`Format`] variant, a detection rule in
//! [`detect`] and a branch in [`parse`]; document the format in `docs/CONNECTORS.md`
//! and give it tests on real-shaped data.

pub mod audit;
pub mod aws;
pub mod azure;
pub mod azure_resources;
pub mod gcp;
pub mod gcp_assets;
pub mod github;
pub mod hris;
pub mod kubernetes;
pub mod networks;
pub mod okta;
pub mod terraform;
mod util;
pub mod vault;

use custody_model::{Fact, Fingerprinter, InputError, Location};
use std::fmt;

/// The native export formats custody reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `aws iam get-account-authorization-details` JSON.
    AwsAuthDetails,
    /// The IAM credential report: the CSV, or `aws iam get-credential-report` JSON.
    AwsCredentialReport,
    /// `aws iam list-access-keys` (one or many documents) or `create-access-key` JSON.
    AwsAccessKeys,
    /// An HR roster CSV (e-mail, name, department, title, manager, status, termination date).
    HrRoster,
    /// Okta `GET /api/v1/users` JSON array.
    OktaUsers,
    /// Okta `GET /api/v1/groups` JSON array.
    OktaGroups,
    /// Okta `GET /api/v1/groups/{id}/users` JSON array, saved under a folder or file
    /// named for the group id (see `docs/CONNECTORS.md`).
    OktaGroupMembers,
    /// `aws s3api list-buckets`.
    AwsS3Buckets,
    /// `aws s3api get-bucket-tagging`, saved under a folder named for the bucket.
    AwsS3BucketTagging,
    /// `aws s3api get-bucket-policy` or `aws kms get-key-policy`, saved under
    /// `s3/<bucket>/` or `kms/<key id>/`.
    AwsResourcePolicy,
    /// `aws rds describe-db-instances` or `describe-db-clusters`.
    AwsRds,
    /// `aws secretsmanager list-secrets`.
    AwsSecrets,
    /// `aws secretsmanager get-resource-policy`.
    AwsSecretPolicy,
    /// `aws kms describe-key`.
    AwsKmsKey,
    /// `aws lambda list-functions`.
    AwsLambdaFunctions,
    /// `aws iam list-instance-profiles`.
    AwsInstanceProfiles,
    /// `aws ec2 describe-instances`.
    AwsEc2Instances,
    /// `aws eks describe-cluster`.
    AwsEksCluster,
    /// `aws organizations describe-policy`.
    AwsOrgPolicy,
    /// `aws organizations list-targets-for-policy`, saved under a folder named for the policy id.
    AwsOrgTargets,
    /// `aws organizations list-parents`, saved as `<child id>.json`.
    AwsOrgParents,
    /// `gcloud iam service-accounts list --format=json`.
    GcpServiceAccounts,
    /// `gcloud iam service-accounts keys list --format=json`.
    GcpServiceAccountKeys,
    /// `gcloud projects get-iam-policy` or `gcloud iam service-accounts get-iam-policy`
    /// (`--format=json`), saved under `projects/<id>/` or a name holding the e-mail.
    GcpIamPolicy,
    /// `gcloud iam workload-identity-pools providers list` (or `describe`).
    GcpWorkloadIdentityProviders,
    /// `gcloud asset search-all-resources --format=json`.
    GcpAssetResources,
    /// `gcloud asset search-all-iam-policies --format=json`.
    GcpAssetIamPolicies,
    /// `gcloud iam roles describe --format=json` (custom roles, one or a list).
    GcpRoles,
    /// `gcloud iam policies get --kind=denypolicies --format=json` (one or a list).
    GcpDenyPolicies,
    /// `kubectl get … -o json`: a list of objects or one object.
    KubernetesObjects,
    /// GitHub Actions secrets (repository, environment or org), names and dates.
    GithubActionsSecrets,
    /// `GET /repos/{owner}/{repo}/keys`.
    GithubDeployKeys,
    /// `GET /orgs/{org}/installations`.
    GithubAppInstallations,
    /// `GET /orgs/{org}/personal-access-tokens` (fine-grained PATs approved for the org).
    GithubPatGrants,
    /// `GET /orgs/{org}/credential-authorizations` (SAML SSO).
    GithubCredentialAuthorizations,
    /// `GET /orgs/{org}/repos`.
    GithubRepos,
    /// `GET /orgs/{org}/teams`.
    GithubTeams,
    /// `GET /orgs/{org}/members` or `/orgs/{org}/teams/{slug}/members`.
    GithubMembers,
    /// The GraphQL SAML external identities of an org (login ↔ IdP e-mail).
    GithubSamlIdentities,
    /// `vault … -format=json` answers (KV metadata, policies, auth roles,
    /// AppRole secret-ids), saved under their API paths below `vault/`.
    Vault,
    /// Terraform state, format version 4.
    TerraformState,
    /// `az ad app list --all`.
    EntraApplications,
    /// `az ad sp list --all`.
    EntraServicePrincipals,
    /// `az ad app federated-credential list --id APP`, saved under `applications/<appId>/`.
    EntraFederatedCredentials,
    /// `az ad app owner list --id APP` (or `az ad sp owner list`).
    EntraOwners,
    /// `az role assignment list --all`.
    AzureRoleAssignments,
    /// `az graph query` (Resource Graph: resource containers and resources).
    AzureResourceGraph,
    /// `az role definition list`.
    AzureRoleDefinitions,
    /// `az keyvault secret list --vault-name V` (names and attributes only).
    AzureKeyVaultSecrets,
    /// Graph's `appRoleAssignedTo` / `appRoleAssignments` (application permissions).
    EntraAppRoleAssignments,
    /// Okta `GET /api/v1/apps`.
    OktaApps,
    /// Okta `GET /api/v1/api-tokens`.
    OktaApiTokens,
    /// Okta `GET /api/v1/apps/{id}/grants` or `/api/v1/users/{id}/grants`.
    OktaGrants,
}

impl Format {
    pub const ALL: [Format; 53] = [
        Format::AwsAuthDetails,
        Format::AwsCredentialReport,
        Format::AwsAccessKeys,
        Format::HrRoster,
        Format::OktaUsers,
        Format::OktaGroups,
        Format::OktaGroupMembers,
        Format::AwsS3Buckets,
        Format::AwsS3BucketTagging,
        Format::AwsResourcePolicy,
        Format::AwsRds,
        Format::AwsSecrets,
        Format::AwsSecretPolicy,
        Format::AwsKmsKey,
        Format::AwsLambdaFunctions,
        Format::AwsInstanceProfiles,
        Format::AwsEc2Instances,
        Format::AwsEksCluster,
        Format::AwsOrgPolicy,
        Format::AwsOrgTargets,
        Format::AwsOrgParents,
        Format::GcpServiceAccounts,
        Format::GcpServiceAccountKeys,
        Format::GcpIamPolicy,
        Format::GcpWorkloadIdentityProviders,
        Format::GcpAssetResources,
        Format::GcpAssetIamPolicies,
        Format::GcpRoles,
        Format::GcpDenyPolicies,
        Format::KubernetesObjects,
        Format::GithubActionsSecrets,
        Format::GithubDeployKeys,
        Format::GithubAppInstallations,
        Format::GithubPatGrants,
        Format::GithubCredentialAuthorizations,
        Format::GithubTeams,
        Format::GithubRepos,
        Format::GithubMembers,
        Format::GithubSamlIdentities,
        Format::Vault,
        Format::TerraformState,
        Format::EntraApplications,
        Format::EntraServicePrincipals,
        Format::EntraFederatedCredentials,
        Format::EntraOwners,
        Format::AzureRoleAssignments,
        Format::AzureResourceGraph,
        Format::AzureRoleDefinitions,
        Format::AzureKeyVaultSecrets,
        Format::EntraAppRoleAssignments,
        Format::OktaApps,
        Format::OktaApiTokens,
        Format::OktaGrants,
    ];

    /// Stable name, used on the command line (`--format-hint`) and in provenance.
    pub fn name(self) -> &'static str {
        match self {
            Format::AwsAuthDetails => "aws-iam-authorization-details",
            Format::AwsCredentialReport => "aws-iam-credential-report",
            Format::AwsAccessKeys => "aws-iam-access-keys",
            Format::HrRoster => "hr-roster",
            Format::OktaUsers => "okta-users",
            Format::OktaGroups => "okta-groups",
            Format::OktaGroupMembers => "okta-group-members",
            Format::AwsS3Buckets => "aws-s3-list-buckets",
            Format::AwsS3BucketTagging => "aws-s3-bucket-tagging",
            Format::AwsResourcePolicy => "aws-resource-policy",
            Format::AwsRds => "aws-rds",
            Format::AwsSecrets => "aws-secretsmanager-list-secrets",
            Format::AwsSecretPolicy => "aws-secretsmanager-resource-policy",
            Format::AwsKmsKey => "aws-kms-describe-key",
            Format::AwsLambdaFunctions => "aws-lambda-list-functions",
            Format::AwsInstanceProfiles => "aws-iam-instance-profiles",
            Format::AwsEc2Instances => "aws-ec2-describe-instances",
            Format::AwsEksCluster => "aws-eks-describe-cluster",
            Format::AwsOrgPolicy => "aws-organizations-policy",
            Format::AwsOrgTargets => "aws-organizations-policy-targets",
            Format::AwsOrgParents => "aws-organizations-parents",
            Format::GcpServiceAccounts => "gcp-service-accounts",
            Format::GcpServiceAccountKeys => "gcp-service-account-keys",
            Format::GcpIamPolicy => "gcp-iam-policy",
            Format::GcpWorkloadIdentityProviders => "gcp-workload-identity-providers",
            Format::GcpAssetResources => "gcp-asset-resources",
            Format::GcpAssetIamPolicies => "gcp-asset-iam-policies",
            Format::GcpRoles => "gcp-iam-roles",
            Format::GcpDenyPolicies => "gcp-deny-policies",
            Format::AzureResourceGraph => "azure-resource-graph",
            Format::AzureRoleDefinitions => "azure-role-definitions",
            Format::AzureKeyVaultSecrets => "azure-keyvault-secrets",
            Format::EntraAppRoleAssignments => "entra-app-role-assignments",
            Format::KubernetesObjects => "kubernetes-objects",
            Format::GithubActionsSecrets => "github-actions-secrets",
            Format::GithubDeployKeys => "github-deploy-keys",
            Format::GithubAppInstallations => "github-app-installations",
            Format::GithubPatGrants => "github-pat-grants",
            Format::GithubCredentialAuthorizations => "github-credential-authorizations",
            Format::GithubTeams => "github-teams",
            Format::GithubRepos => "github-repos",
            Format::GithubMembers => "github-members",
            Format::GithubSamlIdentities => "github-saml-identities",
            Format::Vault => "vault",
            Format::TerraformState => "terraform-state",
            Format::EntraApplications => "entra-applications",
            Format::EntraServicePrincipals => "entra-service-principals",
            Format::EntraFederatedCredentials => "entra-federated-credentials",
            Format::EntraOwners => "entra-owners",
            Format::AzureRoleAssignments => "azure-role-assignments",
            Format::OktaApps => "okta-apps",
            Format::OktaApiTokens => "okta-api-tokens",
            Format::OktaGrants => "okta-grants",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The system the format comes from.
    pub fn system(self) -> &'static str {
        match self {
            Format::HrRoster => "hris",
            Format::OktaUsers
            | Format::OktaGroups
            | Format::OktaGroupMembers
            | Format::OktaApps
            | Format::OktaApiTokens
            | Format::OktaGrants => "okta",
            Format::GcpServiceAccounts
            | Format::GcpServiceAccountKeys
            | Format::GcpIamPolicy
            | Format::GcpWorkloadIdentityProviders
            | Format::GcpAssetResources
            | Format::GcpAssetIamPolicies
            | Format::GcpRoles
            | Format::GcpDenyPolicies => "gcp",
            Format::AzureResourceGraph
            | Format::AzureRoleDefinitions
            | Format::AzureKeyVaultSecrets => "azure",
            Format::KubernetesObjects => "kubernetes",
            Format::GithubActionsSecrets
            | Format::GithubDeployKeys
            | Format::GithubAppInstallations
            | Format::GithubPatGrants
            | Format::GithubCredentialAuthorizations
            | Format::GithubTeams
            | Format::GithubRepos
            | Format::GithubMembers
            | Format::GithubSamlIdentities => "github",
            Format::Vault => "vault",
            Format::TerraformState => "terraform",
            Format::EntraApplications
            | Format::EntraServicePrincipals
            | Format::EntraFederatedCredentials
            | Format::EntraOwners
            | Format::AzureRoleAssignments
            | Format::EntraAppRoleAssignments => "entra",
            _ => "aws",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One input file, as bytes, with the path it is reported under.
pub struct SourceFile<'a> {
    /// The path as the user will recognise it (used in provenance and errors).
    pub path: &'a str,
    pub bytes: &'a [u8],
}

/// What parsing needs besides the bytes.
pub struct ParseContext<'a> {
    /// For the rare export that carries secret material (e.g. `create-access-key`).
    pub fingerprinter: &'a Fingerprinter,
}

/// The result of parsing one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// What this file is authoritative for: a later file with the same scope (e.g.
    /// the authorization details of the same AWS account) supersedes this one.
    pub scope: String,
    /// When the source says the export was made, if it says (RFC 3339).
    pub observed_at: Option<String>,
    /// How many records (users, rows…) were read.
    pub records: usize,
    pub facts: Vec<Fact>,
    /// Records or the whole file that could not be read; the rest was kept.
    pub errors: Vec<InputError>,
}

impl Parsed {
    /// The node facts, in order.
    pub fn nodes(&self) -> Vec<&custody_model::NodeFact> {
        self.facts
            .iter()
            .filter_map(|f| match f {
                Fact::Node(n) => Some(n),
                Fact::Edge(_) => None,
            })
            .collect()
    }

    /// The edge facts of one kind (every kind with `None`), in order.
    pub fn edges(&self, kind: Option<custody_model::EdgeKind>) -> Vec<&custody_model::EdgeFact> {
        self.facts
            .iter()
            .filter_map(|f| match f {
                Fact::Edge(e) if kind.is_none_or(|k| e.kind == k) => Some(e),
                _ => None,
            })
            .collect()
    }
}

/// Whether a file's name is a Terraform state's (`terraform.tfstate`,
/// `*.tfstate`, `*.tfstate.backup`).
pub fn is_terraform_state_name(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.ends_with(".tfstate") || name.ends_with(".tfstate.backup")
}

/// Recognises a file's format from its content (and, for Okta group members and
/// AWS access keys, its path). `None` if custody does not know the format.
pub fn detect(path: &str, bytes: &[u8]) -> Option<Format> {
    // UTF-16 (PowerShell's `>`) and byte-order marks decoded first.
    let text = custody_model::text::decode(&bytes[..bytes.len().min(128 * 1024)]);
    let head = &text[..text.len().min(64 * 1024)];
    let head = String::from_utf8_lossy(head);
    let trimmed = head.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && is_vault_path(path)
        && vault::classify(path).is_some()
    {
        return Some(Format::Vault);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let has = |s: &str| head.contains(s);
        // A state file may hold any provider's objects: it goes first.
        // Terraform writes `outputs` before `resources`, and outputs can be
        // large: its own keys, or its name, say what it is.
        if trimmed.starts_with('{')
            && ((has("\"terraform_version\"") && has("\"lineage\""))
                || is_terraform_state_name(path))
        {
            return Some(Format::TerraformState);
        }
        if has("\"UserDetailList\"") || has("\"RoleDetailList\"") || has("\"GroupDetailList\"") {
            return Some(Format::AwsAuthDetails);
        }
        if has("\"AccessKeyMetadata\"") || (has("\"AccessKey\"") && has("\"AccessKeyId\"")) {
            return Some(Format::AwsAccessKeys);
        }
        if has("\"ReportFormat\"") && has("\"Content\"") {
            return Some(Format::AwsCredentialReport);
        }
        if let Some(f) = detect_aws_inventory(path, &head) {
            return Some(f);
        }
        if let Some(f) = detect_gcp_or_kubernetes(trimmed, &head) {
            return Some(f);
        }
        if let Some(f) = detect_github(trimmed, &head) {
            return Some(f);
        }
        if let Some(f) = detect_azure(trimmed, path, &head) {
            return Some(f);
        }
        if trimmed.starts_with('[') {
            if has("\"signOnMode\"") {
                return Some(Format::OktaApps);
            }
            if has("\"tokenWindow\"") || (has("\"clientName\"") && has("\"userId\"")) {
                return Some(Format::OktaApiTokens);
            }
            if has("\"scopeId\"") && has("\"clientId\"") {
                return Some(Format::OktaGrants);
            }
            if has("\"objectClass\"") || has("\"OKTA_GROUP\"") || has("\"APP_GROUP\"") {
                return Some(Format::OktaGroups);
            }
            if has("\"profile\"") && has("\"login\"") {
                return Some(if okta::group_id_from_path(path).is_some() {
                    Format::OktaGroupMembers
                } else {
                    Format::OktaUsers
                });
            }
        }
        return None;
    }
    let first_line = trimmed.lines().next().unwrap_or("").to_ascii_lowercase();
    if first_line.starts_with("user,arn,user_creation_time") {
        return Some(Format::AwsCredentialReport);
    }
    if hris::looks_like_roster_header(&first_line) {
        return Some(Format::HrRoster);
    }
    None
}

/// gcloud's IAM outputs and kubectl's objects, by their field names.
fn detect_gcp_or_kubernetes(trimmed: &str, head: &str) -> Option<Format> {
    let has = |s: &str| head.contains(s);
    if has("\"apiVersion\"") && has("\"kind\"") && (has("\"items\"") || has("\"metadata\"")) {
        return Some(Format::KubernetesObjects);
    }
    if has("\"assetType\"") && has("\"policy\"") && has("\"resource\"") {
        return Some(Format::GcpAssetIamPolicies);
    }
    if has("\"assetType\"") && has("\"name\"") {
        return Some(Format::GcpAssetResources);
    }
    if has("\"includedPermissions\"") {
        return Some(Format::GcpRoles);
    }
    if has("\"denyRule\"") || (has("/denypolicies/") && has("\"rules\"")) {
        return Some(Format::GcpDenyPolicies);
    }
    // A provider's own name: `…/workloadIdentityPools/<pool>/providers/<id>`
    // in one string (a file merely mentioning a pool and some provider is not one).
    let provider_name = head.split('"').any(|s| {
        s.split_once("workloadIdentityPools/")
            .is_some_and(|(_, rest)| rest.contains("/providers/"))
    });
    if provider_name && has("\"name\"") && !has("\"bindings\"") {
        return Some(Format::GcpWorkloadIdentityProviders);
    }
    if trimmed.starts_with('{') && has("\"bindings\"") && has("\"members\"") && has("\"role\"") {
        return Some(Format::GcpIamPolicy);
    }
    if trimmed.starts_with('[') && has("/serviceAccounts/") {
        if has("\"keyType\"") || (has("/keys/") && has("\"validAfterTime\"")) {
            return Some(Format::GcpServiceAccountKeys);
        }
        if has("\"email\"") {
            return Some(Format::GcpServiceAccounts);
        }
    }
    None
}

/// Vault answers carry no marker of their own; they are recognised by being
/// kept below a `vault/` folder.
fn is_vault_path(path: &str) -> bool {
    path.split(['/', '\\']).any(|p| p == "vault")
}

/// `az` outputs (Microsoft Graph objects and Azure RBAC), all JSON arrays.
fn detect_azure(trimmed: &str, path: &str, head: &str) -> Option<Format> {
    let has = |s: &str| head.contains(s);
    if has("\"subscriptionId\"")
        && has("\"type\"")
        && (has("\"total_records\"")
            || has("\"resourceGroup\"")
            || has("managementGroupAncestorsChain"))
    {
        return Some(Format::AzureResourceGraph);
    }
    if trimmed.starts_with('{') && has("\"total_records\"") && has("\"data\"") {
        return Some(Format::AzureResourceGraph);
    }
    if has("\"appRoleId\"") && has("\"resourceId\"") && has("\"principalId\"") {
        return Some(Format::EntraAppRoleAssignments);
    }
    if !trimmed.starts_with('[') {
        return None;
    }
    if has("\"roleName\"") && has("\"permissions\"") && has("\"assignableScopes\"") {
        return Some(Format::AzureRoleDefinitions);
    }
    if has(".vault.azure.net/secrets/") {
        return Some(Format::AzureKeyVaultSecrets);
    }
    let rules: [(bool, Format); 5] = [
        (
            has("\"principalId\"")
                && (has("\"roleDefinitionName\"") || has("\"roleDefinitionId\"")),
            Format::AzureRoleAssignments,
        ),
        (
            has("\"appId\"") && has("\"servicePrincipalType\""),
            Format::EntraServicePrincipals,
        ),
        (
            has("\"appId\"") && (has("\"signInAudience\"") || has("\"passwordCredentials\"")),
            Format::EntraApplications,
        ),
        (
            has("\"issuer\"") && has("\"subject\"") && has("\"audiences\""),
            Format::EntraFederatedCredentials,
        ),
        (
            has("\"@odata.type\"") && path.contains("owner"),
            Format::EntraOwners,
        ),
    ];
    rules.into_iter().find(|(hit, _)| *hit).map(|(_, f)| f)
}

/// GitHub's REST list responses and the SAML identities GraphQL answer.
fn detect_github(trimmed: &str, head: &str) -> Option<Format> {
    let has = |s: &str| head.contains(s);
    let object = trimmed.starts_with('{');
    let rules: [(bool, Format); 9] = [
        (has("\"externalIdentities\""), Format::GithubSamlIdentities),
        // Before members: a repository's owner is a user object.
        (
            !object && has("\"full_name\"") && has("\"default_branch\""),
            Format::GithubRepos,
        ),
        // Before secrets: an installation's permissions may name `secrets`.
        (
            object && has("\"installations\"") && has("\"total_count\""),
            Format::GithubAppInstallations,
        ),
        (
            object && has("\"total_count\"") && has("\"secrets\""),
            Format::GithubActionsSecrets,
        ),
        (
            !object && has("\"token_id\"") && has("\"token_name\""),
            Format::GithubPatGrants,
        ),
        (
            !object && has("\"credential_id\"") && has("\"credential_type\""),
            Format::GithubCredentialAuthorizations,
        ),
        (
            !object && has("\"read_only\"") && (has("\"added_by\"") || has("/keys/")),
            Format::GithubDeployKeys,
        ),
        (
            !object && has("\"slug\"") && (has("\"members_url\"") || has("/teams/")),
            Format::GithubTeams,
        ),
        (
            !object && has("\"login\"") && has("\"site_admin\"") && !has("\"profile\""),
            Format::GithubMembers,
        ),
    ];
    rules.into_iter().find(|(hit, _)| *hit).map(|(_, f)| f)
}

/// The AWS resource and Organizations outputs, by their top-level keys.
fn detect_aws_inventory(path: &str, head: &str) -> Option<Format> {
    let has = |s: &str| head.contains(s);
    let rules: [(bool, Format); 13] = [
        (has("\"PolicySummary\""), Format::AwsOrgPolicy),
        (
            has("\"ResourcePolicy\"") && has("\"ARN\""),
            Format::AwsSecretPolicy,
        ),
        (has("\"SecretList\""), Format::AwsSecrets),
        (
            has("\"DBInstances\"") || has("\"DBClusters\""),
            Format::AwsRds,
        ),
        (has("\"KeyMetadata\""), Format::AwsKmsKey),
        (
            has("\"Functions\"") && (has("\"FunctionArn\"") || has("lambda")),
            Format::AwsLambdaFunctions,
        ),
        (has("\"InstanceProfiles\""), Format::AwsInstanceProfiles),
        (has("\"Reservations\""), Format::AwsEc2Instances),
        (
            has("\"cluster\"") && has("arn:aws:eks:"),
            Format::AwsEksCluster,
        ),
        (
            has("\"Targets\"") && (has("\"TargetId\"") || path.contains("organizations")),
            Format::AwsOrgTargets,
        ),
        (has("\"Parents\""), Format::AwsOrgParents),
        (has("\"TagSet\""), Format::AwsS3BucketTagging),
        (has("\"Buckets\""), Format::AwsS3Buckets),
    ];
    if let Some((_, f)) = rules.into_iter().find(|(hit, _)| *hit) {
        return Some(f);
    }
    // `{"Policy": "<document as a string>"}`.
    let at = head.find("\"Policy\"")?;
    let rest = head[at + 8..].trim_start().strip_prefix(':')?.trim_start();
    rest.starts_with('"').then_some(Format::AwsResourcePolicy)
}

/// Parses one file in a known format. Never panics on input; every problem comes
/// back as an [`InputError`] in [`Parsed::errors`], located by line or JSON pointer.
pub fn parse(format: Format, file: &SourceFile<'_>, ctx: &ParseContext<'_>) -> Parsed {
    // Every format as text: UTF-16 (PowerShell's `>`) decoded, marks dropped.
    let text = custody_model::text::decode(file.bytes);
    let decoded = SourceFile {
        path: file.path,
        bytes: &text,
    };
    let file = &decoded;
    let mut parsed = match format {
        Format::AwsAuthDetails => aws::auth_details::parse(file),
        Format::AwsCredentialReport => aws::credential_report::parse(file),
        Format::AwsAccessKeys => aws::access_keys::parse(file, ctx),
        Format::HrRoster => hris::parse(file),
        Format::OktaUsers => okta::parse_users(file),
        Format::OktaGroups => okta::parse_groups(file),
        Format::OktaGroupMembers => okta::parse_group_members(file),
        Format::GcpServiceAccounts => gcp::parse_service_accounts(file),
        Format::GcpServiceAccountKeys => gcp::parse_service_account_keys(file),
        Format::GcpIamPolicy => gcp::parse_iam_policy(file),
        Format::GcpWorkloadIdentityProviders => gcp::parse_wif_providers(file),
        Format::GcpAssetResources => gcp_assets::parse_resources(file),
        Format::GcpAssetIamPolicies => gcp_assets::parse_iam_policies(file),
        Format::GcpRoles => gcp_assets::parse_roles(file),
        Format::GcpDenyPolicies => gcp_assets::parse_deny_policies(file),
        Format::AzureResourceGraph => azure_resources::parse_resource_graph(file),
        Format::AzureRoleDefinitions => azure_resources::parse_role_definitions(file),
        Format::AzureKeyVaultSecrets => azure_resources::parse_keyvault_secrets(file),
        Format::EntraAppRoleAssignments => azure::parse_app_role_assignments(file),
        Format::KubernetesObjects => kubernetes::parse(file, audit::cluster_of(file.path)),
        Format::GithubActionsSecrets => github::parse_actions_secrets(file),
        Format::GithubDeployKeys => github::parse_deploy_keys(file),
        Format::GithubAppInstallations => github::parse_installations(file),
        Format::GithubPatGrants => github::parse_pat_grants(file),
        Format::GithubCredentialAuthorizations => github::parse_credential_authorizations(file),
        Format::GithubTeams => github::parse_teams(file),
        Format::GithubRepos => github::parse_repos(file),
        Format::GithubMembers => github::parse_members(file),
        Format::GithubSamlIdentities => github::parse_saml_identities(file),
        Format::Vault => vault::parse(file),
        Format::TerraformState => terraform::parse(file, ctx),
        Format::EntraApplications => azure::parse_objects(file, false),
        Format::EntraServicePrincipals => azure::parse_objects(file, true),
        Format::EntraFederatedCredentials => azure::parse_federated_credentials(file),
        Format::EntraOwners => azure::parse_owners(file),
        Format::AzureRoleAssignments => azure::parse_role_assignments(file),
        Format::OktaApps => okta::parse_apps(file),
        Format::OktaApiTokens => okta::parse_api_tokens(file),
        Format::OktaGrants => okta::parse_grants(file),
        _ => aws::inventory::parse(format, file),
    };
    if parsed.scope.is_empty() {
        parsed.scope = format!("{}:{}", format.name(), file.path);
    }
    if parsed.records == 0
        && parsed.errors.is_empty()
        && file.bytes.iter().all(|b| b.is_ascii_whitespace())
    {
        parsed.errors.push(InputError::new(
            format.name(),
            file.path,
            Location::File,
            "the file is empty",
        ));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture of the repository's own (`fixtures/`).
    fn sample(rel: &str) -> Vec<u8> {
        let p = format!("{}/../../fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn formats_are_detected_from_content() {
        let authz = sample("aws-iam/authorization-details.json");
        assert_eq!(detect("a.json", &authz), Some(Format::AwsAuthDetails));
        let report = sample("aws-iam/credential-report.csv");
        assert_eq!(detect("r.csv", &report), Some(Format::AwsCredentialReport));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&report);
        assert_eq!(detect("r.csv", &bom), Some(Format::AwsCredentialReport));
        assert_eq!(
            detect("k.json", br#"{"AccessKeyMetadata": []}"#),
            Some(Format::AwsAccessKeys)
        );
        assert_eq!(
            detect("h.csv", b"email,name,status\n"),
            Some(Format::HrRoster)
        );
        assert_eq!(
            detect("u.json", br#"[{"id":"x","profile":{"login":"a@b.c"}}]"#),
            Some(Format::OktaUsers)
        );
        for (path, text, want) in [
            (
                "a/s3/list-buckets.json",
                r#"{"Buckets": [], "Owner": {"ID": "x"}}"#,
                Format::AwsS3Buckets,
            ),
            (
                "a/s3/b/tagging.json",
                r#"{"TagSet": []}"#,
                Format::AwsS3BucketTagging,
            ),
            (
                "a/s3/b/policy.json",
                r#"{"Policy" : "{}"}"#,
                Format::AwsResourcePolicy,
            ),
            ("r.json", r#"{"DBClusters": []}"#, Format::AwsRds),
            ("s.json", r#"{"SecretList": []}"#, Format::AwsSecrets),
            (
                "p.json",
                r#"{"ARN": "x", "ResourcePolicy": "{}"}"#,
                Format::AwsSecretPolicy,
            ),
            ("k.json", r#"{"KeyMetadata": {}}"#, Format::AwsKmsKey),
            (
                "l.json",
                r#"{"Functions": [{"FunctionArn": "x"}]}"#,
                Format::AwsLambdaFunctions,
            ),
            (
                "i.json",
                r#"{"InstanceProfiles": []}"#,
                Format::AwsInstanceProfiles,
            ),
            ("e.json", r#"{"Reservations": []}"#, Format::AwsEc2Instances),
            (
                "c.json",
                r#"{"cluster": {"arn": "arn:aws:eks:x"}}"#,
                Format::AwsEksCluster,
            ),
            (
                "d.json",
                r#"{"Policy": {"PolicySummary": {}}}"#,
                Format::AwsOrgPolicy,
            ),
            (
                "organizations/policies/p-1/t.json",
                r#"{"Targets": []}"#,
                Format::AwsOrgTargets,
            ),
            (
                "o/123456789012.json",
                r#"{"Parents": []}"#,
                Format::AwsOrgParents,
            ),
            (
                "gcp/sa.json",
                r#"[{"email": "a@p.iam.gserviceaccount.com", "name": "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"}]"#,
                Format::GcpServiceAccounts,
            ),
            (
                "gcp/keys.json",
                r#"[{"keyType": "USER_MANAGED", "name": "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/1"}]"#,
                Format::GcpServiceAccountKeys,
            ),
            (
                "gcp/projects/p/iam-policy.json",
                r#"{"bindings": [{"members": ["user:a@b.c"], "role": "roles/viewer"}], "etag": "x"}"#,
                Format::GcpIamPolicy,
            ),
            (
                "gcp/wif.json",
                r#"[{"name": "projects/1/locations/global/workloadIdentityPools/p/providers/q"}]"#,
                Format::GcpWorkloadIdentityProviders,
            ),
            (
                "gcp/assets/resources.json",
                r#"[{"name": "//storage.googleapis.com/b", "assetType": "storage.googleapis.com/Bucket", "project": "projects/1"}]"#,
                Format::GcpAssetResources,
            ),
            (
                "gcp/assets/iam-policies.json",
                r#"[{"resource": "//storage.googleapis.com/b", "assetType": "storage.googleapis.com/Bucket", "policy": {"bindings": []}}]"#,
                Format::GcpAssetIamPolicies,
            ),
            (
                "gcp/roles/x.json",
                r#"{"name": "projects/p/roles/x", "includedPermissions": ["storage.objects.get"]}"#,
                Format::GcpRoles,
            ),
            (
                "gcp/deny/x.json",
                r#"{"name": "policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fp/denypolicies/x", "rules": [{"denyRule": {}}]}"#,
                Format::GcpDenyPolicies,
            ),
            (
                "github/orgs/a/repos.json",
                r#"[{"full_name": "a/b", "default_branch": "main", "owner": {"login": "a", "site_admin": false}}]"#,
                Format::GithubRepos,
            ),
            (
                "azure/resource-graph/resources.json",
                r#"{"count": 0, "data": [], "skip_token": null, "total_records": 0}"#,
                Format::AzureResourceGraph,
            ),
            (
                "azure/role-definitions.json",
                r#"[{"name": "g", "roleName": "x", "permissions": [], "assignableScopes": ["/"]}]"#,
                Format::AzureRoleDefinitions,
            ),
            (
                "azure/graph/app-role-assigned-to.json",
                r#"{"value": [{"appRoleId": "a", "principalId": "p", "resourceId": "r"}]}"#,
                Format::EntraAppRoleAssignments,
            ),
            (
                "azure/keyvault/kv/secrets.json",
                r#"[{"id": "https://kv.vault.azure.net/secrets/s", "name": "s"}]"#,
                Format::AzureKeyVaultSecrets,
            ),
            (
                "github/repos/a/b/actions/secrets.json",
                r#"{"total_count": 0, "secrets": []}"#,
                Format::GithubActionsSecrets,
            ),
            (
                "github/repos/a/b/keys.json",
                r#"[{"id": 1, "read_only": true, "added_by": "x"}]"#,
                Format::GithubDeployKeys,
            ),
            (
                "github/orgs/a/installations.json",
                r#"{"total_count": 1, "installations": [{"id": 1, "permissions": {"secrets": "write"}}]}"#,
                Format::GithubAppInstallations,
            ),
            (
                "github/orgs/a/personal-access-tokens.json",
                r#"[{"token_id": 1, "token_name": "x"}]"#,
                Format::GithubPatGrants,
            ),
            (
                "github/orgs/a/credential-authorizations.json",
                r#"[{"credential_id": 1, "credential_type": "SSH key"}]"#,
                Format::GithubCredentialAuthorizations,
            ),
            (
                "github/orgs/a/teams.json",
                r#"[{"slug": "x", "members_url": "y"}]"#,
                Format::GithubTeams,
            ),
            (
                "github/orgs/a/members.json",
                r#"[{"login": "x", "site_admin": false}]"#,
                Format::GithubMembers,
            ),
            (
                "github/orgs/a/saml-identities.json",
                r#"{"data": {"organization": {"samlIdentityProvider": {"externalIdentities": {}}}}}"#,
                Format::GithubSamlIdentities,
            ),
            (
                "okta/apps.json",
                r#"[{"id": "0oa1", "signOnMode": "OPENID_CONNECT"}]"#,
                Format::OktaApps,
            ),
            (
                "okta/api-tokens.json",
                r#"[{"id": "00T1", "tokenWindow": "P30D", "userId": "00u1"}]"#,
                Format::OktaApiTokens,
            ),
            (
                "okta/apps/0oa1/grants.json",
                r#"[{"id": "oag1", "clientId": "0oa1", "scopeId": "okta.users.read"}]"#,
                Format::OktaGrants,
            ),
            (
                "azure/applications.json",
                r#"[{"appId": "a", "id": "b", "signInAudience": "AzureADMyOrg"}]"#,
                Format::EntraApplications,
            ),
            (
                "azure/service-principals.json",
                r#"[{"appId": "a", "id": "b", "servicePrincipalType": "Application"}]"#,
                Format::EntraServicePrincipals,
            ),
            (
                "azure/applications/a/federated-credentials.json",
                r#"[{"issuer": "i", "subject": "s", "audiences": []}]"#,
                Format::EntraFederatedCredentials,
            ),
            (
                "azure/applications/a/owners.json",
                r##"[{"@odata.type": "#microsoft.graph.user", "id": "u"}]"##,
                Format::EntraOwners,
            ),
            (
                "azure/role-assignments.json",
                r#"[{"principalId": "p", "roleDefinitionName": "Reader", "scope": "/"}]"#,
                Format::AzureRoleAssignments,
            ),
            (
                "infra/terraform.tfstate",
                r#"{"version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "x", "outputs": {}, "resources": []}"#,
                Format::TerraformState,
            ),
            (
                "vault/secret/metadata/app/db.json",
                r#"{"data": {"current_version": 1}}"#,
                Format::Vault,
            ),
            (
                "kubernetes/prod/all.json",
                r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
                Format::KubernetesObjects,
            ),
        ] {
            assert_eq!(detect(path, text.as_bytes()), Some(want), "{path}");
        }
        assert_eq!(detect("x.json", b"{}"), None);
        assert_eq!(detect("x.txt", b""), None);
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
    }

    #[test]
    fn an_empty_file_is_an_error_in_every_format() {
        let fp = Fingerprinter::new(&[1u8; 32]).unwrap();
        for f in Format::ALL {
            let p = parse(
                f,
                &SourceFile {
                    path: "aws/111122223333/groups/00g1a2b3c4D5E6F7G8H9/users.json",
                    bytes: b"\n",
                },
                &ParseContext { fingerprinter: &fp },
            );
            assert!(!p.errors.is_empty(), "{f}");
            assert!(p.facts.is_empty());
        }
    }
}
