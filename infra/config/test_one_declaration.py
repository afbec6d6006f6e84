"""Each storage and guardrails setting is declared once, in its component's settings model: the stack file, the
environment profiles and the component all read that one declaration. And no profile restates a default."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from components.artifact_store import ArtifactStoreSettings
from components.guardrails import GuardrailsSettings
from components.image_registries import ImageRegistriesSettings
from components.keys import PlatformKeysSettings
from infra.config.guardrails import GuardrailsConfig
from infra.config.profiles import PROFILES
from infra.config.schema import PlatformConfig
from infra.config.settings_doc import entry_model, section_model
from infra.config.storage import StorageConfig

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_MODELS = (PlatformKeysSettings, ArtifactStoreSettings, ImageRegistriesSettings)


def test_the_storage_section_declares_no_setting_of_its_own():
    # Every key of `ml-platform:storage` comes from one component model, and none is declared twice.
    own = set(StorageConfig.__annotations__) & set(StorageConfig.model_fields)
    assert own == set()
    owners = {
        name: [m.__name__ for m in COMPONENT_MODELS if name in m.model_fields] for name in StorageConfig.model_fields
    }
    assert all(len(models) == 1 for models in owners.values()), owners
    assert set(owners) == {name for m in COMPONENT_MODELS for name in m.model_fields}


def test_the_guardrails_section_is_the_components_model():
    assert GuardrailsConfig is GuardrailsSettings
    assert PlatformConfig.model_fields["guardrails"].annotation is GuardrailsSettings


# A copy of the program's packages with one default and one limit changed in the component modules, and nowhere else.
CHANGES = {
    "components/artifact_store.py": [
        ("    noncurrent_version_expiry_days: int = 90\n", "    noncurrent_version_expiry_days: int = 120\n"),
        ("MAX_RETENTION_DAYS = 3650\n", "MAX_RETENTION_DAYS = 4000\n"),
    ],
    "components/guardrails.py": [
        ("    forecast_threshold_percent: float = 80\n", "    forecast_threshold_percent: float = 70\n"),
    ],
}

PROBE = textwrap.dedent(
    """
    import json
    from components.artifact_store import ArtifactStoreArgs, lifecycle_rules
    from components.guardrails import GuardrailsArgs, budget_notifications
    from infra.config import ConfigError, load
    from infra.config.settings_doc import render

    tags = json.dumps({"CostCenter": "ml", "Owner": "o", "Project": "ml-platform"})
    base = {"aws:region": "us-west-2", "ml-platform:environment": "prod", "ml-platform:tags": tags}

    def noncurrent_days(settings):
        (rule,) = [r for r in lifecycle_rules("models", settings) if r["id"] == "expire-noncurrent-versions"]
        return rule["noncurrent_version_expiration"]["noncurrent_days"]

    cfg = load(base, stack="prod")
    component = ArtifactStoreArgs(kms_key_arn="arn:aws:kms:us-west-2:111122223333:key/k", vpc_endpoint_id="vpce-1")
    guardrails = GuardrailsArgs(
        name_prefix="p-prod", project="p", environment="prod", permissions_boundary="b", role_regions=["us-west-2"],
        cluster_name="c", registry_prefix="p/prod", alert_kms_key_arn="k",
    )
    long_retention = json.dumps({"noncurrentVersionExpiryDays": 3700})
    try:
        accepted = load({**base, "ml-platform:storage": long_retention}, stack="prod").storage.noncurrent_version_expiry_days
    except ConfigError as err:
        accepted = err.problems
    (row,) = [line for line in render().splitlines() if line.startswith("| `ml-platform:storage.noncurrentVersionExpiryDays` |")]
    print(json.dumps({
        "prod_from_stack_file": noncurrent_days(cfg.storage),
        "component_default": noncurrent_days(component.settings),
        "stack_file_limit": accepted,
        "settings_table": row.split(" | ")[2:6],
        "forecast_stack_file": cfg.guardrails.budget.forecast_threshold_percent,
        "forecast_component": budget_notifications(guardrails.settings.budget, "arn:topic")[0].threshold,
    }))
    """
)


@pytest.mark.slow
def test_a_default_or_limit_changed_in_the_component_reaches_stack_file_profiles_docs_and_component(
    edited_program, probe
):
    before, after = probe(ROOT, PROBE), probe(edited_program(CHANGES), PROBE)
    assert before["prod_from_stack_file"] == before["component_default"] == 90
    assert after["prod_from_stack_file"] == after["component_default"] == 120
    assert before["settings_table"] == ["`90`", "`7`", "`30`", "`90`"]
    assert after["settings_table"] == ["`120`", "`7`", "`30`", "`120`"]
    assert before["stack_file_limit"] == [
        (
            "Pulumi.prod.yaml: ml-platform:storage.noncurrentVersionExpiryDays = 3700: must be between 1 and 3650 "
            "days (how long overwritten or deleted object versions are kept)"
        )
    ]
    assert after["stack_file_limit"] == 3700
    assert before["forecast_stack_file"] == before["forecast_component"] == 80
    assert after["forecast_stack_file"] == after["forecast_component"] == 70


# -- profiles only override ----------------------------------------------------------------------------------------


def restated(model: type[BaseModel], default: BaseModel | None, overrides: dict[str, Any], key: str) -> list[str]:
    """Profile keys under `key` whose value is the default declared with the setting (so hide a change to it)."""
    found: list[str] = []
    by_alias = {(f.alias or n): n for n, f in model.model_fields.items()}
    for alias, value in overrides.items():
        name = by_alias[alias]
        field = model.model_fields[name]
        if default is None and field.is_required():
            continue  # nothing declared to restate
        base = getattr(default, name) if default is not None else field.get_default(call_default_factory=True)
        sub, entries = section_model(field.annotation), entry_model(field.annotation)
        if isinstance(value, dict) and sub is not None:
            found += restated(sub, base if isinstance(base, BaseModel) else None, value, f"{key}.{alias}")
        elif entries is not None and isinstance(value, list | dict):
            # A list or map of settings (GPU pools, endpoints): each entry against the entry model's defaults.
            items = enumerate(value) if isinstance(value, list) else value.items()
            for at, item in items:
                found += restated(entries[1], None, item, f"{key}.{alias}[{at}]")
        elif TypeAdapter(field.annotation).dump_python(base, mode="json", by_alias=True) == value:
            found.append(f"{key}.{alias} = {json.dumps(value)}")
    return found


# Every section of the schema.
SECTIONS = {
    field.alias or name: model
    for name, field in PlatformConfig.model_fields.items()
    if (model := section_model(field.annotation)) is not None
}


def test_the_check_covers_every_section():
    assert {"network", "storage", "cluster", "guardrails", "endpoints", "monitoring"} <= set(SECTIONS)


@pytest.mark.parametrize("environment", sorted(PROFILES))
def test_profiles_only_override_the_declared_defaults(environment):
    found = [
        line
        for section, model in SECTIONS.items()
        for line in restated(model, None, PROFILES[environment].get(section, {}), f"{environment}.{section}")
    ]
    assert found == []


def test_the_restated_default_check_finds_a_restated_default():
    # The check above could pass by finding nothing at all: show it finds a restatement, nested ones too.
    assert restated(StorageConfig, None, {"versioning": True, "modelsObjectLock": {"retentionDays": 30}}, "s") == [
        "s.versioning = true",
        "s.modelsObjectLock.retentionDays = 30",
    ]
    assert restated(GuardrailsSettings, None, {"budget": {"monthlyUsd": 1000, "emails": []}}, "g") == [
        "g.budget.monthlyUsd = 1000",
        "g.budget.emails = []",
    ]
    # ... and in each entry of a list or map of settings (GPU pools, endpoints).
    cluster = {"gpuPools": [{"name": "a", "diskGib": 100, "maxSize": 3}]}
    assert restated(SECTIONS["cluster"], None, cluster, "c") == ["c.gpuPools[0].diskGib = 100"]
    endpoints = {"endpoints": {"churn": {"modelData": "m/1/model.tar.gz", "logRetentionDays": 90}}}
    assert restated(SECTIONS["endpoints"], None, endpoints, "e") == ["e.endpoints[churn].logRetentionDays = 90"]
