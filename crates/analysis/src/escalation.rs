//! Privilege escalation: which of the known IAM escalation techniques a principal's
//! own policies let it carry out against *another* principal or resource.
//!
//! The techniques are those catalogued publicly by Rhino Security Labs (and used by
//! cloudsplaining and PMapper) and pathfinding.cloud, plus a few newer service
//! combinations. Each needs every action it lists. An action is tried against the
//! targets that make it an escalation ([`Target`]):
//!
//! - rewriting the actor's *own* permissions: itself (`AttachUserPolicy` on its own
//!   user), its groups, the roles it is or can assume, the customer-managed policies
//!   attached to it — so a grant on `user/${aws:username}` or on its own policy's
//!   ARN counts, and one on somebody else's policy does not;
//! - becoming another principal (`CreateAccessKey`, `UpdateAssumeRolePolicy`,
//!   `PassRole`): any user or role of the account but itself — a representative
//!   one first, then each one the account has, so a grant naming one user counts
//!   and permission over one's own access keys alone does not;
//! - a service's resources: `*`, or any resource pattern the actor's policies
//!   grant the action on (which existing resources match is decided by the
//!   reach model, from the inventory).
//!
//! Requests carry what the technique itself sets: `iam:PassedToService` for
//! `iam:PassRole`, `iam:PolicyARN` (AdministratorAccess) for the attach
//! techniques. Keys the caller chooses (request tags, region) never constrain
//! ([`Context::caller_chooses`]).

use crate::eval::{evaluate, Context, Decision, Outcome, PolicySet, Request};
use crate::policy::{Effect, Match};

/// What an action is tried against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Any group of the account: a representative one, then each known group
    /// the actor is not in.
    OtherGroup,
    /// A representative customer-managed policy of the account.
    CustomerPolicy,
    /// The action's own service resources: `*`, or any resource pattern the
    /// actor's policies grant it on.
    Any,
    /// The actor itself, when it is a user.
    SelfUser,
    /// The groups the actor is a member of.
    SelfGroup,
    /// The actor itself when it is a role, and every role it can assume.
    SelfRole,
    /// The customer-managed policies attached to the actor (or its groups).
    SelfPolicy,
    /// Any other user of the account: a representative one, then each known user.
    AnyUser,
    /// Any other role of the account: a representative one, then each known role.
    AnyRole,
}

/// Who is acting, and what its account holds: the targets [`Target`]s resolve to.
#[derive(Debug, Clone, Default)]
pub struct Actor<'a> {
    pub arn: &'a str,
    /// Group ARNs it is a member of.
    pub groups: Vec<&'a str>,
    /// Customer-managed policy ARNs attached to it or its groups.
    pub policies: Vec<&'a str>,
    /// Roles it can assume (trust policies that let it).
    pub assumable: Vec<&'a str>,
    /// The account's users, roles and groups (known from the exports),
    /// borrowed: an account may hold thousands, and only a technique that
    /// aims at any of them walks the list.
    pub users: &'a [String],
    pub roles: &'a [String],
    pub all_groups: &'a [String],
}

