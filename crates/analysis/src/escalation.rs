//! Privilege escalation: which of the known IAM escalation techniques a principal's
//! own policies let it carry out against *another* principal or resource.
//!
//! The techniques are those catalogued publicly by Rhino Security Labs (and used by
//! cloudsplaining and PMapper), plus a few newer service combinations. Each needs
//! every action it lists; an action counts when the principal's policies allow it on
//! a representative target that is not the principal itself (another user, role,
//! group or policy of the same account), so permission over one's own access keys
//! alone does not count as escalation.

use crate::eval::{evaluate, Context, Outcome, PolicySet, Request};

/// What an action is tried against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    OtherUser,
    OtherRole,
    OtherGroup,
    CustomerPolicy,
    /// The action's own service resource, any in the account (`*`).
    Any,
}

#[derive(Debug, Clone)]
pub struct Technique {
    /// Stable identifier, e.g. `create-access-key`.
    pub id: &'static str,
    pub summary: &'static str,
    pub actions: &'static [(&'static str, Target)],
}

use Target::*;

/// The techniques, as data.
pub const TECHNIQUES: &[Technique] = &[
    Technique {
        id: "create-policy-version",
        summary: "write a new default version of a customer-managed policy attached to itself",
        actions: &[("iam:CreatePolicyVersion", CustomerPolicy)],
    },
    Technique {
        id: "set-default-policy-version",
        summary: "make an older, broader version of a policy the default",
        actions: &[("iam:SetDefaultPolicyVersion", CustomerPolicy)],
    },
    Technique {
        id: "create-access-key",
        summary: "create an access key for another user and act as them",
        actions: &[("iam:CreateAccessKey", OtherUser)],
    },
    Technique {
        id: "create-login-profile",
        summary: "give another user a console password and sign in as them",
        actions: &[("iam:CreateLoginProfile", OtherUser)],
    },
    Technique {
        id: "update-login-profile",
        summary: "change another user's console password",
        actions: &[("iam:UpdateLoginProfile", OtherUser)],
    },
    Technique {
        id: "attach-user-policy",
        summary: "attach any managed policy (e.g. AdministratorAccess) to a user",
        actions: &[("iam:AttachUserPolicy", OtherUser)],
    },
    Technique {
        id: "attach-group-policy",
        summary: "attach any managed policy to a group it is in",
        actions: &[("iam:AttachGroupPolicy", OtherGroup)],
    },
    Technique {
        id: "attach-role-policy",
        summary: "attach any managed policy to a role it can assume",
        actions: &[("iam:AttachRolePolicy", OtherRole)],
    },
    Technique {
        id: "put-user-policy",
        summary: "write an inline policy on a user",
        actions: &[("iam:PutUserPolicy", OtherUser)],
    },
    Technique {
        id: "put-group-policy",
        summary: "write an inline policy on a group",
        actions: &[("iam:PutGroupPolicy", OtherGroup)],
    },
    Technique {
        id: "put-role-policy",
        summary: "write an inline policy on a role",
        actions: &[("iam:PutRolePolicy", OtherRole)],
    },
    Technique {
        id: "add-user-to-group",
        summary: "add a user to a more privileged group",
        actions: &[("iam:AddUserToGroup", OtherGroup)],
    },
    Technique {
        id: "update-assume-role-policy",
        summary: "rewrite a role's trust policy to let itself assume it",
        actions: &[
            ("iam:UpdateAssumeRolePolicy", OtherRole),
            ("sts:AssumeRole", OtherRole),
        ],
    },
    Technique {
        id: "passrole-ec2",
        summary: "launch an instance with a more privileged role",
        actions: &[("iam:PassRole", OtherRole), ("ec2:RunInstances", Any)],
    },
    Technique {
        id: "passrole-lambda-invoke",
        summary: "create and invoke a function running as a more privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:InvokeFunction", Any),
        ],
    },
    Technique {
        id: "passrole-lambda-event-source",
        summary: "create a function with a privileged role, triggered by an event source",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:CreateEventSourceMapping", Any),
        ],
    },
    Technique {
        id: "update-function-code",
        summary: "replace the code of a function that runs as a privileged role",
        actions: &[("lambda:UpdateFunctionCode", Any)],
    },
    Technique {
        id: "passrole-glue-dev-endpoint",
        summary: "create a Glue development endpoint with a privileged role",
        actions: &[("iam:PassRole", OtherRole), ("glue:CreateDevEndpoint", Any)],
    },
    Technique {
        id: "update-glue-dev-endpoint",
        summary: "add an SSH key to an existing Glue development endpoint",
        actions: &[("glue:UpdateDevEndpoint", Any)],
    },
    Technique {
        id: "passrole-cloudformation",
        summary: "create a stack whose resources are made by a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("cloudformation:CreateStack", Any),
        ],
    },
    Technique {
        id: "passrole-datapipeline",
        summary: "run a data pipeline as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("datapipeline:CreatePipeline", Any),
            ("datapipeline:PutPipelineDefinition", Any),
        ],
    },
    Technique {
        id: "passrole-sagemaker-notebook",
        summary: "create a SageMaker notebook with a privileged role and open it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("sagemaker:CreateNotebookInstance", Any),
            ("sagemaker:CreatePresignedNotebookInstanceUrl", Any),
        ],
    },
    Technique {
        id: "passrole-codebuild",
        summary: "run a build project as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("codebuild:CreateProject", Any),
            ("codebuild:StartBuild", Any),
        ],
    },
    Technique {
        id: "passrole-ecs-task",
        summary: "run an ECS task with a privileged task role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:RunTask", Any),
        ],
    },
    Technique {
        id: "ssm-send-command",
        summary: "run commands on instances whose profiles hold other roles",
        actions: &[("ssm:SendCommand", Any)],
    },
];

