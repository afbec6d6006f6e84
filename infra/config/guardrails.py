"""`ml-platform:guardrails`: what no platform role may exceed — regions and instance types — and who governs them."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import Field, field_validator

from components.guardrails import PERSONAS, BaselineSpec, BudgetSpec, GithubSpec, PersonaSpec
from components.settings import FieldError, Section
from infra.config.regions import Region

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

_EC2_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")
_SAGEMAKER_TYPE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")


class PersonaConfig(Section):
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


class GithubConfig(Section):
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


class BudgetConfig(Section):
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


class AccountBaselinesConfig(Section):
    """Account-wide settings, so opt-in: only one stack per account and region should own them."""

    ebs_encryption_by_default: bool = False
    """Turn on EBS encryption by default for the account and region, with the platform's cluster key."""
    s3_public_access_block: bool = False
    """Block public ACLs and policies on every bucket of the account (account-level S3 public access block)."""
    cost_allocation_tags: bool = False
    """Activate the cost tags (`CostCenter`, `Owner`, `Project`, `Environment`) as cost allocation tags. AWS only
    accepts keys already seen in billing data, so turn this on a day after the first deployment."""


class GuardrailsConfig(Section):
    """Guardrails every IAM role of the stack carries through its permission boundary."""

    allowed_regions: list[Region] = Field(default_factory=list)
    """Regions platform roles may act in. Default: the stack's `aws:region` only (plus a replication region)."""
    allowed_instance_types: list[str] = Field(default_factory=lambda: ["m6i.large", "g5.xlarge"])
    """EC2 instance types node pools may launch; `g5.*` wildcards allowed. The boundary and the cost policies use it."""
    allowed_sagemaker_instance_types: list[str] = Field(default_factory=lambda: ["ml.m5.large"])
    """SageMaker instance types endpoints and jobs may use (`ml.*`); wildcards allowed."""
    personas: dict[str, PersonaConfig] = Field(default_factory=dict)
    """Persona name (platform-admin, ml-engineer, data-scientist, auditor, model-approver) -> who may assume it. A persona left
    out, or without principals, gets no role."""
    github: GithubConfig | None = None
    """GitHub Actions OIDC trust for the CI roles. Default: none, so no CI roles (and no OIDC provider)."""
    budget: BudgetConfig = BudgetConfig()
    """The monthly budget and its alerts. Limits per environment in `infra/config/profiles.py`."""
    account_baselines: AccountBaselinesConfig = AccountBaselinesConfig()
    """Account-wide baselines, each off by default (see `AccountBaselinesConfig`)."""

    @field_validator("allowed_instance_types")
    @classmethod
    def _ec2_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _EC2_TYPE.match(t) or t.startswith("ml.")]
        if bad:
            raise ValueError(f"not EC2 instance types: {bad}; expected names like 'g5.xlarge' or 'g5.*'")
        if not value:
            raise ValueError("empty: no node pool could launch; list the instance types pools may use")
        return value

    @field_validator("allowed_sagemaker_instance_types")
    @classmethod
    def _sagemaker_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _SAGEMAKER_TYPE.match(t)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {bad}; expected names like 'ml.g5.xlarge' or 'ml.g5.*'")
        return value

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

    def component_args(self, environment: str) -> dict[str, Any]:
        """`GuardrailsArgs` fields from this section: personas with principals, GitHub, budget, baselines."""
        gh = self.github
        return {
            "personas": {
                name: PersonaSpec(principals=p.principals, max_session_hours=p.max_session_hours)
                for name, p in self.personas.items()
                if p.principals
            },
            "github": GithubSpec(
                repository=gh.repository,
                deploy_environment=gh.deploy_environment or environment,
                preview_pull_requests=gh.preview_pull_requests,
                preview_branches=gh.preview_branches,
                oidc_provider_arn=gh.oidc_provider_arn,
            )
            if gh is not None
            else None,
            "budget": BudgetSpec(
                monthly_usd=self.budget.monthly_usd,
                emails=self.budget.emails,
                forecast_threshold_percent=self.budget.forecast_threshold_percent,
                actual_threshold_percent=self.budget.actual_threshold_percent,
            ),
            "baselines": BaselineSpec(
                ebs_encryption_by_default=self.account_baselines.ebs_encryption_by_default,
                s3_public_access_block=self.account_baselines.s3_public_access_block,
                cost_allocation_tags=self.account_baselines.cost_allocation_tags,
            ),
        }

    def regions(self, stack_region: str, *extra: str | None) -> list[str]:
        """The regions roles may act in: configured ones, or the stack's region plus any replication region."""
        return sorted(set(self.allowed_regions or [stack_region]) | {r for r in extra if r})
