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
    /// Whom it lets the principal become.
    pub reaches: Reaches,
}

/// What a technique gives, for reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaches {
    /// Rewriting IAM: full control of the account.
    Account,
    /// A new resource of this service running as any role the principal may pass
    /// (roles whose trust policy names the service).
    PassRole(&'static str),
    /// The roles existing Lambda functions run as.
    FunctionRoles,
    /// The roles existing EC2 instances' profiles carry.
    InstanceRoles,
    /// The roles existing resources of a service run as (all roles trusting it).
    ServiceRoles(&'static str),
}

use Reaches::*;
use Target::*;

/// The techniques, as data. Sources: Rhino Security Labs' IAM privilege
/// escalation research and pathfinding.cloud; cloudsplaining checks the same
/// action combinations (differences: `docs/IAM-ANALYSIS.md`).
pub const TECHNIQUES: &[Technique] = &[
    Technique {
        id: "create-policy-version",
        summary: "write a new default version of a customer-managed policy attached to itself",
        actions: &[("iam:CreatePolicyVersion", CustomerPolicy)],
        reaches: Account,
    },
    Technique {
        id: "set-default-policy-version",
        summary: "make an older, broader version of a policy the default",
        actions: &[("iam:SetDefaultPolicyVersion", CustomerPolicy)],
        reaches: Account,
    },
    Technique {
        id: "create-access-key",
        summary: "create an access key for another user and act as them",
        actions: &[("iam:CreateAccessKey", OtherUser)],
        reaches: Account,
    },
    Technique {
        id: "create-login-profile",
        summary: "give another user a console password and sign in as them",
        actions: &[("iam:CreateLoginProfile", OtherUser)],
        reaches: Account,
    },
    Technique {
        id: "update-login-profile",
        summary: "change another user's console password",
        actions: &[("iam:UpdateLoginProfile", OtherUser)],
        reaches: Account,
    },
    Technique {
        id: "attach-user-policy",
        summary: "attach any managed policy (e.g. AdministratorAccess) to a user",
        actions: &[("iam:AttachUserPolicy", OtherUser)],
        reaches: Account,
    },
    Technique {
        id: "attach-group-policy",
        summary: "attach any managed policy to a group it is in",
        actions: &[("iam:AttachGroupPolicy", OtherGroup)],
        reaches: Account,
    },
    Technique {
        id: "attach-role-policy",
        summary: "attach any managed policy to a role it can assume",
        actions: &[("iam:AttachRolePolicy", OtherRole)],
        reaches: Account,
    },
    Technique {
        id: "put-user-policy",
        summary: "write an inline policy on a user",
        actions: &[("iam:PutUserPolicy", OtherUser)],
        reaches: Account,
    },
    Technique {
        id: "put-group-policy",
        summary: "write an inline policy on a group",
        actions: &[("iam:PutGroupPolicy", OtherGroup)],
        reaches: Account,
    },
    Technique {
        id: "put-role-policy",
        summary: "write an inline policy on a role",
        actions: &[("iam:PutRolePolicy", OtherRole)],
        reaches: Account,
    },
    Technique {
        id: "add-user-to-group",
        summary: "add a user to a more privileged group",
        actions: &[("iam:AddUserToGroup", OtherGroup)],
        reaches: Account,
    },
    Technique {
        id: "update-assume-role-policy",
        summary: "rewrite a role's trust policy to let itself assume it",
        actions: &[
            ("iam:UpdateAssumeRolePolicy", OtherRole),
            ("sts:AssumeRole", OtherRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "create-and-rotate-access-key",
        summary: "delete one of another user's two keys and create a new one",
        actions: &[
            ("iam:CreateAccessKey", OtherUser),
            ("iam:DeleteAccessKey", OtherUser),
        ],
        reaches: Account,
    },
    Technique {
        id: "attach-user-policy-then-create-access-key",
        summary: "grant another user more, then act as them",
        actions: &[
            ("iam:AttachUserPolicy", OtherUser),
            ("iam:CreateAccessKey", OtherUser),
        ],
        reaches: Account,
    },
    Technique {
        id: "put-user-policy-then-create-access-key",
        summary: "write another user's inline policy, then act as them",
        actions: &[
            ("iam:PutUserPolicy", OtherUser),
            ("iam:CreateAccessKey", OtherUser),
        ],
        reaches: Account,
    },
    Technique {
        id: "create-policy-version-then-assume-role",
        summary: "widen a role's customer-managed policy, then assume it",
        actions: &[
            ("iam:CreatePolicyVersion", CustomerPolicy),
            ("sts:AssumeRole", OtherRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "attach-role-policy-then-update-trust",
        summary: "grant a role more and make it trust the caller",
        actions: &[
            ("iam:AttachRolePolicy", OtherRole),
            ("iam:UpdateAssumeRolePolicy", OtherRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "create-policy-version-then-update-trust",
        summary: "widen a role's policy and make it trust the caller",
        actions: &[
            ("iam:CreatePolicyVersion", CustomerPolicy),
            ("iam:UpdateAssumeRolePolicy", OtherRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "put-role-policy-then-update-trust",
        summary: "write a role's inline policy and make it trust the caller",
        actions: &[
            ("iam:PutRolePolicy", OtherRole),
            ("iam:UpdateAssumeRolePolicy", OtherRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "passrole-ec2",
        summary: "launch an instance with a more privileged role",
        actions: &[("iam:PassRole", OtherRole), ("ec2:RunInstances", Any)],
        reaches: PassRole("ec2.amazonaws.com"),
    },
    Technique {
        id: "passrole-ec2-spot",
        summary: "request a spot instance with a more privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ec2:RequestSpotInstances", Any),
        ],
        reaches: PassRole("ec2.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-invoke",
        summary: "create and invoke a function running as a more privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:InvokeFunction", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-event-source",
        summary: "create a function with a privileged role, triggered by an event source",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:CreateEventSourceMapping", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-new-dynamodb-trigger",
        summary: "create a function with a privileged role and a new DynamoDB table to trigger it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:CreateEventSourceMapping", Any),
            ("dynamodb:CreateTable", Any),
            ("dynamodb:PutItem", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-add-permission",
        summary: "create a function with a privileged role and let itself invoke it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("lambda:CreateFunction", Any),
            ("lambda:AddPermission", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "update-function-code",
        summary: "replace the code of a function that runs as a privileged role",
        actions: &[("lambda:UpdateFunctionCode", Any)],
        reaches: FunctionRoles,
    },
    Technique {
        id: "update-and-invoke-function",
        summary: "replace a function's code and invoke it",
        actions: &[
            ("lambda:UpdateFunctionCode", Any),
            ("lambda:InvokeFunction", Any),
        ],
        reaches: FunctionRoles,
    },
    Technique {
        id: "update-function-and-add-permission",
        summary: "replace a function's code and let itself invoke it",
        actions: &[
            ("lambda:UpdateFunctionCode", Any),
            ("lambda:AddPermission", Any),
        ],
        reaches: FunctionRoles,
    },
    Technique {
        id: "passrole-glue-dev-endpoint",
        summary: "create a Glue development endpoint with a privileged role",
        actions: &[("iam:PassRole", OtherRole), ("glue:CreateDevEndpoint", Any)],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "update-glue-dev-endpoint",
        summary: "add an SSH key to an existing Glue development endpoint",
        actions: &[("glue:UpdateDevEndpoint", Any)],
        reaches: ServiceRoles("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-run",
        summary: "create a Glue job with a privileged role and run it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("glue:CreateJob", Any),
            ("glue:StartJobRun", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-trigger",
        summary: "create a Glue job with a privileged role and a trigger for it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("glue:CreateJob", Any),
            ("glue:CreateTrigger", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-update-run",
        summary: "give an existing Glue job a privileged role and run it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("glue:UpdateJob", Any),
            ("glue:StartJobRun", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-update-trigger",
        summary: "give an existing Glue job a privileged role and a trigger",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("glue:UpdateJob", Any),
            ("glue:CreateTrigger", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation",
        summary: "create a stack whose resources are made by a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("cloudformation:CreateStack", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation-stackset",
        summary: "create a stack set and instances run by a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("cloudformation:CreateStackSet", Any),
            ("cloudformation:CreateStackInstances", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation-stackset-update",
        summary: "give an existing stack set a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("cloudformation:UpdateStackSet", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "cloudformation-change-set",
        summary: "change an existing stack that runs as a privileged role",
        actions: &[
            ("cloudformation:CreateChangeSet", Any),
            ("cloudformation:ExecuteChangeSet", Any),
        ],
        reaches: ServiceRoles("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-datapipeline",
        summary: "run a data pipeline as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("datapipeline:CreatePipeline", Any),
            ("datapipeline:PutPipelineDefinition", Any),
        ],
        reaches: PassRole("datapipeline.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-notebook",
        summary: "create a SageMaker notebook with a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("sagemaker:CreateNotebookInstance", Any),
        ],
        reaches: PassRole("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-training",
        summary: "run a SageMaker training job as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("sagemaker:CreateTrainingJob", Any),
        ],
        reaches: PassRole("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-processing",
        summary: "run a SageMaker processing job as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("sagemaker:CreateProcessingJob", Any),
        ],
        reaches: PassRole("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "sagemaker-presigned-notebook-url",
        summary: "open an existing notebook that runs as a privileged role",
        actions: &[("sagemaker:CreatePresignedNotebookInstanceUrl", Any)],
        reaches: ServiceRoles("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "sagemaker-notebook-lifecycle-config",
        summary: "run code at the start of an existing notebook with a privileged role",
        actions: &[
            ("sagemaker:CreateNotebookInstanceLifecycleConfig", Any),
            ("sagemaker:StopNotebookInstance", Any),
            ("sagemaker:UpdateNotebookInstance", Any),
            ("sagemaker:StartNotebookInstance", Any),
        ],
        reaches: ServiceRoles("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "passrole-codebuild",
        summary: "run a build project as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("codebuild:CreateProject", Any),
            ("codebuild:StartBuild", Any),
        ],
        reaches: PassRole("codebuild.amazonaws.com"),
    },
    Technique {
        id: "passrole-codebuild-batch",
        summary: "run a batch build as a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("codebuild:CreateProject", Any),
            ("codebuild:StartBuildBatch", Any),
        ],
        reaches: PassRole("codebuild.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-task",
        summary: "run an ECS task with a privileged task role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:RunTask", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-start-task",
        summary: "start an ECS task with a privileged task role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:StartTask", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-service",
        summary: "create an ECS service whose tasks have a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:CreateService", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-cluster-service",
        summary: "create a cluster and a service with a privileged task role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:CreateCluster", Any),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:CreateService", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-cluster-task",
        summary: "create a cluster and run a task with a privileged role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("ecs:CreateCluster", Any),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:RunTask", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "ecs-execute-command",
        summary: "open a shell in a running task that has a privileged role",
        actions: &[("ecs:ExecuteCommand", Any), ("ecs:DescribeTasks", Any)],
        reaches: ServiceRoles("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-apprunner",
        summary: "create an App Runner service with a privileged instance role",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("apprunner:CreateService", Any),
        ],
        reaches: PassRole("tasks.apprunner.amazonaws.com"),
    },
    Technique {
        id: "passrole-bedrock-code-interpreter",
        summary: "create a Bedrock code interpreter with a privileged role and run code in it",
        actions: &[
            ("iam:PassRole", OtherRole),
            ("bedrock-agentcore:CreateCodeInterpreter", Any),
            ("bedrock-agentcore:StartCodeInterpreterSession", Any),
            ("bedrock-agentcore:InvokeCodeInterpreter", Any),
        ],
        reaches: PassRole("bedrock-agentcore.amazonaws.com"),
    },
    Technique {
        id: "bedrock-code-interpreter-session",
        summary: "run code in an existing Bedrock code interpreter with a privileged role",
        actions: &[
            ("bedrock-agentcore:StartCodeInterpreterSession", Any),
            ("bedrock-agentcore:InvokeCodeInterpreter", Any),
        ],
        reaches: ServiceRoles("bedrock-agentcore.amazonaws.com"),
    },
    Technique {
        id: "ec2-user-data-restart",
        summary: "rewrite an instance's user data and restart it",
        actions: &[
            ("ec2:ModifyInstanceAttribute", Any),
            ("ec2:StopInstances", Any),
            ("ec2:StartInstances", Any),
        ],
        reaches: InstanceRoles,
    },
    Technique {
        id: "ec2-launch-template",
        summary: "change the launch template instances with a privileged profile start from",
        actions: &[
            ("ec2:CreateLaunchTemplateVersion", Any),
            ("ec2:ModifyLaunchTemplate", Any),
        ],
        reaches: InstanceRoles,
    },
    Technique {
        id: "ec2-instance-connect",
        summary: "push an SSH key to an instance with a privileged profile",
        actions: &[
            ("ec2-instance-connect:SendSSHPublicKey", Any),
            ("ec2:DescribeInstances", Any),
        ],
        reaches: InstanceRoles,
    },
    Technique {
        id: "ssm-send-command",
        summary: "run commands on instances whose profiles hold other roles",
        actions: &[("ssm:SendCommand", Any)],
        reaches: InstanceRoles,
    },
];

/// One technique the principal can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub technique: &'static str,
    pub summary: &'static str,
    pub reaches: Reaches,
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
            reaches: t.reaches,
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