/// One technique the principal can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub technique: &'static str,
    pub summary: &'static str,
    /// Each needed action, the reason it is allowed, and (for identity-policy
    /// allows) the index of the allowing policy in the [`PolicySet`].
    pub granted: Vec<(String, String, Option<usize>)>,
    /// True when some needed action is allowed only under unevaluated conditions.
    pub conditional: bool,
}

/// The representative ARN of a target, in the principal's account, never the principal.
fn target_arn(t: Target, account: &str) -> String {
    match t {
        OtherUser => format!("arn:aws:iam::{account}:user/custody-probe-other-user"),
        OtherRole => format!("arn:aws:iam::{account}:role/custody-probe-other-role"),
        OtherGroup => format!("arn:aws:iam::{account}:group/custody-probe-other-group"),
        CustomerPolicy => format!("arn:aws:iam::{account}:policy/custody-probe-policy"),
        Any => "*".to_string(),
    }
}

/// Every technique whose actions `principal` is allowed under `set`.
pub fn escalations(set: &PolicySet<'_>, principal: &str, context: &Context) -> Vec<Escalation> {
    let account = principal.split(':').nth(4).unwrap_or("");
    let mut out = Vec::new();
    'technique: for t in TECHNIQUES {
        let mut granted = Vec::new();
        let mut conditional = false;
        for (action, target) in t.actions {
            let resource = target_arn(*target, account);
            let d = evaluate(
                set,
                &Request {
                    principal,
                    action,
                    resource: &resource,
                    context,
                },
            );
            if d.outcome != Outcome::Allow {
                continue 'technique;
            }
            conditional |= d.conditional;
            granted.push((action.to_string(), d.reason, d.identity_policy));
        }
        out.push(Escalation {
            technique: t.id,
            summary: t.summary,
            granted,
            conditional,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Policy};
    use serde_json::json;

    const ME: &str = "arn:aws:iam::111122223333:user/alice";

    fn ids(set: &PolicySet<'_>, ctx: &Context) -> Vec<&'static str> {
        escalations(set, ME, ctx)
            .into_iter()
            .map(|e| e.technique)
            .collect()
    }

    #[test]
    fn every_technique_names_catalogued_actions() {
        let c = Catalog::builtin();
        for t in TECHNIQUES {
            for (a, _) in t.actions {
                assert!(c.get(a).is_some(), "{}: {a} is not in the catalogue", t.id);
            }
        }
    }

    #[test]
    fn administrators_can_use_every_technique() {
        let admin = Policy::from_value(
            &json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )
        .unwrap();
        let set = PolicySet {
            identity: vec![&admin],
            ..Default::default()
        };
        assert_eq!(ids(&set, &Context::new()).len(), TECHNIQUES.len());
    }

    #[test]
    fn managing_only_ones_own_keys_is_not_escalation() {
        let own = Policy::from_value(&json!({"Statement": [{"Effect": "Allow",
            "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile"], "Resource": "arn:aws:iam::*:user/${aws:username}"}]})).unwrap();
        let set = PolicySet {
            identity: vec![&own],
            ..Default::default()
        };
        assert!(ids(&set, &Context::new().with("aws:username", "alice")).is_empty());
        // Unknown user name: it might match another user, so only conditionally.
        let e = escalations(&set, ME, &Context::new());
        assert!(e.iter().all(|e| e.conditional) && !e.is_empty());
    }

    #[test]
    fn passrole_needs_its_service_partner_and_a_deny_blocks_it() {
        let pass = Policy::from_value(&json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]})).unwrap();
        let set = PolicySet {
            identity: vec![&pass],
            ..Default::default()
        };
        assert_eq!(ids(&set, &Context::new()), vec!["passrole-ec2"]);
        let no_pass = Policy::from_value(
            &json!({"Statement": [{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]}),
        )
        .unwrap();
        let set = PolicySet {
            identity: vec![&pass, &no_pass],
            ..Default::default()
        };
        assert!(ids(&set, &Context::new()).is_empty());
    }

    #[test]
    fn power_users_escalate_through_services_but_not_iam() {
        let power = Policy::from_value(&json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}]})).unwrap();
        let set = PolicySet {
            identity: vec![&power],
            ..Default::default()
        };
        let found = ids(&set, &Context::new());
        assert!(found.contains(&"update-function-code"));
        assert!(found.contains(&"ssm-send-command"));
        assert!(
            !found
                .iter()
                .any(|t| t.starts_with("passrole") || t.starts_with("attach")),
            "{found:?}"
        );
    }
}
