"""`python -m preflight` as a user runs it: on a project it has never seen, with JSON, and with errors."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.testing import REPO

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

TEAM = REPO / "tests" / "fixtures" / "team_project"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args], check=False, capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_runs_a_third_party_project_and_prints_the_documented_json():
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners")
    # Its buckets are unencrypted and untagged: the guardrail pack's defaults make that mandatory.
    assert proc.returncode == 1, proc.stderr
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
        proc = run("--cwd", str(TEAM), "--stack", "dev", "--no-scanners", *args)
        assert proc.returncode == 1, proc.stderr
        assert "cXV1eA==" not in proc.stdout + proc.stderr
    doc = json.loads(run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners").stdout)
    assert doc["stacks"][0]["outputs"]["password"] == "[secret]"


def test_human_output_is_a_tree_grouped_by_component_with_counts():
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--no-scanners")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    component = next(i for i, line in enumerate(lines) if "team:storage:Buckets" in line)
    assert "aws:s3/bucket:Bucket" in lines[component + 1] and "│" in lines[component + 1]
    assert any(line.strip() == "2  aws:s3/bucket:Bucket" for line in lines)


def test_a_program_error_exits_2_with_one_line_and_no_traceback():
    proc = run("--cwd", str(TEAM), "--stack", "broken", "--no-scanners")
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
    (project / "Pulumi.yaml").write_text(
        (REPO / "Pulumi.yaml")
        .read_text()
        .replace("main: infra/", f"main: {REPO / 'infra'}/")
        .replace("virtualenv: .venv", f"virtualenv: {REPO / '.venv'}")
    )
    (project / "Pulumi.qa.yaml").write_text(
        "config:\n  aws:region: us-west-2\n  ml-platform:environment: qa\n  ml-platform:netwrok: {}\n"
        "  ml-platform:tags:\n    CostCenter: x\n    Owner: y\n    Project: z\n"
    )
    proc = run("--cwd", str(project), "--stack", "qa", "--no-scanners")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Pulumi.qa.yaml: ml-platform:environment = 'qa': Input should be 'dev', 'staging' or 'prod'" in proc.stderr
    assert "Pulumi.qa.yaml: ml-platform:netwrok: unknown key; did you mean 'ml-platform:network'?" in proc.stderr


# ---- policy packs and scanners -----------------------------------------------------------------------------------

MISCONFIGURED = REPO / "tests" / "fixtures" / "misconfigured"
FIELDS = ["source", "policy", "category", "enforcement", "severity", "urn", "name", "message", "remediation"]

PROBE_PACK = """
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

PACK_NAME = "{name}"
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY


def _check(args, report):
    if args.resource_type == "aws:s3/bucket:Bucket":
        report("seen by {name}")


def build_policies():
    return [ResourceValidationPolicy(name="{name}-buckets", description="Reports every bucket.", validate=_check,
                                     severity=Severity.LOW, tags=["cost"], remediation_steps="nothing to do")]
