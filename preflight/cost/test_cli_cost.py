"""Cost in `python -m preflight` as a user runs it: on by default, `--no-cost`, usage files, `--compare`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from preflight.testing import REPO

TEAM = REPO / "tests" / "fixtures" / "team_project"


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args], check=False, capture_output=True, text=True, cwd=cwd, timeout=300
    )


def team(tmp_path: Path) -> Path:
    project = tmp_path / "team"
    shutil.copytree(TEAM, project)
    return project


def test_cost_is_in_the_json_by_default_and_left_out_with_no_cost():
    (stack,) = json.loads(run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners").stdout)["stacks"]
    cost = stack["cost"]
    assert cost["usageFile"] is None and cost["regions"] == ["eu-west-1"]
    by_name = {r["name"]: r for r in cost["resources"]}
    assert by_name["data-0"]["status"] == "priced" and by_name["data-0"]["monthlyUsd"]["max"] == 0
    # An SSM parameter has no pricing rule: listed, never counted as $0.
    assert [(p["type"], p["reason"]) for p in cost["notPriced"]] == [
        ("aws:ssm/parameter:Parameter", "no pricing rule for this resource type")
    ]
    (stack,) = json.loads(run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners", "--no-cost").stdout)[
        "stacks"
    ]
    assert "cost" not in stack


def test_human_output_has_the_cost_table_and_what_is_not_priced():
    out = run("--cwd", str(TEAM), "--stack", "dev", "--no-scanners").stdout
    assert "Monthly cost (USD, on-demand prices of 2025-05, eu-west-1; no usage file" in out
    assert "not priced: db-password (aws:ssm/parameter:Parameter): no pricing rule for this resource type" in out


def test_compare_shows_the_monthly_delta_of_a_change(tmp_path: Path):
    project = team(tmp_path)
    base = tmp_path / "base.json"
    base.write_text(run("--cwd", str(project), "--stack", "dev", "--json", "--no-scanners").stdout)
    (project / "usage").mkdir()
    (project / "usage" / "dev.yaml").write_text("buckets:\n  data-0: {standardGb: 100}\n")
    summary = tmp_path / "summary.md"
    proc = run(
        "--cwd", str(project), "--stack", "dev", "--no-scanners", "--compare", str(base), "--markdown", str(summary)
    )
    # 100 GB x $0.023 in S3 Standard, stored data: it counts idle too.
    assert "Cost change against" in proc.stdout and "idle +$2.30, expected +$2.30, max +$2.30" in proc.stdout
    assert "changed  data-0 (aws:s3/bucket:Bucket): idle +$2.30, expected +$2.30, max +$2.30" in proc.stdout
    assert "| changed | `data-0` (aws:s3/bucket:Bucket) | +$2.30 | +$2.30 | +$2.30 |" in summary.read_text()


def test_fails_when_the_usage_file_is_wrong_with_one_line_and_exit_2(tmp_path: Path):
    project = team(tmp_path)
    (project / "usage").mkdir()
    (project / "usage" / "dev.yaml").write_text("buckets:\n  data-9: {standardGb: 1}\n")
    proc = run("--cwd", str(project), "--stack", "dev", "--no-scanners")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        "usage/dev.yaml: buckets.data-9: no aws:s3/bucket:Bucket or aws:s3/bucketV2:BucketV2 named 'data-9' in "
        "stack dev (have: data-0, data-1)"
    ) in " ".join(proc.stderr.split())


def test_fails_when_the_compare_base_is_not_a_preflight_document(tmp_path: Path):
    base = tmp_path / "base.json"
    base.write_text("[]")
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--no-scanners", "--compare", str(base))
    assert proc.returncode == 2
    assert f"{base}: stacks: missing; give a `python -m preflight --json` document" in " ".join(proc.stderr.split())
    assert run("--cwd", str(TEAM), "--no-cost", "--compare", str(base)).returncode == 2


def test_refresh_prices_is_a_subcommand():
    proc = run("refresh-prices", "--help")
    assert proc.returncode == 0 and "Price List API" in proc.stdout
