"""tools/bump_model_package.py on copies of the shipped stack files: only `modelPackage` changes, comments stay,
and every unsafe bump is refused with one line."""

from __future__ import annotations

import difflib
import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

from preflight.testing import REPO

spec = importlib.util.spec_from_file_location("bump_model_package", REPO / "tools" / "bump_model_package.py")
bump_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bump_tool)


def copy_stacks(tmp_path: Path) -> Path:
    for stack in ("dev", "staging", "prod"):
        shutil.copy(REPO / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    return tmp_path


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.split("\n"), after.split("\n"), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_bumps_only_the_model_package_line_of_a_shipped_stack_file(stack, tmp_path, capsys):
    root = copy_stacks(tmp_path)
    before = (root / f"Pulumi.{stack}.yaml").read_text()
    current = yaml.safe_load(before)["config"]["ml-platform:endpoints"]["endpoints"]["churn"]["modelPackage"]
    assert bump_tool.main(["--stack", stack, "--model", "churn-classifier", "--version", "7", "--root", str(root)]) == 0
    after = (root / f"Pulumi.{stack}.yaml").read_text()
    assert changed_lines(before, after) == [
        f"-        modelPackage: {current}",
        "+        modelPackage: churn-classifier/7",
    ]
    assert [line for line in before.splitlines() if "#" in line] == [line for line in after.splitlines() if "#" in line]
    assert capsys.readouterr().out == f"Pulumi.{stack}.yaml: endpoint churn: {current} -> churn-classifier/7\n"
    for other in {"dev", "staging", "prod"} - {stack}:
        assert (root / f"Pulumi.{other}.yaml").read_text() == (REPO / f"Pulumi.{other}.yaml").read_text()


STACK = """\
config:
  ml-platform:endpoints:
    models:
      churn-classifier: {image: "serving:1"}   # the churn model
      fraud: {image: "serving:2"}
    endpoints:
      churn:
        # modelPackage: churn-classifier/1      # the version before last
        modelPackage: "churn-classifier/2"      # approved 2026-11-01
        instance: {type: ml.m5.large}
      churn-shadow:
        modelPackage: churn-classifier/2\r
      fraud:
        modelPackage: fraud/9
"""


def test_bumps_every_endpoint_of_the_model_and_keeps_quotes_comments_and_line_endings():
    text, previous = bump_tool.bump(STACK, model="churn-classifier", version=3)
    assert previous == {"churn": 2, "churn-shadow": 2}
    assert changed_lines(STACK, text) == [
        '-        modelPackage: "churn-classifier/2"      # approved 2026-11-01',
        '+        modelPackage: "churn-classifier/3"      # approved 2026-11-01',
        "-        modelPackage: churn-classifier/2\r",
        "+        modelPackage: churn-classifier/3\r",
    ]
    assert "# modelPackage: churn-classifier/1" in text and "modelPackage: fraud/9" in text


def test_leaves_a_file_already_at_the_version_unchanged(tmp_path, capsys):
    root = copy_stacks(tmp_path)
    before = (root / "Pulumi.staging.yaml").read_text()
    assert (
        bump_tool.main(["--stack", "staging", "--model", "churn-classifier", "--version", "1", "--root", str(root)])
        == 0
    )
    assert (root / "Pulumi.staging.yaml").read_text() == before
    assert capsys.readouterr().out == "Pulumi.staging.yaml: already at churn-classifier/1\n"


def refusal(capsys, *argv: str, root: Path) -> str:
    assert bump_tool.main([*argv, "--root", str(root)]) == 1
    return capsys.readouterr().err


def test_fails_when_the_version_would_go_back(tmp_path, capsys):
    root = copy_stacks(tmp_path)
    assert (
        bump_tool.main(["--stack", "prod", "--model", "churn-classifier", "--version", "5", "--root", str(root)]) == 0
    )
    capsys.readouterr()
    assert refusal(capsys, "--stack", "prod", "--model", "churn-classifier", "--version", "4", root=root) == (
        "refused: Pulumi.prod.yaml: churn is at churn-classifier/5; refusing to go back to 4 (revert the promotion "
        "pull request instead)\n"
    )


def test_fails_when_the_stack_is_dev(tmp_path, capsys):
    assert refusal(capsys, "--stack", "dev", "--model", "churn-classifier", "--version", "2", root=tmp_path) == (
        "refused: stack 'dev': promotions go to staging, prod only\n"
    )


def test_fails_when_no_endpoint_serves_the_model(tmp_path, capsys):
    root = copy_stacks(tmp_path)
    assert refusal(capsys, "--stack", "staging", "--model", "fraud", "--version", "2", root=root) == (
        "refused: Pulumi.staging.yaml: no endpoint deploys a registry version of 'fraud' (modelPackage: fraud/<n>)\n"
    )


@pytest.mark.parametrize("version", ["0", "-1", "3; rm -rf /", "1e3", ""])
def test_fails_when_the_version_is_not_a_whole_number(version, tmp_path, capsys):
    line = refusal(capsys, "--stack", "staging", "--model", "churn-classifier", "--version", version, root=tmp_path)
    assert line == f"refused: version {version!r} is not a model package version (a whole number from 1)\n"


def test_fails_when_the_model_is_not_a_model_key():
    with pytest.raises(bump_tool.Refused, match=r"model 'churn/\.\.' is not a model key"):
        bump_tool.bump(STACK, model="churn/..", version=3)


def test_fails_when_the_value_is_written_in_flow_style():
    flow = STACK.replace("      fraud:\n        modelPackage: fraud/9\n", "      fraud: {modelPackage: fraud/9}\n")
    with pytest.raises(bump_tool.Refused, match="found 1 endpoint.* but 0 plain `modelPackage:` line"):
        bump_tool.bump(flow, model="fraud", version=10)
