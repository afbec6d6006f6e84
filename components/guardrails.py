"""Who may act on the platform, and what it may cost: persona roles, GitHub Actions CI roles, the monthly budget
and the opt-in account baselines.

Creates: one `WorkloadRole` per persona with principals (MFA required; ViewOnlyAccess or, for the auditor,
SecurityAudit too, plus a project-scoped inline policy); with GitHub configured, the GitHub Actions OIDC provider
(or a given one is trusted) and two CI roles, `ci-preview` (read-only, pull requests) and `ci-deploy` (one GitHub
environment); always an AWS Budget filtered to the stack's `Project` and `Environment` tags with forecast and
actual alerts to a KMS-encrypted SNS topic (and emails); opt-in, EBS encryption by default with the platform key,
the S3 account public access block and the cost allocation tags. Every role carries the stack's boundary.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from components._iam_documents import (
    CI_PREVIEW_MANAGED_POLICIES,
    GITHUB_OIDC_URL,
    KEY_ADMINISTRATORS,
    PERSONA_DATA_ACCESS,
    PERSONA_MANAGED_POLICIES,
    PERSONA_MLFLOW_DATA_ACCESS,
    PERSONAS,
    STS_AUDIENCE,
    ProjectScope,
    budget_topic_policy,
    ci_deploy_policy,
    ci_deploy_role_name,
    ci_preview_policy,
    deploy_subject,
    github_oidc_trust,
    persona_policy,
    persona_trust,
    platform_role_name,
    preview_subjects,
)
from components.permission_boundary import PermissionBoundarySettings
from components.settings import FieldError, Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, stack_iam_path

MAX_BUDGET_EMAILS = 10
"""AWS Budgets accepts at most 10 email subscribers per notification."""

# Who may assume a persona: an account root (delegating to that account's IAM), a role (an SSO permission set's
# role, say) or a user. Partition-aware; wildcards are not allowed in a trust policy's Principal.
_PRINCIPAL_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")
# GitHub's rules: owner 1-39 letters, digits or single hyphens (no leading/trailing hyphen); repository name
# 1-100 letters, digits, '.', '_' or '-', and not '.' or '..'.
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_GITHUB_ENVIRONMENT = re.compile(r"^[^\s/:*?][^:*?]{0,254}$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/*-]+$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _persona_document(persona: str, v: list[Any]) -> dict[str, Any] | None:
    """The persona's policy from the project scope (v[0]) and its data grants' statements (v[1:])."""
    return persona_policy(persona, v[0], [s for grant in v[1:] for s in grant])


class GrantSource(Protocol):
    """The artifact store's least-privilege grants (`ArtifactStore.grant_statements`)."""

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


