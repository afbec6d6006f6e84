"""Reading a stack export: records, regions, tags, secrets, and one-line errors for what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.audit.state import StateError, read_state, redact
from preflight.model import SECRET

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "audit" / "state.json"


def test_reads_project_stack_region_default_tags_and_top_level_parents():
    state = read_state(FIXTURE)
    assert (state.result.project, state.result.stack, state.default_region) == ("ml-platform", "dev", "us-west-2")
    assert state.default_tags["Project"] == "ml-platform"
    bucket = state.result.one("aws:s3/bucket:Bucket")
    assert bucket.parent is None  # preflight's convention for children of the stack
    assert state.region_of(bucket) == "us-west-2"


def test_secrets_become_the_secret_marker_whatever_they_hold():
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"hunter2"'}
    assert redact({"a": [secret], "b": {"c": secret}, "__defaults": []}) == {"a": [SECRET], "b": {"c": SECRET}}


def test_resources_pending_deletion_are_not_part_of_the_stack(tmp_path):
    document = json.loads(FIXTURE.read_text())
    document["deployment"]["resources"][-1]["delete"] = True
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    assert len(read_state(path).result.resources) == len(document["deployment"]["resources"]) - 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (
            '{"version": 3, "deployment": {}}',
            "deployment.resources is missing or not a list; is this a `pulumi stack export`?",
        ),
        (
            '{"version": 3, "deployment": {"resources": []}}',
            "no pulumi:pulumi:Stack resource in deployment.resources: the stack was never deployed",
        ),
        ('{"version": 2}', "version is 2; expected the version 3 deployment `pulumi stack export` writes"),
    ],
)
def test_fails_when_the_file_is_not_a_stack_export(tmp_path, content, message):
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateError) as raised:
        read_state(path)
    assert str(raised.value) == f"{path}: {message}"


def test_fails_when_the_file_cannot_be_read(tmp_path):
    with pytest.raises(StateError, match=r"missing.json: cannot read the state: No such file or directory"):
        read_state(tmp_path / "missing.json")