impl<'a> Actor<'a> {
    /// An actor known only by its ARN (no groups, policies or neighbours).
    pub fn new(arn: &'a str) -> Actor<'a> {
        Actor {
            arn,
            ..Default::default()
        }
    }

    fn is_user(&self) -> bool {
        self.arn.contains(":user/")
    }

    fn is_role(&self) -> bool {
        self.arn.contains(":role/") || self.arn.contains(":assumed-role/")
    }
}

#[derive(Debug, Clone)]
pub struct Technique {
    /// Stable identifier, e.g. `create-access-key`.
    pub id: &'static str,
    // The first action is the one done to the target the technique reaches.
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
    /// The users the first action is allowed on: acting as each of them.
    Users,
    /// The roles the first action is allowed on (their trust rewritten).
    Roles,
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
        actions: &[("iam:CreatePolicyVersion", SelfPolicy)],
        reaches: Account,
    },
    Technique {
        id: "set-default-policy-version",
        summary: "make an older, broader version of a policy attached to itself the default",
        actions: &[("iam:SetDefaultPolicyVersion", SelfPolicy)],
        reaches: Account,
    },
    Technique {
        id: "create-access-key",
        summary: "create an access key for another user and act as them",
        actions: &[("iam:CreateAccessKey", AnyUser)],
        reaches: Users,
    },
    Technique {
        id: "create-login-profile",
        summary: "give another user a console password and sign in as them",
        actions: &[("iam:CreateLoginProfile", AnyUser)],
        reaches: Users,
    },
    Technique {
        id: "update-login-profile",
        summary: "change another user's console password",
        actions: &[("iam:UpdateLoginProfile", AnyUser)],
        reaches: Users,
    },
    Technique {
        id: "attach-user-policy",
        summary: "attach any managed policy (e.g. AdministratorAccess) to itself",
        actions: &[("iam:AttachUserPolicy", SelfUser)],
        reaches: Account,
    },
    Technique {
        id: "attach-group-policy",
        summary: "attach any managed policy to a group it is in",
        actions: &[("iam:AttachGroupPolicy", SelfGroup)],
        reaches: Account,
    },
    Technique {
        id: "attach-role-policy",
        summary: "attach any managed policy to itself (a role) or a role it can assume",
        actions: &[("iam:AttachRolePolicy", SelfRole)],
        reaches: Account,
    },
    Technique {
        id: "put-user-policy",
        summary: "write an inline policy on itself",
        actions: &[("iam:PutUserPolicy", SelfUser)],
        reaches: Account,
    },
    Technique {
        id: "put-group-policy",
        summary: "write an inline policy on a group it is in",
        actions: &[("iam:PutGroupPolicy", SelfGroup)],
        reaches: Account,
    },
    Technique {
        id: "put-role-policy",
        summary: "write an inline policy on itself (a role) or a role it can assume",
        actions: &[("iam:PutRolePolicy", SelfRole)],
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
        summary: "rewrite another role's trust policy to name itself, then assume it (same account: the trust alone allows it)",
        actions: &[("iam:UpdateAssumeRolePolicy", AnyRole)],
        reaches: Roles,
    },
    Technique {
        id: "create-and-rotate-access-key",
        summary: "delete one of another user's two keys and create a new one",
        actions: &[
            ("iam:CreateAccessKey", AnyUser),
            ("iam:DeleteAccessKey", AnyUser),
        ],
        reaches: Users,
    },
    Technique {
        id: "attach-user-policy-then-create-access-key",
        summary: "grant another user more, then act as them",
        actions: &[
            ("iam:AttachUserPolicy", AnyUser),
            ("iam:CreateAccessKey", AnyUser),
        ],
        reaches: Account,
    },
    Technique {
        id: "put-user-policy-then-create-access-key",
        summary: "write another user's inline policy, then act as them",
        actions: &[
            ("iam:PutUserPolicy", AnyUser),
            ("iam:CreateAccessKey", AnyUser),
        ],
        reaches: Account,
    },
    Technique {
        id: "create-policy-version-then-assume-role",
        summary: "widen a role's customer-managed policy, then assume it",
        actions: &[
            ("iam:CreatePolicyVersion", CustomerPolicy),
            ("sts:AssumeRole", AnyRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "attach-role-policy-then-update-trust",
        summary: "grant a role more and make it trust the caller",
        actions: &[
            ("iam:AttachRolePolicy", AnyRole),
            ("iam:UpdateAssumeRolePolicy", AnyRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "create-policy-version-then-update-trust",
        summary: "widen a role's policy and make it trust the caller",
        actions: &[
            ("iam:CreatePolicyVersion", CustomerPolicy),
            ("iam:UpdateAssumeRolePolicy", AnyRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "put-role-policy-then-update-trust",
        summary: "write a role's inline policy and make it trust the caller",
        actions: &[
            ("iam:PutRolePolicy", AnyRole),
            ("iam:UpdateAssumeRolePolicy", AnyRole),
        ],
        reaches: Account,
    },
    Technique {
        id: "passrole-ec2",
        summary: "launch an instance with a more privileged role",
        actions: &[("iam:PassRole", AnyRole), ("ec2:RunInstances", Any)],
        reaches: PassRole("ec2.amazonaws.com"),
    },
    Technique {
        id: "passrole-ec2-spot",
        summary: "request a spot instance with a more privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("ec2:RequestSpotInstances", Any),
        ],
        reaches: PassRole("ec2.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-invoke",
        summary: "create and invoke a function running as a more privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("lambda:CreateFunction", Any),
            ("lambda:InvokeFunction", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-event-source",
        summary: "create a function with a privileged role, triggered by an event source",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("lambda:CreateFunction", Any),
            ("lambda:CreateEventSourceMapping", Any),
        ],
        reaches: PassRole("lambda.amazonaws.com"),
    },
    Technique {
        id: "passrole-lambda-new-dynamodb-trigger",
        summary: "create a function with a privileged role and a new DynamoDB table to trigger it",
        actions: &[
            ("iam:PassRole", AnyRole),
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
            ("iam:PassRole", AnyRole),
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
        actions: &[("iam:PassRole", AnyRole), ("glue:CreateDevEndpoint", Any)],
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
            ("iam:PassRole", AnyRole),
            ("glue:CreateJob", Any),
            ("glue:StartJobRun", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-trigger",
        summary: "create a Glue job with a privileged role and a trigger for it",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("glue:CreateJob", Any),
            ("glue:CreateTrigger", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-update-run",
        summary: "give an existing Glue job a privileged role and run it",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("glue:UpdateJob", Any),
            ("glue:StartJobRun", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-glue-job-update-trigger",
        summary: "give an existing Glue job a privileged role and a trigger",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("glue:UpdateJob", Any),
            ("glue:CreateTrigger", Any),
        ],
        reaches: PassRole("glue.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation",
        summary: "create a stack whose resources are made by a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("cloudformation:CreateStack", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation-stackset",
        summary: "create a stack set and instances run by a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("cloudformation:CreateStackSet", Any),
            ("cloudformation:CreateStackInstances", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation-stackset-update",
        summary: "give an existing stack set a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
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
            ("iam:PassRole", AnyRole),
            ("datapipeline:CreatePipeline", Any),
            ("datapipeline:PutPipelineDefinition", Any),
        ],
        reaches: PassRole("datapipeline.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-notebook",
        summary: "create a SageMaker notebook with a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("sagemaker:CreateNotebookInstance", Any),
        ],
        reaches: PassRole("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-training",
        summary: "run a SageMaker training job as a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("sagemaker:CreateTrainingJob", Any),
        ],
        reaches: PassRole("sagemaker.amazonaws.com"),
    },
    Technique {
        id: "passrole-sagemaker-processing",
        summary: "run a SageMaker processing job as a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
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
            ("iam:PassRole", AnyRole),
            ("codebuild:CreateProject", Any),
            ("codebuild:StartBuild", Any),
        ],
        reaches: PassRole("codebuild.amazonaws.com"),
    },
    Technique {
        id: "passrole-codebuild-batch",
        summary: "run a batch build as a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("codebuild:CreateProject", Any),
            ("codebuild:StartBuildBatch", Any),
        ],
        reaches: PassRole("codebuild.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-task",
        summary: "run an ECS task with a privileged task role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:RunTask", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-start-task",
        summary: "start an ECS task with a privileged task role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:StartTask", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-service",
        summary: "create an ECS service whose tasks have a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("ecs:RegisterTaskDefinition", Any),
            ("ecs:CreateService", Any),
        ],
        reaches: PassRole("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "passrole-ecs-cluster-service",
        summary: "create a cluster and a service with a privileged task role",
        actions: &[
            ("iam:PassRole", AnyRole),
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
            ("iam:PassRole", AnyRole),
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
            ("iam:PassRole", AnyRole),
            ("apprunner:CreateService", Any),
        ],
        reaches: PassRole("tasks.apprunner.amazonaws.com"),
    },
    Technique {
        id: "passrole-bedrock-code-interpreter",
        summary: "create a Bedrock code interpreter with a privileged role and run code in it",
        actions: &[
            ("iam:PassRole", AnyRole),
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
        actions: &[("ec2-instance-connect:SendSSHPublicKey", Any)],
        reaches: InstanceRoles,
    },
    Technique {
        id: "ssm-send-command",
        summary: "run commands on instances whose profiles hold other roles",
        actions: &[("ssm:SendCommand", Any)],
        reaches: InstanceRoles,
    },
    Technique {
        id: "ssm-start-session",
        summary: "open a shell on instances whose profiles hold other roles",
        actions: &[("ssm:StartSession", Any)],
        reaches: InstanceRoles,
    },
    Technique {
        id: "update-function-configuration",
        summary: "add a layer or change the handler of a function that runs as a privileged role",
        actions: &[("lambda:UpdateFunctionConfiguration", Any)],
        reaches: FunctionRoles,
    },
    Technique {
        id: "cloudformation-update-stack",
        summary: "update an existing stack whose service role makes its resources",
        actions: &[("cloudformation:UpdateStack", Any)],
        reaches: ServiceRoles("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "passrole-cloudformation-update-stack",
        summary: "update an existing stack to run as a privileged role",
        actions: &[
            ("iam:PassRole", AnyRole),
            ("cloudformation:UpdateStack", Any),
        ],
        reaches: PassRole("cloudformation.amazonaws.com"),
    },
    Technique {
        id: "codebuild-start-build-override",
        summary: "start an existing build project with an overridden buildspec",
        actions: &[("codebuild:StartBuild", Any)],
        reaches: ServiceRoles("codebuild.amazonaws.com"),
    },
    Technique {
        id: "codebuild-start-build-batch-override",
        summary: "start a batch build of an existing project with an overridden buildspec",
        actions: &[("codebuild:StartBuildBatch", Any)],
        reaches: ServiceRoles("codebuild.amazonaws.com"),
    },
    Technique {
        id: "ecs-run-task-override",
        summary: "run an existing task definition that has a task role, with an overridden command",
        actions: &[("ecs:RunTask", Any)],
        reaches: ServiceRoles("ecs-tasks.amazonaws.com"),
    },
    Technique {
        id: "glue-update-job",
        summary: "change the script of an existing Glue job and run it",
        actions: &[("glue:UpdateJob", Any), ("glue:StartJobRun", Any)],
        reaches: ServiceRoles("glue.amazonaws.com"),
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
    /// What the first action was allowed on, when the technique names its
    /// targets: `None` for any (the representative target was allowed), else
    /// the users, roles, groups or policies it was allowed on.
    pub on: Option<Vec<String>>,
}

/// The exports that settle a potential step, numbered so that a hop
/// carries one in a byte ([`Inventory`]).
const INVENTORIES: &[&str] = &[
    "aws lambda list-functions",
    "aws ec2 describe-instances",
    "aws glue get-dev-endpoints / get-jobs",
    "aws sagemaker list-notebook-instances",
    "aws cloudformation describe-stacks",
    "aws ecs describe-task-definition",
    "aws codebuild batch-get-projects",
    "aws bedrock-agentcore-control list-code-interpreters",
    "the service's resource inventory",
];

/// The export that would settle a potential step (`aws lambda
/// list-functions`): one of a fixed few, kept in a byte because millions of
/// hops carry the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inventory(u8);

impl Inventory {
    pub fn as_str(self) -> &'static str {
        INVENTORIES[self.0 as usize]
    }
}

impl std::fmt::Display for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The export that says which existing resources a technique acts through, when
/// it goes through existing resources; without it, the reach is *potential*.
pub fn inventory(reaches: Reaches) -> Option<Inventory> {
    Some(Inventory(match reaches {
        FunctionRoles => 0,
        InstanceRoles => 1,
        ServiceRoles(s) => match s {
            "glue.amazonaws.com" => 2,
            "sagemaker.amazonaws.com" => 3,
            "cloudformation.amazonaws.com" => 4,
            "ecs-tasks.amazonaws.com" => 5,
            "codebuild.amazonaws.com" => 6,
            "bedrock-agentcore.amazonaws.com" => 7,
            _ => 8,
        },
        _ => return None,
    }))
}

/// The IAM actions of the techniques (what a principal may do to IAM
/// principals and policies).
pub fn iam_actions() -> impl Iterator<Item = &'static str> {
    TECHNIQUES
        .iter()
        .flat_map(|t| t.actions.iter())
        .map(|(a, _)| *a)
        .filter(|a| a.starts_with("iam:"))
}

/// The AdministratorAccess ARN: what the attach techniques would attach.
const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The request context a technique's action carries: the service a role is
/// passed to, the policy attached, and the caller's free choice of its own
/// request parameters.
pub fn technique_context(action: &str, reaches: Reaches, ctx: &Context) -> Context {
    let mut c = ctx.clone().caller_chooses();
    if action.eq_ignore_ascii_case("iam:PassRole") {
        if let PassRole(service) = reaches {
            c = c.with("iam:PassedToService", service);
        }
    } else if action.starts_with("iam:Attach") {
        c = c.with("iam:PolicyARN", ADMINISTRATOR_ACCESS);
    }
    c
}

/// The representative ARN of a target, in the principal's account, never the principal.
fn probe(t: Target, account: &str) -> Option<String> {
    Some(match t {
        AnyUser => format!("arn:aws:iam::{account}:user/custody-probe-other-user"),
        AnyRole => format!("arn:aws:iam::{account}:role/custody-probe-other-role"),
        OtherGroup => format!("arn:aws:iam::{account}:group/custody-probe-other-group"),
        CustomerPolicy => format!("arn:aws:iam::{account}:policy/custody-probe-policy"),
        Any => "*".to_string(),
        SelfUser | SelfGroup | SelfRole | SelfPolicy => return None,
    })
}

/// The concrete targets tried after the probe (or instead of it).
fn concrete<'s>(t: Target, actor: &Actor<'s>, set: &PolicySet<'s>, action: &str) -> Vec<&'s str> {
    match t {
        SelfUser => {
            if actor.is_user() {
                vec![actor.arn]
            } else {
                Vec::new()
            }
        }
        SelfGroup => actor.groups.clone(),
        SelfRole => {
            let mut v = actor.assumable.clone();
            if actor.is_role() {
                v.insert(0, actor.arn);
            }
            v
        }
        SelfPolicy => actor.policies.clone(),
        AnyUser => others(actor.users, actor.arn),
        AnyRole => others(actor.roles, actor.arn),
        OtherGroup => actor
            .all_groups
            .iter()
            .map(String::as_str)
            .filter(|g| !actor.groups.contains(g))
            .collect(),
        CustomerPolicy => Vec::new(),
        // The resource patterns the actor's policies grant the action on.
        Any => granted_patterns(set, action),
    }
}

fn others<'s>(list: &'s [String], me: &str) -> Vec<&'s str> {
    list.iter()
        .map(String::as_str)
        .filter(|a| *a != me)
        .collect()
}

/// Resource patterns of the identity statements that allow `action`.
fn granted_patterns<'s>(set: &PolicySet<'s>, action: &str) -> Vec<&'s str> {
    let mut out: Vec<&'s str> = Vec::new();
    for p in set.identity.iter().copied() {
        for s in &p.statements {
            let hit = s.effect == Effect::Allow && s.names_action(action);
            if let (true, Some(Match::Only(list))) = (hit, &s.resources) {
                for r in list {
                    if r != "*" && !out.contains(&r.as_str()) {
                        out.push(r);
                    }
                }
            }
        }
    }
    out
}

/// Does any identity statement allow `action` at all? (Cheap guard before
/// trying every user or role of an account.)
fn mentioned(set: &PolicySet<'_>, action: &str) -> bool {
    crate::eval::identity_names(set, action)
}

/// Where an action is allowed: on any target (`None` inside), on these, or nowhere.
type Allowed = Option<(Option<Vec<String>>, Decision)>;

fn allowed_on<'s>(
    set: &PolicySet<'s>,
    actor: &Actor<'s>,
    action: &str,
    target: Target,
    ctx: &Context,
) -> Allowed {
    let account = actor.arn.split(':').nth(4).unwrap_or("");
    let ask = |resource: &str| {
        evaluate(
            set,
            &Request {
                principal: actor.arn,
                action,
                resource,
                context: ctx,
            },
        )
    };
    let mut best: Option<Decision> = None;
    if let Some(p) = probe(target, account) {
        let d = ask(&p);
        if d.outcome == Outcome::Allow {
            if !d.conditional || target == Any {
                return Some((None, d));
            }
            best = Some(d);
        }
    }
    // Trying each user or role of the account only pays when a statement could allow it.
    if best.is_none() && target != Any && !self_target(target) && !mentioned(set, action) {
        return None;
    }
    let candidates = concrete(target, actor, set, action);
    if candidates.is_empty() {
        return best.map(|d| (None, d));
    }
    let mut on = Vec::new();
    let mut certain: Option<Decision> = None;
    for c in candidates {
        let d = ask(c);
        if d.outcome == Outcome::Allow {
            if target == Any {
                // A resource pattern: some resource is allowed; the reach model
                // decides which existing ones.
                return Some((None, d));
            }
            if !d.conditional && certain.is_none() {
                certain = Some(d.clone());
            }
            best.get_or_insert(d);
            on.push(c.to_string());
        }
    }
    if on.is_empty() {
        return best.map(|d| (None, d));
    }
    let d = certain.or(best)?;
    Some((Some(on), d))
}

fn self_target(t: Target) -> bool {
    matches!(t, SelfUser | SelfGroup | SelfRole | SelfPolicy)
}

/// Every technique whose actions `actor` is allowed under `set`.
pub fn escalations(set: &PolicySet<'_>, actor: &Actor<'_>, context: &Context) -> Vec<Escalation> {
    let mut out = Vec::new();
    'technique: for t in TECHNIQUES {
        let mut granted = Vec::new();
        let mut conditional = false;
        let mut on: Option<Vec<String>> = None;
        for (i, (action, target)) in t.actions.iter().enumerate() {
            // Without a resource policy only an identity statement can
            // allow: an action none of them names is allowed on no target
            // (every branch of `allowed_on` would find nothing), so neither
            // a context nor a request is made for it.
            if set.resource.is_none() && !mentioned(set, action) {
                continue 'technique;
            }
            let ctx = technique_context(action, t.reaches, context);
            let Some((where_, d)) = allowed_on(set, actor, action, *target, &ctx) else {
                continue 'technique;
            };
            if i == 0 {
                on = where_;
            } else if let (Some(first), Some(this)) = (&mut on, &where_) {
                // Same kind of target: both actions must be allowed on the same one.
                if t.actions[0].1 == *target {
                    first.retain(|x| this.contains(x));
                    if first.is_empty() {
                        continue 'technique;
                    }
                }
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
            on,
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

    fn me() -> Actor<'static> {
        Actor::new(ME)
    }

    fn ids(set: &PolicySet<'_>, ctx: &Context) -> Vec<&'static str> {
        ids_as(set, &me(), ctx)
    }

    fn ids_as(set: &PolicySet<'_>, actor: &Actor<'_>, ctx: &Context) -> Vec<&'static str> {
        escalations(set, actor, ctx)
            .into_iter()
            .map(|e| e.technique)
            .collect()
    }

    fn policy(v: serde_json::Value) -> Policy {
        Policy::from_value(&v).unwrap()
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
    fn administrators_can_use_every_technique_they_have_a_target_for() {
        let admin =
            policy(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
        let set = PolicySet {
            identity: vec![&admin],
            ..Default::default()
        };
        let actor = Actor {
            groups: vec!["arn:aws:iam::111122223333:group/devs"],
            policies: vec!["arn:aws:iam::111122223333:policy/mine"],
            assumable: vec!["arn:aws:iam::111122223333:role/deploy"],
            ..me()
        };
        assert_eq!(
            ids_as(&set, &actor, &Context::new()).len(),
            TECHNIQUES.len()
        );
        // A user in no group with no policy of its own cannot rewrite them.
        let found = ids(&set, &Context::new());
        assert!(!found.contains(&"attach-group-policy"));
        assert!(!found.contains(&"create-policy-version"));
        assert!(found.contains(&"attach-user-policy"));
    }

    #[test]
    fn managing_only_ones_own_keys_is_not_escalation() {
        let own = policy(json!({"Statement": [{"Effect": "Allow",
            "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile"], "Resource": "arn:aws:iam::*:user/${aws:username}"}]}));
        let set = PolicySet {
            identity: vec![&own],
            ..Default::default()
        };
        assert!(ids(&set, &Context::new().with("aws:username", "alice")).is_empty());
        // Unknown user name: it might match another user, so only conditionally.
        let e = escalations(&set, &me(), &Context::new());
        assert!(e.iter().all(|e| e.conditional) && !e.is_empty());
    }

    #[test]
    fn rewriting_ones_own_permissions_is_escalation_whatever_the_resource_says() {
        let own = policy(json!({"Statement": [
            {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "arn:aws:iam::*:user/${aws:username}"},
            {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "arn:aws:iam::111122223333:policy/alice-tools"},
            {"Effect": "Allow", "Action": "iam:PutGroupPolicy", "Resource": "arn:aws:iam::111122223333:group/devs"}]}));
        let set = PolicySet {
            identity: vec![&own],
            ..Default::default()
        };
        let actor = Actor {
            groups: vec!["arn:aws:iam::111122223333:group/devs"],
            policies: vec!["arn:aws:iam::111122223333:policy/alice-tools"],
            ..me()
        };
        let ctx = Context::new().with("aws:username", "alice");
        let found = ids_as(&set, &actor, &ctx);
        for t in [
            "attach-user-policy",
            "create-policy-version",
            "put-group-policy",
        ] {
            assert!(found.contains(&t), "{t}: {found:?}");
        }
        // For bob, the policy and group are somebody else's: only his own user is his.
        let other = Actor {
            groups: vec!["arn:aws:iam::111122223333:group/ops"],
            policies: vec!["arn:aws:iam::111122223333:policy/ops-tools"],
            arn: "arn:aws:iam::111122223333:user/bob",
            ..Default::default()
        };
        let ctx = Context::new().with("aws:username", "bob");
        assert_eq!(ids_as(&set, &other, &ctx), vec!["attach-user-policy"]);
    }

    #[test]
    fn a_grant_naming_another_user_reaches_that_user() {
        let p = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": "iam:CreateAccessKey",
            "Resource": "arn:aws:iam::111122223333:user/admin-ana"}]}),
        );
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        let users = [
            ME,
            "arn:aws:iam::111122223333:user/admin-ana",
            "arn:aws:iam::111122223333:user/carl",
        ]
        .map(String::from);
        let actor = Actor {
            users: &users,
            ..me()
        };
        let e = escalations(&set, &actor, &Context::new());
        let key = e
            .iter()
            .find(|e| e.technique == "create-access-key")
            .unwrap();
        assert_eq!(
            key.on,
            Some(vec!["arn:aws:iam::111122223333:user/admin-ana".to_string()])
        );
        assert!(!key.conditional);
    }

    #[test]
    fn conditions_the_request_sets_do_not_constrain_and_those_the_technique_sets_do() {
        // A region or request-tag condition: the caller picks the value.
        let p = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1", "aws:RequestTag/team": "data"}}}]}),
        );
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        let e = escalations(&set, &me(), &Context::new());
        let ec2 = e.iter().find(|e| e.technique == "passrole-ec2").unwrap();
        assert!(!ec2.conditional);
        // PassRole only to EC2: no Lambda escalation.
        let p = policy(json!({"Statement": [
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction", "ec2:RunInstances"], "Resource": "*"}]}));
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        assert_eq!(ids(&set, &Context::new()), vec!["passrole-ec2"]);
        // Attaching only ReadOnlyAccess to oneself: not escalation.
        let p = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}}]}),
        );
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        assert!(ids(&set, &Context::new()).is_empty());
    }

    #[test]
    fn passrole_needs_its_service_partner_and_a_deny_blocks_it() {
        let pass = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]}),
        );
        let set = PolicySet {
            identity: vec![&pass],
            ..Default::default()
        };
        assert_eq!(ids(&set, &Context::new()), vec!["passrole-ec2"]);
        let no_pass = policy(
            json!({"Statement": [{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]}),
        );
        let set = PolicySet {
            identity: vec![&pass, &no_pass],
            ..Default::default()
        };
        assert!(ids(&set, &Context::new()).is_empty());
    }

    #[test]
    fn resource_constrained_grants_on_existing_resources_count() {
        let p = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode",
            "Resource": "arn:aws:lambda:us-east-1:111122223333:function:billing-*"}]}),
        );
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        assert_eq!(ids(&set, &Context::new()), vec!["update-function-code"]);
    }

    #[test]
    fn power_users_escalate_through_services_but_not_iam() {
        let power = policy(
            json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}]}),
        );
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