class PersonaSettings(Section):
    """One persona role. Without principals the persona's role is not created."""

    principals: list[str] = Field(default_factory=list)
    """ARNs allowed to assume the role (MFA required): `arn:aws:iam::<account>:root`, `...:role/<name>` or
    `...:user/<name>`. Default: none, so no role."""
    max_session_hours: int = 1
    """Session length for the persona, 1-12 hours. Default 1: short sessions, re-assumed with MFA."""

    @field_validator("principals")
    @classmethod
    def _principal_arns(cls, value: list[str]) -> list[str]:
        for i, arn in enumerate(value):
            if not _PRINCIPAL_ARN.match(arn):
                raise FieldError(
                    str(i),
                    arn,
                    "not an IAM principal ARN; expected arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>",
                )
            if arn in value[:i]:
                raise FieldError(str(i), arn, "listed twice; each principal may be listed once")
        return value

    @field_validator("max_session_hours")
    @classmethod
    def _session(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError("must be between 1 and 12 hours (IAM's limits for a role session)")
        return value


class GithubSettings(Section):
    """GitHub Actions deploys through OIDC: short-lived credentials, no access keys stored in GitHub."""

    repository: str
    """The repository as `owner/name`, e.g. `example-org/ml-platform`. Required."""
    preview_pull_requests: bool = True
    """Default on: workflows run for pull requests may assume the read-only preview role."""
    preview_branches: list[str] = Field(default_factory=list)
    """Branches (wildcards allowed, e.g. `feature/*`) whose pushes may also assume the preview role. Default none."""
    deploy_environment: str | None = None
    """GitHub environment whose jobs may assume the deploy role (protect it with required reviewers in GitHub).
    Default: the stack's environment name (`dev`, `staging`, `prod`)."""
    oidc_provider_arn: str | None = None
    """An existing GitHub OIDC provider to trust. IAM allows one provider per URL per account, so a second stack
    in the same account must name the first one's. Default: the stack creates the provider."""

    @model_validator(mode="after")
    def _someone_may_preview(self) -> GithubSettings:
        if not self.preview_pull_requests and not self.preview_branches:
            raise FieldError(
                "previewPullRequests",
                False,
                "the preview role needs pull requests or at least one branch to trust; set previewBranches or "
                "previewPullRequests: true",
            )
        return self

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        owner, slash, name = value.partition("/")
        if not slash or not _GITHUB_OWNER.match(owner) or not _GITHUB_REPO.match(name) or name in (".", ".."):
            raise ValueError("must be a GitHub repository as 'owner/name', e.g. 'example-org/ml-platform'")
        return value

    @field_validator("preview_branches")
    @classmethod
    def _branches(cls, value: list[str]) -> list[str]:
        for i, branch in enumerate(value):
            if not _BRANCH.match(branch) or branch.startswith(("/", "refs/")) or ".." in branch:
                raise FieldError(
                    str(i), branch, "not a branch name; give names like 'main' or 'release/*' (without refs/heads/)"
                )
        return value

    @field_validator("deploy_environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and not _GITHUB_ENVIRONMENT.match(value):
            raise ValueError(
                "not a GitHub environment name: 1-255 characters, none of ':', '*', '?', no leading '/' or space"
            )
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError(
                "not the GitHub OIDC provider's ARN; expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com"
            )
        return value


class BudgetSettings(Section):
    """The stack's monthly AWS Budget, filtered to its `Project` and `Environment` cost tags. Always created."""

    monthly_usd: float = 1000
    """Monthly limit in US dollars, > 0. Environment defaults in `infra/config/profiles.py`."""
    emails: list[str] = Field(default_factory=list)
    """Addresses AWS Budgets emails directly (at most 10), besides the encrypted SNS alert topic. Default none."""
    forecast_threshold_percent: float = 80
    """Alert when the month's forecast reaches this share of the limit. Default 80."""
    actual_threshold_percent: float = 100
    """Alert when actual spend reaches this share of the limit. Default 100."""

    @field_validator("monthly_usd")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be greater than 0 (US dollars per month)")
        return value

    @field_validator("forecast_threshold_percent", "actual_threshold_percent")
    @classmethod
    def _percent(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("must be a percentage of the monthly limit, above 0 and at most 1000")
        return value

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for i, email in enumerate(value):
            if not _EMAIL.match(email):
                raise FieldError(str(i), email, "not an email address")
        if len(value) > MAX_BUDGET_EMAILS:
            raise ValueError(
                f"{len(value)} addresses; AWS Budgets notifies at most {MAX_BUDGET_EMAILS} per alert (use the SNS topic for more)"
            )
        return value


class AccountBaselinesSettings(Section):
    """Account-wide settings, so opt-in: only one stack per account and region should own them."""

    ebs_encryption_by_default: bool = False
    """Turn on EBS encryption by default for the account and region, with the platform's cluster key."""
    s3_public_access_block: bool = False
    """Block public ACLs and policies on every bucket of the account (account-level S3 public access block)."""
    cost_allocation_tags: bool = False
    """Activate the cost tags (`CostCenter`, `Owner`, `Project`, `Environment`) as cost allocation tags. AWS only
    accepts keys already seen in billing data, so turn this on a day after the first deployment."""


class GuardrailsSettings(PermissionBoundarySettings):
    """`ml-platform:guardrails`: the boundary's caps (regions, instance types; `PermissionBoundarySettings`), and
    who may act on the platform and what it may cost. Declared once: the stack file is validated against it and
    `Guardrails` (with `PermissionBoundary`) takes it."""

    personas: dict[str, PersonaSettings] = Field(default_factory=dict)
    """Persona name (platform-admin, ml-engineer, data-scientist, auditor, model-approver) -> who may assume it. A persona left
    out, or without principals, gets no role."""
    github: GithubSettings | None = None
    """GitHub Actions OIDC trust for the CI roles. Default: none, so no CI roles (and no OIDC provider)."""
    budget: BudgetSettings = BudgetSettings()
    """The monthly budget and its alerts. Limits per environment in `infra/config/profiles.py`."""
    account_baselines: AccountBaselinesSettings = AccountBaselinesSettings()
    """Account-wide baselines, each off by default (see `AccountBaselinesSettings`)."""

    @field_validator("personas", mode="before")
    @classmethod
    def _known_personas(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in value:
                if name not in PERSONAS:
                    guess = difflib.get_close_matches(str(name), PERSONAS, n=1)
                    hint = f"did you mean '{guess[0]}'? " if guess else ""
                    raise FieldError(
                        str(name), value[name], f"unknown persona {name!r}; {hint}(allowed: {', '.join(PERSONAS)})"
                    )
        return value


@dataclass(frozen=True, kw_only=True)
class GuardrailsArgs:
    name_prefix: str
    """`<project>-<stack>`: the budget, SNS topic and the scoped statements' resource names start with it."""
    project: str
    """The `Project` cost tag's value."""
    environment: str
    """The `Environment` cost tag's value."""
    permissions_boundary: pulumi.Input[str]
    """The stack's boundary ARN: every persona and CI role carries it."""
    role_regions: Sequence[str]
    """Regions the deploy role may act in: the boundary's list, `settings.regions(...)` (the configured ones or the
    stack's region plus a replication region)."""
    cluster_name: str
    registry_prefix: str
    """ECR repositories are `<registry_prefix>/<name>`."""
    alert_kms_key_arn: pulumi.Input[str]
    """Key for the budget topic; its policy must let AWS Budgets use it (the platform's logs key does)."""
    bucket_name_prefix: str = "artifacts-"
    """Buckets the stack creates are named `<prefix>...` (the artifact store's `bucket_name_prefix`): the deploy
    role manages S3 only there."""
    bucket_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Artifact buckets by purpose: personas get grants on the purposes present, the preview role reads their settings."""
    key_arns: Sequence[pulumi.Input[str]] = ()
    """The platform's KMS keys, whose settings the preview role reads."""
    artifact_grants: GrantSource | None = None
    """Where persona data grants come from. Default: none, so personas get no bucket access."""
    settings: GuardrailsSettings = field(default_factory=GuardrailsSettings)
    """What the stack file sets (validated when built): personas, GitHub, the budget, the account baselines. A
    GitHub `deploy_environment` left unset is `environment`."""
    ebs_kms_key_arn: pulumi.Input[str] | None = None
    """Key for EBS encryption by default (the platform's cluster key). Required when that baseline is on."""
    cost_tag_keys: Sequence[str] = ("CostCenter", "Environment", "Owner", "Project")
    """Tag keys activated as cost allocation tags when that baseline is on."""
    partition: str = "aws"
    """The stack's AWS partition, for the AWS-managed policy ARNs (known from the region before anything runs)."""
    experiment_tracking: bool = False
    """The stack runs an MLflow tracking server: personas get their MLflow access (`PERSONA_MLFLOW`). Default: no."""


def validate_guardrails(args: GuardrailsArgs) -> None:
    """Raises ValueError naming the argument, the value and what is allowed. The settings validated themselves;
    this checks the arguments known only at deployment against them."""
    if args.settings.account_baselines.ebs_encryption_by_default and args.ebs_kms_key_arn is None:
        raise ValueError(
            "settings.account_baselines.ebs_encryption_by_default needs ebs_kms_key_arn: default encryption uses "
            "the platform key"
        )
    if not args.role_regions:
        raise ValueError("role_regions is empty")


def budget_notifications(
    budget: BudgetSettings, topic_arn: pulumi.Input[str]
) -> list[aws.budgets.BudgetNotificationArgs]:
    """Forecast and actual alerts, each to the topic and the configured addresses."""
    emails = sorted(set(budget.emails)) or None
    return [
        aws.budgets.BudgetNotificationArgs(
            notification_type=kind,
            comparison_operator="GREATER_THAN",
            threshold=threshold,
            threshold_type="PERCENTAGE",
            subscriber_sns_topic_arns=[topic_arn],
            subscriber_email_addresses=emails,
        )
        for kind, threshold in (
            ("FORECASTED", budget.forecast_threshold_percent),
            ("ACTUAL", budget.actual_threshold_percent),
        )
    ]


def budget_filter(project: str, environment: str) -> aws.budgets.BudgetFilterExpressionArgs:
    """Costs tagged with both this Project and this Environment.

    Not `cost_filters` on `TagKeyValue`: values inside one cost filter are ORed, so `user:Project$p` and
    `user:Environment$e` there would count every project's `e` spend. A filter expression ANDs them."""
    return aws.budgets.BudgetFilterExpressionArgs(
        ands=[
            aws.budgets.BudgetFilterExpressionAndArgs(
                tags=aws.budgets.BudgetFilterExpressionAndTagsArgs(key=key, values=[value], match_options=["EQUALS"])
            )
            for key, value in (("Project", project), ("Environment", environment))
        ]
    )


class Guardrails(pulumi.ComponentResource):
    """Persona and CI roles, the budget and its alerts, account baselines.

    Attributes: `persona_role_arns` (persona -> ARN), `ci_preview_role_arn`, `ci_deploy_role_arn` (None without
    GitHub), `oidc_provider_arn`, `budget_name`, `alert_topic_arn`."""

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:iam:Guardrails", name, None, opts)
        validate_guardrails(args)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        self.budget_name = f"{args.name_prefix}-monthly"
        scope = pulumi.Output.all(partition, account_id, region).apply(
            lambda v: ProjectScope(
                partition=v[0],
                account_id=v[1],
                region=v[2],
                project=args.project,
                name_prefix=args.name_prefix,
                registry_prefix=args.registry_prefix,
                cluster_name=args.cluster_name,
                budget_name=self.budget_name,
                iam_path=stack_iam_path(pulumi.get_project(), pulumi.get_stack()),
                environment=args.environment,
                bucket_prefix=args.bucket_name_prefix,
                mlflow=args.experiment_tracking,
            )
        )

        def managed(policy: str) -> str:
            return f"arn:{args.partition}:iam::aws:policy/{policy}"

        # -- personas --------------------------------------------------------------------------------------
        self.persona_roles: dict[str, WorkloadRole] = {}
        for persona in PERSONAS:  # fixed order, keyed by name: adding one never touches another
            spec = settings.personas.get(persona)
            if spec is None or not spec.principals:
                continue
            grants = [
                args.artifact_grants.grant_statements(purpose, access, prefix)
                for purpose, access, prefix in (
                    *PERSONA_DATA_ACCESS[persona],
                    *(PERSONA_MLFLOW_DATA_ACCESS.get(persona, ()) if args.experiment_tracking else ()),
                )
                if args.artifact_grants is not None and purpose in args.bucket_arns
            ]
            document = pulumi.Output.all(scope, *grants).apply(partial(_persona_document, persona))
            policies = {} if persona == "auditor" else {"access": document.apply(lambda d: json.dumps(d, indent=2))}
            self.persona_roles[persona] = WorkloadRole(
                f"{name}-{persona}",
                WorkloadRoleArgs(
                    assume_role_policy=json.dumps(persona_trust(spec.principals), indent=2),
                    permissions_boundary=args.permissions_boundary,
                    policies=policies,
                    managed_policy_arns=[managed(p) for p in PERSONA_MANAGED_POLICIES[persona]],
                    description=f"{args.name_prefix} {persona} persona (MFA required)",
                    role_name=platform_role_name(args.name_prefix, persona),
                    max_session_duration=spec.max_session_hours * 3600,
                ),
                opts=child,
            )
        self.persona_role_arns: dict[str, pulumi.Output[str]] = {p: r.arn for p, r in self.persona_roles.items()}

        # -- CI through GitHub Actions OIDC ------------------------------------------------------------------
        self.oidc_provider: aws.iam.OpenIdConnectProvider | None = None
        self.ci_preview_role: WorkloadRole | None = None
        self.ci_deploy_role: WorkloadRole | None = None
        self.oidc_provider_arn: pulumi.Input[str] | None = None
        if settings.github is not None:
            gh = settings.github
            if gh.oidc_provider_arn is None:
                # GitHub's certificate chains to a CA IAM already trusts, so no thumbprint is pinned.
                self.oidc_provider = aws.iam.OpenIdConnectProvider(
                    f"{name}-github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[STS_AUDIENCE], opts=child
                )
                self.oidc_provider_arn = self.oidc_provider.arn
            else:
                self.oidc_provider_arn = gh.oidc_provider_arn
            provider_arn = pulumi.Output.from_input(self.oidc_provider_arn)
            subjects = preview_subjects(
                gh.repository, pull_requests=gh.preview_pull_requests, branches=gh.preview_branches
            )
            self.ci_preview_role = WorkloadRole(
                f"{name}-ci-preview",
                WorkloadRoleArgs(
                    assume_role_policy=provider_arn.apply(
                        lambda arn: json.dumps(github_oidc_trust(arn, subjects), indent=2)
                    ),
                    permissions_boundary=args.permissions_boundary,
                    policies={
                        "read-platform": pulumi.Output.all(
                            scope, list(args.bucket_arns.values()), list(args.key_arns)
                        ).apply(
                            lambda v: json.dumps(ci_preview_policy(v[0], bucket_arns=v[1], key_arns=v[2]), indent=2)
                        )
                    },
                    managed_policy_arns=[managed(p) for p in CI_PREVIEW_MANAGED_POLICIES],
                    description=f"{args.name_prefix} CI preview (read-only) for {gh.repository} pull requests",
                    role_name=platform_role_name(args.name_prefix, "ci-preview"),
                ),
                opts=child,
            )
            deploy_environment = gh.deploy_environment or args.environment
            deploy = deploy_subject(gh.repository, deploy_environment)
            self.ci_deploy_role = WorkloadRole(
                f"{name}-ci-deploy",
                WorkloadRoleArgs(
                    assume_role_policy=provider_arn.apply(
                        lambda arn: json.dumps(github_oidc_trust(arn, [deploy]), indent=2)
                    ),
                    permissions_boundary=args.permissions_boundary,
                    policies={
                        "deploy-platform": pulumi.Output.all(scope, args.permissions_boundary).apply(
                            lambda v: json.dumps(
                                ci_deploy_policy(
                                    v[0],
                                    boundary_arn=v[1],
                                    allowed_regions=args.role_regions,
                                    cost_allocation_tags=settings.account_baselines.cost_allocation_tags,
                                ),
                                indent=2,
                            )
                        )
                    },
                    description=f"{args.name_prefix} CI deploy for {gh.repository} environment {deploy_environment}",
                    # Fixed: the boundary names it (the one role that may set object lock) before it exists.
                    role_name=ci_deploy_role_name(args.name_prefix),
                ),
                opts=child,
            )
        self.ci_preview_role_arn = self.ci_preview_role.arn if self.ci_preview_role else None
        self.ci_deploy_role_arn = self.ci_deploy_role.arn if self.ci_deploy_role else None

        # -- budget ------------------------------------------------------------------------------------------
        self.alert_topic = aws.sns.Topic(
            f"{name}-budget-alerts",
            name=f"{args.name_prefix}-budget-alerts",
            kms_master_key_id=args.alert_kms_key_arn,
            display_name=f"{args.name_prefix} budget alerts",
            opts=child,
        )
        self.alert_topic_policy = aws.sns.TopicPolicy(
            f"{name}-budget-alerts",
            arn=self.alert_topic.arn,
            policy=pulumi.Output.all(self.alert_topic.arn, account_id, partition).apply(
                lambda v: json.dumps(budget_topic_policy(v[0], account_id=v[1], partition=v[2]), indent=2)
            ),
            opts=child,
        )
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=self.budget_name,
            budget_type="COST",
            limit_amount=f"{settings.budget.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            metrics="UnblendedCost",
            filter_expression=budget_filter(args.project, args.environment),
            notifications=budget_notifications(settings.budget, self.alert_topic.arn),
            # Budgets checks it may publish when the budget is saved: the topic policy must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.alert_topic_policy]),
        )
        self.alert_topic_arn = self.alert_topic.arn

        # -- account baselines (opt-in) ------------------------------------------------------------------------
        baselines = settings.account_baselines
        self.ebs_encryption: aws.ebs.EncryptionByDefault | None = None
        self.ebs_default_key: aws.ebs.DefaultKmsKey | None = None
        if baselines.ebs_encryption_by_default:
            self.ebs_encryption = aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True, opts=child)
            self.ebs_default_key = aws.ebs.DefaultKmsKey(
                f"{name}-ebs-default-key", key_arn=args.ebs_kms_key_arn, opts=child
            )
        self.account_public_access_block: aws.s3.AccountPublicAccessBlock | None = None
        if baselines.s3_public_access_block:
            self.account_public_access_block = aws.s3.AccountPublicAccessBlock(
                f"{name}-s3-public-access-block",
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=child,
            )
        self.cost_allocation_tags: dict[str, aws.costexplorer.CostAllocationTag] = {}
        if baselines.cost_allocation_tags:
            for key in sorted(set(args.cost_tag_keys)):
                self.cost_allocation_tags[key] = aws.costexplorer.CostAllocationTag(
                    f"{name}-cost-tag-{key.lower()}", tag_key=key, status="Active", opts=child
                )

        self.register_outputs(
            {
                "persona_role_arns": self.persona_role_arns,
                "ci_preview_role_arn": self.ci_preview_role_arn,
                "ci_deploy_role_arn": self.ci_deploy_role_arn,
                "budget_name": self.budget_name,
                "alert_topic_arn": self.alert_topic_arn,
            }
        )


def key_administrator_role_names(name_prefix: str) -> list[str]:
    """The roles that administer a stack's KMS keys (and so may not use them), named before they exist."""
    return [platform_role_name(name_prefix, role) for role in KEY_ADMINISTRATORS]
