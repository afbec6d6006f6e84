"""The pack as the Pulumi CLI sees it: it serves over gRPC when started like the CLI starts it, and every policy
carries the metadata CrossGuard shows with a violation."""

import re
from pathlib import Path

import jsonschema

from policies.pack import ENFORCEMENT_LEVEL, PACK_NAME, build_policies
from preflight.policy import load_pack
from preflight.policy_server import serve

PACK = Path(__file__).resolve().parent
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_the_pack_serves_its_policies_when_started_like_the_cli_starts_it():
    # `python -u -m pulumi.policy <engine> policies/` in the pack's directory: it prints its port and serves.
    with serve(PACK) as analyzer:
        info = analyzer.info()
        process = analyzer.process
        assert process.poll() is None
    assert process.poll() is not None, "the analyzer process must stop with the test"
    assert info.name == PACK_NAME
    assert info.supportsConfig
    assert [p.name for p in info.policies] == [p.name for p in build_policies()]
    with_schema = {p.name for p in info.policies if p.configSchema.properties}
    assert with_schema == {p.name for p in build_policies() if p.config_schema}
    assert {p.enforcementLevel for p in info.policies} == {
        1
    }  # MANDATORY: the pack's default, unless a stack relaxes it


def test_preflight_loads_the_same_policies_the_pack_serves():
    assert [p.name for p in load_pack(PACK)] == [p.name for p in build_policies()]
    assert ENFORCEMENT_LEVEL.value == "mandatory"


def test_every_policy_has_a_kebab_name_description_severity_remediation_and_one_category():
    for policy in build_policies():
        assert KEBAB.match(policy.name), policy.name
        assert policy.description.endswith("."), policy.name
        assert policy.severity is not None, policy.name
        assert policy.remediation_steps and len(policy.remediation_steps) > 20, policy.name
        assert policy.tags in (["encryption"], ["access"], ["cost"], ["reliability"]), policy.name


def test_every_setting_has_a_description_and_a_default_its_schema_accepts():
    for policy in build_policies():
        if policy.config_schema is None:
            continue
        schema = {"type": "object", "properties": policy.config_schema.properties}
        jsonschema.Draft7Validator.check_schema(schema)
        for key, spec in policy.config_schema.properties.items():
            assert spec.get("description"), (policy.name, key)
            assert "default" in spec, (policy.name, key)
            assert list(jsonschema.Draft7Validator(schema).iter_errors({key: spec["default"]})) == [], (
                policy.name,
                key,
            )


def test_the_docs_describe_every_policy():
    docs = (PACK.parent / "docs" / "policies.md").read_text()
    missing = [p.name for p in build_policies() if f"`{p.name}`" not in docs]
    assert missing == []


TABLE_START, TABLE_END = "<!-- policy-table:start -->", "<!-- policy-table:end -->"


def policy_table() -> str:
    """The docs' policy table, from the pack and the shipped stack configs."""
    from pulumi_policy import StackValidationPolicy

    from preflight.policy import load_pack_definition, read_config_file, reconcile

    pack = load_pack_definition(PACK)
    levels = {
        stack: reconcile(pack, read_config_file(PACK / "config" / f"{stack}.json"), stack)
        for stack in ("dev", "staging", "prod")
    }
    rows = [
        "| Policy | Category | Severity | Kind | Settings (default) | dev | staging | prod |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for policy in build_policies():
        settings = []
        for key, spec in (policy.config_schema.properties if policy.config_schema else {}).items():
            default = spec["default"]
            shown = (
                f"{len(default)} patterns"
                if isinstance(default, list) and len(default) > 4
                else ", ".join(map(str, default))
                if isinstance(default, list)
                else str(default)
            )
            settings.append(f"`{key}` ({shown})")
        kind = "stack" if isinstance(policy, StackValidationPolicy) else "resource"
        row = [f"`{policy.name}`", policy.tags[0], policy.severity.value, kind, "; ".join(settings) or "-"]
        row += [levels[s][policy.name].enforcement_level.value for s in ("dev", "staging", "prod")]
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


def test_the_docs_policy_table_matches_the_pack_and_stack_configs():
    """Regenerate with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest policies/test_pack.py`."""
    import os

    path = PACK.parent / "docs" / "policies.md"
    text = path.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    expected = f"{head}{TABLE_START}\n{policy_table()}\n{TABLE_END}{tail}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(expected)
    assert text == expected, "docs/policies.md's table is stale: rerun with UPDATE_GOLDEN=1"
