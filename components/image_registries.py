"""ECR repositories for the platform's training and serving images."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import field_validator, model_validator

from components.settings import FieldError, Section, days_between

# ECR's rule for repository names: lowercase components separated by '/'.
_REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")

PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
PUSH_ACTIONS = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
)


class ImageRegistriesSettings(Section):
    """The registries' part of `ml-platform:storage` (with the keys' and the artifact store's settings). Declared
    once: the stack file is validated against it and `ImageRegistries` takes it."""

    registries: tuple[str, ...] = ("training", "serving")
    """ECR repositories to create, one per image family. Created as `<project>/<stack>/<name>`."""

    untagged_image_expiry_days: int = 14
    """Days an untagged image (a superseded build, a failed push) stays in a registry before lifecycle expires it
    (1-365)."""

    @field_validator("untagged_image_expiry_days")
    @classmethod
    def _untagged(cls, value: int) -> int:
        return days_between(value, 1, 365, "how long an untagged image is kept before it expires")

    @model_validator(mode="after")
    def _registry_names(self) -> ImageRegistriesSettings:
        if not self.registries:
            raise FieldError("registries", [], "list at least one repository name (e.g. training, serving)")
        names: set[str] = set()
        for index, name in enumerate(self.registries):
            if not (2 <= len(name) <= 200 and _REPOSITORY_NAME.match(name)):
                raise FieldError(
                    f"registries.{index}",
                    name,
                    "not a valid ECR repository name: 2-200 lowercase letters, digits and . _ - /, "
                    "starting and ending with a letter or digit",
                )
            if name in names:
                raise FieldError(f"registries.{index}", name, "listed twice; each registry name appears once")
            names.add(name)
        return self


@dataclass(frozen=True, kw_only=True)
class ImageRegistriesArgs:
    name_prefix: str
    """Repositories are `<name_prefix>/<name>`, e.g. `ml-platform/prod/serving`. ECR names are unique per account
    and region, so the prefix should name the stack."""
    kms_key_arn: pulumi.Input[str]
    """Images are encrypted with this key (the platform's artifacts key)."""
    platform_role_path: str
    """The stack's IAM path (`stack_iam_path`, e.g. `/ml-platform/prod/`): image pull and push are denied to every
    principal that is not a role under it. A path, not tags: a role's path is fixed when it is created, while tags
    can be set by anyone allowed to tag it."""
    settings: ImageRegistriesSettings = field(default_factory=ImageRegistriesSettings)
    """What the stack file sets (validated when built): the repositories and how long untagged images stay."""
    protect: bool = True
    """Default on: repositories are `protect`ed and retained when the stack is destroyed; off, they are deleted
    together with their images."""


def validate_image_registries(args: ImageRegistriesArgs) -> None:
    """Raises ValueError naming the field, the value and what is allowed. The settings validated themselves."""
    if not _REPOSITORY_NAME.match(args.name_prefix):
        raise ValueError(
            f"name_prefix = {args.name_prefix!r}: lowercase letters, digits and . _ - in '/'-separated parts, "
            "each starting and ending with a letter or digit"
        )
    for name in args.settings.registries:
        full = f"{args.name_prefix}/{name}"
        if not 2 <= len(full) <= 256:
            raise ValueError(f"repository {full!r}: ECR names are 2-256 characters; this one has {len(full)}")
    path = args.platform_role_path
    if not (path.startswith("/") and path.endswith("/")) or path == "/" or "*" in path:
        raise ValueError(
            f"platform_role_path = {path!r}: give the stack's IAM path, e.g. '/ml-platform/prod/' "
            "(starting and ending with '/', not the root '/', no wildcards)"
        )


def lifecycle_policy(untagged_image_expiry_days: int) -> dict[str, Any]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {untagged_image_expiry_days} days after push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_image_expiry_days,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def repository_policy(*, account_id: str, partition: str, platform_role_path: str) -> dict[str, Any]:
    """Deny-only: same-account access is granted by IAM; this policy takes it away from anyone who is not a
    platform role of this stack, whatever their IAM policies say. Repository management (policies, lifecycle,
    deletion) is not covered, so the deployment cannot lock itself out."""
    image_actions = [*PULL_ACTIONS, *PUSH_ACTIONS]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOtherAccounts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": image_actions,
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account_id}},
            },
            {
                # aws:PrincipalArn is the role's ARN, path included, for a role session.
                "Sid": "DenyPrincipalsOutsideThePlatformPath",
                "Effect": "Deny",
                "Principal": "*",
                "Action": image_actions,
                "Condition": {
                    "ArnNotLike": {"aws:PrincipalArn": f"arn:{partition}:iam::{account_id}:role{platform_role_path}*"}
                },
            },
        ],
    }


class ImageRegistries(pulumi.ComponentResource):
    """ECR repositories: KMS-encrypted with the artifacts key, immutable tags, scan on push, untagged images
    expire, and a repository policy that only lets this account's platform roles pull and push.

    Creates, per name: `aws.ecr.Repository`, `aws.ecr.LifecyclePolicy`, `aws.ecr.RepositoryPolicy`.
    Attributes: `repositories[name]`, `repository_urls`, `repository_arns`.
    """

    def __init__(self, name: str, args: ImageRegistriesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:ImageRegistries", name, None, opts)
        validate_image_registries(args)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        policy = pulumi.Output.all(account_id, partition).apply(
            lambda v: json.dumps(
                repository_policy(account_id=v[0], partition=v[1], platform_role_path=args.platform_role_path), indent=2
            )
        )
        self.repositories: dict[str, aws.ecr.Repository] = {}
        for repo in args.settings.registries:
            role = repo.replace("/", "-")
            repository = aws.ecr.Repository(
                f"{name}-{role}",
                name=f"{args.name_prefix}/{repo}",
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)
                ],
                # A tag names one image forever: what was tested is what gets deployed.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                force_delete=not args.protect,
                opts=stateful,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{role}-lifecycle",
                repository=repository.name,
                policy=json.dumps(lifecycle_policy(args.settings.untagged_image_expiry_days), indent=2),
                opts=stateful,
            )
            aws.ecr.RepositoryPolicy(
                f"{name}-{role}-policy",
                repository=repository.name,
                policy=policy,
                # Retained with the repository: a kept registry without its policy would be open to the account.
                opts=stateful,
            )
            self.repositories[repo] = repository
        self.repository_urls: dict[str, pulumi.Output[str]] = {
            n: r.repository_url for n, r in self.repositories.items()
        }
        self.repository_arns: dict[str, pulumi.Output[str]] = {n: r.arn for n, r in self.repositories.items()}
        self.register_outputs({"repository_urls": self.repository_urls, "repository_arns": self.repository_arns})
