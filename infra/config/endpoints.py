"""`ml-platform:endpoints`: SageMaker model endpoints.

```yaml
ml-platform:endpoints:
  models:                       # one prefix per model in the models bucket, one registry group per model
    churn-classifier:
      image: ml-serving:1.4.2   # repository in this account's registry + tag/digest, or a private ECR image URI
      # gpu: true               # the image needs a GPU: never serverless, only GPU instance types
  endpoints:
    churn:                      # endpoint key; the endpoint is named <project>-<stack>-churn
      modelData: churn-classifier/1.4.2/model.tar.gz      # either a key under the model's prefix...
      # modelPackage: churn-classifier/3                  # ...or an approved version in the model's registry group
      instance: {type: ml.m5.xlarge}                      # anything under `defaults` can be overridden here
```

Each endpoint's settings are the endpoint component's own model (`EndpointSpec` and its sections, declared once in
`components/model_endpoint.py`), each model's the registry's (`ModelSpec`, `components/model_registry.py`); this
module adds only what spans the section: the stack's rules for its endpoints and the checks across endpoints,
models and other sections.

Each endpoint is its `defaults` (environment profile, then the stack file's `defaults`) with its own keys laid
over them. Environment rules live in the profile as explicit settings — `allowServerless` (dev only),
`minInstances` (2 in prod, so a zone can fail), `requireModelPackage` (staging/prod deploy registry versions,
which SageMaker only deploys once approved) — so relaxing one is a visible line in a stack file.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import Field, field_validator, model_validator

from components import sagemaker_rules as sm
from components.experiment_tracking import ARTIFACT_PREFIX
from components.model_endpoint import (
    AlarmSettings,
    DataCaptureSettings,
    DeploymentSettings,
    EndpointSettings,
    EndpointSpec,
    InstanceSettings,
    ServerlessSettings,
    TrafficStep,
)
from components.model_registry import ModelSpec
from components.settings import FieldError, Section
from infra.config.profiles import merge

__all__ = [
    "AlarmSettings",
    "DataCaptureSettings",
    "DeploymentSettings",
    "EndpointSettings",
    "EndpointSpec",
    "EndpointsConfig",
    "InstanceSettings",
    "ModelSpec",
    "ServerlessSettings",
    "TrafficStep",
]

_KEY = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_KEY_LENGTH = 32
"""Endpoint and model keys become part of AWS names (`<project>-<stack>-<key>`, ≤ 63 characters)."""


def _check_key(kind: str, key: str) -> None:
    if not _KEY.match(key) or len(key) > MAX_KEY_LENGTH:
        raise FieldError(
            key,
            key,
            f"{kind} keys must be lowercase letters, digits and single hyphens, at most {MAX_KEY_LENGTH} "
            "characters (they become part of SageMaker names)",
        )


class EndpointsConfig(Section):
    """SageMaker model endpoints."""

    allow_serverless: bool = False
    """Whether `serving: serverless` is accepted. Profile: dev only — serverless has no VPC, network isolation,
    data capture or blue/green, which staging and prod require."""
    min_instances: int = 1
    """Smallest instance fleet an endpoint may have. Profile: 2 in prod, so an endpoint survives a zone failure."""
    require_model_package: bool = False
    """Endpoints must deploy registry versions (`modelPackage`), which SageMaker refuses unless Approved.
    Profile: on in staging and prod."""
    retraining_schedules: bool = True
    """Whether models' retraining schedules run. Off in dev (profile): its pipelines exist but start only by hand,
    so an idle dev stack trains nothing."""
    notification_emails: list[str] = Field(default_factory=list)
    """Addresses subscribed to every endpoint's alarm topic (each must confirm by email)."""
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    """Models by name: the name is the model's prefix in the models bucket and its registry group."""
    defaults: EndpointSettings = EndpointSettings()
    """Settings every endpoint starts from (environment profile + stack file)."""
    endpoints: dict[str, EndpointSpec] = Field(default_factory=dict)
    """Endpoints by key. Default: none."""

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        # Each endpoint is validated as defaults + its own keys, so an override reads like a default.
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults", {})
        endpoints = data.get("endpoints")
        if isinstance(defaults, dict) and isinstance(endpoints, dict):
            data = {
                **data,
                "endpoints": {k: merge(defaults, v) if isinstance(v, dict) else v for k, v in endpoints.items()},
            }
        return data

    @field_validator("notification_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not _EMAIL.match(email):
                raise ValueError(f"{email!r} is not an email address")
        return value

    @field_validator("min_instances")
    @classmethod
    def _min_instances(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @model_validator(mode="after")
    def _endpoints_fit_the_stack(self) -> EndpointsConfig:
        for name in self.models:
            try:
                _check_key("model", name)
            except FieldError as exc:
                raise FieldError(f"models.{name}", name, exc.message) from None
            if f"{name}/" == ARTIFACT_PREFIX:
                raise FieldError(
                    f"models.{name}",
                    name,
                    f"reserved: the models bucket's {ARTIFACT_PREFIX} prefix holds the experiment-tracking artifacts",
                )
        for key, ep in self.endpoints.items():
            where = f"endpoints.{key}"
            try:
                _check_key("endpoint", key)
            except FieldError as exc:
                raise FieldError(where, key, exc.message) from None
            if ep.model_data is not None and ep.model not in self.models:
                raise FieldError(
                    f"{where}.modelData",
                    ep.model_data,
                    f"unknown model bucket prefix '{ep.model}/'; the models bucket has one prefix per model under "
                    f"`models` ({', '.join(f'{m}/' for m in sorted(self.models)) or 'none declared'})",
                )
            if ep.model_package is not None and ep.model not in self.models:
                raise FieldError(
                    f"{where}.modelPackage",
                    ep.model_package,
                    f"unknown model '{ep.model}'; declared under `models`: {', '.join(sorted(self.models)) or 'none'}",
                )
            if self.require_model_package and ep.model_package is None:
                raise FieldError(
                    f"{where}.modelData",
                    ep.model_data,
                    "this stack deploys only approved registry versions (requireModelPackage): set "
                    "modelPackage: <model>/<version> instead of modelData",
                )
            gpu_model = ep.model in self.models and self.models[ep.model].gpu
            if ep.serving == "serverless" and gpu_model:
                raise FieldError(
                    f"{where}.serving",
                    ep.serving,
                    f"model '{ep.model}' needs a GPU (models.{ep.model}.gpu) and serverless endpoints are CPU only; "
                    "use serving: instance with a GPU instance type",
                )
            if ep.serving == "instance" and gpu_model and not sm.is_gpu(ep.instance.type):
                raise FieldError(
                    f"{where}.instance.type",
                    ep.instance.type,
                    f"model '{ep.model}' needs a GPU (models.{ep.model}.gpu); use a GPU instance type "
                    f"({', '.join(sm.gpu_families()[:4])}, ...), e.g. ml.g5.xlarge",
                )
            if ep.serving == "serverless":
                if not self.allow_serverless:
                    raise FieldError(
                        f"{where}.serving",
                        ep.serving,
                        "serverless endpoints are allowed only in dev (allowServerless): they cannot run in the VPC, "
                        "isolate the container, capture data or deploy blue/green; use serving: instance",
                    )
                continue
            if ep.instance.min_count < self.min_instances:
                raise FieldError(
                    f"{where}.instance.minCount",
                    ep.instance.min_count,
                    f"must be at least {self.min_instances} (minInstances) so the endpoint keeps serving when an "
                    "availability zone fails",
                )
        return self

    def cross_section_problem(
        self, *, allowed_instance_types: Collection[str], buckets: Collection[str], registries: Collection[str]
    ) -> FieldError | None:
        """The first endpoint setting another section rules out, as a `FieldError` keyed from the top of
        `PlatformConfig` (`endpoints.endpoints.<key>.instance.type`), or None. `PlatformConfig` calls it with
        the guardrails allowlist and the storage section's bucket purposes and registry names.
        """
        if self.endpoints:
            for purpose in ("models", "data-capture"):
                if purpose not in buckets:
                    return FieldError(
                        "storage.buckets",
                        list(buckets),
                        f"endpoints need the '{purpose}' bucket (model archives under models/, captured requests "
                        "under data-capture/); add it or remove ml-platform:endpoints.endpoints",
                    )
        for name, model in self.models.items():
            if sm.ECR_SHORT.match(model.image):
                repository = sm.split_image(model.image)[0]
                if repository not in registries:
                    return FieldError(
                        f"endpoints.models.{name}.image",
                        model.image,
                        f"no registry '{repository}' in this stack (storage.registries: {', '.join(sorted(registries)) or 'none'}); "
                        "use one of them or a full ECR image URI",
                    )
        for name, model in self.models.items():
            if model.retraining is None:
                continue
            if "datasets" not in buckets:
                return FieldError(
                    "storage.buckets",
                    list(buckets),
                    f"model '{name}' retrains from the 'datasets' bucket (endpoints.models.{name}.retraining); add it",
                )
            for field, value in (
                ("instanceType", model.retraining.instance_type),
                ("evaluationInstanceType", model.retraining.evaluation_instance_type),
            ):
                if not sm.allowlisted(value, list(allowed_instance_types)):
                    return FieldError(
                        f"endpoints.models.{name}.retraining.{field}",
                        value,
                        "not in the stack's SageMaker instance allowlist (guardrails, which the boundary enforces): "
                        f"{', '.join(sorted(allowed_instance_types)) or 'empty'}",
                    )
            image = model.retraining.trainer_image
            if sm.ECR_SHORT.match(image) and sm.split_image(image)[0] not in registries:
                return FieldError(
                    f"endpoints.models.{name}.retraining.trainerImage",
                    image,
                    f"no registry '{sm.split_image(image)[0]}' in this stack (storage.registries: "
                    f"{', '.join(sorted(registries)) or 'none'}); use one of them or a full ECR image URI",
                )
        for key, ep in self.endpoints.items():
            if ep.serving == "instance" and not sm.allowlisted(ep.instance.type, list(allowed_instance_types)):
                return FieldError(
                    f"endpoints.endpoints.{key}.instance.type",
                    ep.instance.type,
                    f"not in the stack's instance allowlist (guardrails): {', '.join(sorted(allowed_instance_types)) or 'empty'}",
                )
        return None
