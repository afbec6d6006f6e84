"""`python -m preflight` as a user runs it: on a project it has never seen, with JSON, and with errors."""

import json
import subprocess
import sys
from pathlib import Path

from preflight.testing import REPO

TEAM = REPO / "tests" / "fixtures" / "team_project"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_runs_a_third_party_project_and_prints_the_documented_json():
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (stack,) = doc["stacks"]
    assert set(stack) >= {"project", "stack", "resources", "outputs", "violations"}
    assert (stack["project"], stack["stack"]) == ("team-project", "dev")
    fields = {"urn", "type", "name", "id", "parent", "provider", "inputs", "outputs", "options"}
    assert all(set(r) == fields for r in stack["resources"])
    buckets = [r for r in stack["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
    assert sorted(r["name"] for r in buckets) == ["data-0", "data-1"]  # bucketCount default from Pulumi.yaml
    assert all(r["outputs"]["tagsAll"] == {"Team": "search"} for r in buckets)
    assert all(r["parent"] == "urn:pulumi:dev::team-project::team:storage:Buckets::data" for r in buckets)
    assert stack["outputs"]["account"] == "123456789012"


def test_secure_config_is_never_decrypted_nor_printed():
    for args in (("--json",), ()):
        proc = run("--cwd", str(TEAM), "--stack", "dev", *args)
        assert proc.returncode == 0, proc.stderr
        assert "cXV1eA==" not in proc.stdout + proc.stderr
    doc = json.loads(run("--cwd", str(TEAM), "--stack", "dev", "--json").stdout)
    assert doc["stacks"][0]["outputs"]["password"] == "[secret]"


def test_human_output_is_a_tree_grouped_by_component_with_counts():
    proc = run("--cwd", str(TEAM), "--stack", "dev")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    component = next(i for i, line in enumerate(lines) if "team:storage:Buckets" in line)
    assert "aws:s3/bucket:Bucket" in lines[component + 1] and "│" in lines[component + 1]
    assert any(line.strip() == "2  aws:s3/bucket:Bucket" for line in lines)


def test_a_program_error_exits_2_with_one_line_and_no_traceback():
    proc = run("--cwd", str(TEAM), "--stack", "broken")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bucketCount" in proc.stderr


def test_usage_errors_exit_2():
    assert run("--cwd", str(REPO / "docs")).returncode == 2
    assert run("--stack", "no-such-stack").returncode == 2
    assert run("--no-such-flag").returncode == 2


def test_config_mistakes_in_this_repo_exit_2_naming_file_key_value(tmp_path: Path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text().replace("main: infra/", f"main: {REPO / 'infra'}/"))
    (project / "Pulumi.qa.yaml").write_text(
        "config:\n  aws:region: us-west-2\n  ml-platform:environment: qa\n  ml-platform:netwrok: {}\n"
        "  ml-platform:tags:\n    CostCenter: x\n    Owner: y\n    Project: z\n"
    )
    proc = run("--cwd", str(project), "--stack", "qa")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Pulumi.qa.yaml: ml-platform:environment = 'qa': Input should be 'dev', 'staging' or 'prod'" in proc.stderr
    assert "Pulumi.qa.yaml: ml-platform:netwrok: unknown key; did you mean 'ml-platform:network'?" in proc.stderr