"""


def probe_pack(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (directory / "pack.py").write_text(PROBE_PACK.format(name=name))
    return directory


def violations(proc: subprocess.CompletedProcess) -> list[dict]:
    (stack,) = json.loads(proc.stdout)["stacks"]
    return stack["violations"]


def test_default_pack_is_the_repos_with_the_stack_config_here_and_defaults_elsewhere(tmp_path: Path):
    from preflight.cli import DEFAULT_PACK, PackRun, policy_runs
    from preflight.project import load_project

    assert policy_runs(load_project(REPO), "dev", [], []) == (
        [PackRun(DEFAULT_PACK, DEFAULT_PACK / "config" / "dev.json")],
        [],
    )
    (runs, notes) = policy_runs(load_project(REPO), "qa", [], [])
    assert runs == [PackRun(DEFAULT_PACK, None)]
    assert notes == [
        "no policies/config/qa.json for stack qa: the policy pack's defaults apply (every rule at its default enforcement level)"
    ]
    # A project without a pack of its own: the guardrail pack, with its defaults (not our stacks' budgets).
    assert policy_runs(load_project(TEAM), "dev", [], []) == ([PackRun(DEFAULT_PACK, None)], [])
    # A project with its own pack: that one, and its config for the stack when there is one.
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (project / "__main__.py").write_text("")
    own = probe_pack(project / "policies", "own")
    assert policy_runs(load_project(project), "dev", [], []) == (
        [PackRun(own, None)],
        [
            "no policies/config/dev.json for stack dev: the policy pack's defaults apply (every rule at its default enforcement level)"
        ],
    )
    (own / "config").mkdir()
    (own / "config" / "dev.json").write_text("{}")
    assert policy_runs(load_project(project), "dev", [], []) == ([PackRun(own, own / "config" / "dev.json")], [])


def test_a_project_with_its_own_pack_is_judged_by_it(tmp_path: Path):
    project = tmp_path / "team"
    shutil.copytree(TEAM, project)
    probe_pack(project / "policies", "team-rules")
    proc = run("--cwd", str(project), "--stack", "dev", "--json", "--no-scanners")
    assert proc.returncode == 1, proc.stderr
    assert sorted((v["policy"], v["name"], v["message"]) for v in violations(proc)) == [
        ("team-rules-buckets", "data-0", "seen by team-rules"),
        ("team-rules-buckets", "data-1", "seen by team-rules"),
    ]


def test_policy_pack_configs_pair_with_packs_by_position(tmp_path: Path):
    a, b = probe_pack(tmp_path / "a", "alpha"), probe_pack(tmp_path / "b", "beta")
    (tmp_path / "a.json").write_text('{"alpha-buckets": "advisory"}')
    (tmp_path / "b.json").write_text('{"beta-buckets": "disabled"}')
    packs = ("--policy-pack", str(a), "--policy-pack", str(b))
    proc = run(
        "--cwd",
        str(TEAM),
        "--stack",
        "dev",
        "--json",
        "--no-scanners",
        *packs,
        "--policy-pack-config",
        str(tmp_path / "a.json"),
        "--policy-pack-config",
        str(tmp_path / "b.json"),
    )
    assert proc.returncode == 0, proc.stderr  # alpha's findings are advisory, beta's rule is off
    assert sorted((v["policy"], v["enforcement"]) for v in violations(proc)) == [("alpha-buckets", "advisory")] * 2

    swapped = run(
        "--cwd",
        str(TEAM),
        "--stack",
        "dev",
        "--no-scanners",
        *packs,
        "--policy-pack-config",
        str(tmp_path / "b.json"),
        "--policy-pack-config",
        str(tmp_path / "a.json"),
    )
    assert swapped.returncode == 2
    assert swapped.stderr.splitlines() == [
        f"error: {tmp_path / 'b.json'}: beta-buckets: no policy of that name in pack alpha (policies: alpha-buckets)",
        f"error: {tmp_path / 'a.json'}: alpha-buckets: no policy of that name in pack beta (policies: beta-buckets)",
    ]

    without = run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners", *packs)
    assert without.returncode == 1
    assert sorted((v["policy"], v["enforcement"]) for v in violations(without)) == (
        [("alpha-buckets", "mandatory")] * 2 + [("beta-buckets", "mandatory")] * 2
    )


def test_fails_when_configs_and_packs_do_not_pair_up(tmp_path: Path):
    (tmp_path / "a.json").write_text("{}")
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--policy-pack-config", str(tmp_path / "a.json"))
    assert proc.returncode == 2
    expected = (
        "error: --policy-pack-config was given 1 time(s) and --policy-pack 0: each config file goes with the "
        "--policy-pack at the same position, so give one per pack (or none)"
    )
    assert proc.stderr.splitlines() == [expected]


def test_a_bad_policy_config_is_one_line_and_exit_2(tmp_path: Path):
    config = tmp_path / "dev.json"
    for text, problem in (
        (
            '{"nat-gateway-caps": {"maxNatGateways": 2}}',
            "nat-gateway-caps: no policy of that name in pack ml-platform-guardrails; did you mean 'nat-gateway-cap'?",
        ),
        (
            '{"nat-gateway-cap": {"maxNatGateways": "two"}}',
            'nat-gateway-cap.maxNatGateways = "two": must be an integer',
        ),
        ('{"nat-gateway-cap": ', "not valid JSON: Expecting value at line 1 column 21"),
    ):
        config.write_text(text)
        proc = run(
            "--cwd", str(TEAM), "--stack", "dev", "--policy-pack", "policies", "--policy-pack-config", str(config)
        )
        assert proc.returncode == 2
        assert proc.stderr.splitlines() == [f"error: {config}: {problem}"]
    missing = run("--cwd", str(TEAM), "--policy-pack", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        f"error: {tmp_path}: no PulumiPolicy.yaml here; pass the policy pack's directory"
    ]


def test_a_misconfigured_program_exits_1_with_one_line_per_problem_under_its_resource():
    from preflight.engine import run_stack
    from preflight.policy import evaluate
    from preflight.project import load_project

    expected = evaluate(run_stack(load_project(MISCONFIGURED), "dev"), REPO / "policies")
    proc = run("--cwd", str(MISCONFIGURED), "--no-scanners")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    findings = [line.split("✗ ", 1)[1] for line in lines if "✗ " in line]
    assert sorted(findings) == sorted(f"{v.enforcement} [{v.source}] {v.policy}: {v.message}" for v in expected)
    # Each finding sits right under its resource (or under other findings of it); stack-wide ones after the tree.
    cluster = next(i for i, line in enumerate(lines) if "aws:eks/cluster:Cluster" in line)
    assert [line.split("] ", 1)[1].split(":")[0] for line in lines[cluster + 1 : cluster + 6]] == [
        "eks-control-plane-audit-logs",
        "eks-endpoint-not-public",
        "eks-no-creator-admin",
        "eks-secrets-encryption",
        "eks-supported-version",
    ]
    stack_wide = lines.index("Stack findings:")
    assert [line.split("] ", 1)[1].split(":")[0] for line in lines[stack_wide + 1 : stack_wide + 6]] == [
        "gpu-capacity-single-owner",
        "gpu-total-cap",
        "monthly-cost-budget",
        "monthly-cost-budget",
        "nat-gateway-cap",
    ]
    assert "Findings: 56 mandatory, 0 advisory (56 policy-pack)" in lines


def test_this_repos_stack_is_judged_with_its_own_policy_config():
    from preflight.policy import evaluate
    from preflight.testing import render_stack

    proc = run("--stack", "dev", "--json", "--no-scanners")
    # The pack's findings; preflight's own (Helm releases it does not expand) are not the pack's.
    pack = [{k: v[k] for k in FIELDS} for v in violations(proc) if v["source"] != "preflight"]
    expected = evaluate(render_stack("dev"), REPO / "policies", REPO / "policies" / "config" / "dev.json")
    assert pack == [{k: getattr(v, k) for k in FIELDS} for v in expected]
    assert proc.returncode == (1 if any(v.enforcement == "mandatory" for v in expected) else 0)


def test_scanners_run_by_default_and_every_finding_goes_to_json_sarif_and_markdown(tmp_path: Path):
    proc = run(
        "--cwd",
        str(TEAM),
        "--stack",
        "dev",
        "--json",
        "--sarif",
        str(tmp_path / "out.sarif"),
        "--markdown",
        str(tmp_path / "out.md"),
    )
    assert proc.returncode == 1, proc.stderr
    found = violations(proc)
    assert all(list(v) == FIELDS for v in found)
    assert {v["source"] for v in found} == {"policy-pack", "checkov"}
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == len(found)
    mandatory = sum(v["enforcement"] == "mandatory" for v in found)
    assert f"| team-project/dev | {mandatory} | {len(found) - mandatory} | 3 |" in (tmp_path / "out.md").read_text()

    quiet = run("--cwd", str(TEAM), "--stack", "dev", "--json", "--no-scanners")
    assert {v["source"] for v in violations(quiet)} == {"policy-pack"}


def test_a_pack_that_does_not_load_is_one_line_and_exit_2(tmp_path: Path):
    pack = probe_pack(tmp_path / "broken", "broken")
    (pack / "pack.py").write_text("import no_such_module_here\n")
    proc = run("--cwd", str(TEAM), "--stack", "dev", "--policy-pack", str(pack))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {pack}: the policy pack did not load: ModuleNotFoundError: No module named 'no_such_module_here'"
    ]


def test_a_repeated_stack_file_key_exits_2_naming_file_and_lines(tmp_path: Path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  p:a: 1\n  p:a: 2\n")
    proc = run("--cwd", str(tmp_path), "--stack", "dev", "--no-scanners")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Pulumi.dev.yaml:3:3: not valid YAML: duplicate key 'p:a' at line 3 (first at line 2)" in proc.stderr
