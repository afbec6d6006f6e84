"""A `StackResult` is never changed once made: every stage of a run returns a new one, so a result that tests share
(rendered once per session) reads the same to each of them, whatever the others ran on it."""

import json
from dataclasses import FrozenInstanceError

import pulumi_aws as aws
import pytest

from preflight import cli
from preflight.model import StackResult, Violation, stack_json
from preflight.testing import REPO, render

TEAM = REPO / "tests" / "fixtures" / "team_project"


def _violation(policy: str) -> Violation:
    return Violation("checkov", policy, "encryption", "mandatory", "high", None, None, "message")


def test_a_stack_result_cannot_be_changed_in_place():
    result = StackResult("p", "dev", violations=[_violation("A")], warnings=["note"])
    assert isinstance(result.violations, tuple) and isinstance(result.warnings, tuple)
    with pytest.raises(FrozenInstanceError):
        result.cost = {}  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.warnings.append("another")  # type: ignore[attr-defined]


def test_adding_findings_and_warnings_makes_a_new_result_and_leaves_the_first_as_it_was():
    first = StackResult("p", "dev", violations=[_violation("A")], warnings=["note"])
    second = first.with_violations([_violation("B")]).with_warnings(["later"])
    assert [v.policy for v in second.violations] == ["A", "B"] and second.warnings == ("note", "later")
    assert [v.policy for v in first.violations] == ["A"] and first.warnings == ("note",)


def _program() -> None:
    aws.s3.Bucket("data")  # unencrypted, untagged: findings from the policy pack and from checkov
    aws.ec2.KeyPair("unmapped", public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrQ preflight")  # checkov cannot scan


@pytest.mark.slow
def test_every_stage_of_a_run_leaves_a_shared_rendered_stack_as_it_was(monkeypatch, capsys):
    shared = render(_program, stack="dev")
    before = json.dumps(stack_json(shared))
    # Every stack of the run is the one shared result, as a session-scoped test fixture hands it out.
    monkeypatch.setattr(cli, "run_stack", lambda project, stack, options=None: shared)

    documents = []
    for _ in range(2):
        cli.main(["--cwd", str(TEAM), "--stack", "dev", "--json"])
        documents.append(json.loads(capsys.readouterr().out))

    assert json.dumps(stack_json(shared)) == before
    assert documents[0] == documents[1]
    # The stages did run: policy pack, checkov (and what it cannot scan) and cost all added to the run's result.
    (stack,) = documents[0]["stacks"]
    assert {"policy-pack", "checkov"} <= {v["source"] for v in stack["violations"]}
    assert stack["unmappedTypes"] == {"aws:ec2/keyPair:KeyPair": 1} and "cost" in stack
