"""The SageMaker model registry of a stack: one model package group per model.

CI registers each trained version into its model's group (`PendingManualApproval`); an approver sets it to
`Approved`; staging and prod endpoints deploy `<group>/<version>` packages, which SageMaker refuses to deploy
unless approved. Groups are keyed by model name, so adding a model never replaces another's group.

A model's settings (`ModelSpec`: serving image, description, GPU, retraining) are declared once, here: the stack
file's `ml-platform:endpoints.models.<model>` is validated against them and the registry takes the same model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components import sagemaker_rules as sm
from components.retraining import RetrainingSettings
from components.settings import Section


class ModelSpec(Section):
    """A model served by endpoints: its serving image. Its artifacts live under `<model>/` in the models bucket."""

    image: str
    """`repository:tag` or `repository@sha256:<digest>` in this account's registry, or a private ECR image URI
    (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`). The execution role may pull only this
    repository."""
    description: str = ""
    """Shown on the model's registry group."""
    retraining: RetrainingSettings | None = None
    """Scheduled retraining into this model's registry group (components/retraining.py). Default: none."""
    gpu: bool = False
    """The serving image needs an NVIDIA GPU. Default false (a CPU model). A GPU model cannot be served serverless
    (CPU only) and its endpoints must use a GPU instance type."""

    @field_validator("image")
    @classmethod
    def _ecr(cls, value: str) -> str:
        problem = sm.ecr_image_problem(value)
        if problem:
            raise ValueError(problem)
        return value


@dataclass(frozen=True, kw_only=True)
class ModelRegistryArgs:
    name_prefix: str
    """Prefix of every group name (`<prefix>-<model>`), e.g. `<project>-<stack>`: groups are per account and
    region, so stacks sharing an account keep separate registries."""
    models: Mapping[str, ModelSpec] = field(default_factory=dict)
    """Models by name (the stack file's `endpoints.models`): one group each, described by its `description`."""
    tags: Mapping[str, str] = field(default_factory=dict)


def group_names(args: ModelRegistryArgs) -> dict[str, str]:
    """Model -> group name; raises ValueError when a name breaks SageMaker's rule (≤ 63, letters/digits/hyphens)."""
    names = {model: f"{args.name_prefix}-{model}" for model in sorted(args.models)}
    bad = [n for n in names.values() if not sm.NAME_PATTERN.match(n)]
    if bad:
        raise ValueError(
            f"model package group names must be letters, digits and hyphens, at most 63 characters: {', '.join(bad)}"
        )
    return names


def package_arn(*, partition: str, region: str, account_id: str, group_name: str, version: int) -> str:
    """ARN of a versioned model package: `<group>/<version>`."""
    return f"arn:{partition}:sagemaker:{region}:{account_id}:model-package/{group_name.lower()}/{version}"


class ModelRegistry(pulumi.ComponentResource):
    """Model package groups, one per model. Creates: `aws.sagemaker.ModelPackageGroup` per model."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:serving:ModelRegistry", name, None, opts)
        names = group_names(args)
        self.groups = {
            model: aws.sagemaker.ModelPackageGroup(
                f"{name}-{model}",
                model_package_group_name=group,
                model_package_group_description=args.models[model].description or f"Versions of model {model}",
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for model, group in names.items()
        }
        self.group_names = {m: g.model_package_group_name for m, g in self.groups.items()}
        self.group_arns = {m: g.arn for m, g in self.groups.items()}
        self.register_outputs({"group_names": self.group_names, "group_arns": self.group_arns})
