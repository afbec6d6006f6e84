"""The GitHub workflows: clean under actionlint and zizmor (offline, default persona), dev -> staging -> prod as
chained jobs, pinned actions, least-privilege permissions, timeouts, and in-VPC runners named as the program names
its CodeBuild projects."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.deploy_runner import runner_label, runner_project_name
from preflight.project import load_project
from preflight.testing import REPO

WORKFLOWS = REPO / ".github" / "workflows"
LINT_BIN = REPO / ".venv-workflow-lint" / "bin"
FILES = sorted(WORKFLOWS.glob("*.yml"))
STACKS = load_project(REPO).stacks()
PROJECT = load_project(REPO).name
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in FILES for name, job in _load(path)["jobs"].items()]


def _steps() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{f}:{j}", step) for f, j, job in _jobs() for step in job.get("steps", [])]


def _tool(name: str) -> Path:
    tool = LINT_BIN / name
    if not tool.exists():
        pytest.fail(
            f"{tool} is missing: `make install` builds .venv-workflow-lint from tools/workflow-lint-requirements.txt"
        )
    return tool


def test_workflows_pass_actionlint():
    result = subprocess.run(
        [str(_tool("actionlint")), "-no-color", *map(str, FILES)], check=False, cwd=REPO, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_workflows_have_no_zizmor_finding_at_the_default_persona():
    result = subprocess.run(
        [str(_tool("zizmor")), "--offline", "--format", "json", str(WORKFLOWS)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    findings = json.loads(result.stdout or "null")
    assert findings == [], json.dumps(findings, indent=2)[:4000]
    assert result.returncode == 0, result.stderr


def test_deploys_run_dev_then_staging_then_prod_as_chained_jobs():
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    assert list(jobs) == ["deploy-dev", "deploy-staging", "deploy-prod"]
    assert "needs" not in jobs["deploy-dev"]
    assert jobs["deploy-staging"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["needs"] == "deploy-staging"
    for stack in ("dev", "staging", "prod"):
        job = jobs[f"deploy-{stack}"]
        assert job["uses"] == "$/.github/workflows/deploy-stack.yml" and job["with"] == {"stack": stack}
    assert sorted(["dev", "staging", "prod"]) == sorted(STACKS)


def test_a_deploy_runs_in_its_stacks_github_environment_one_at_a_time_per_stack():
    (up,) = _load(WORKFLOWS / "deploy-stack.yml")["jobs"].values()
    assert up["environment"] == "${{ inputs.stack }}"
    assert up["concurrency"] == {"group": "stack-${{ inputs.stack }}", "cancel-in-progress": False}
    # The nightly drift check of a stack shares the group: it never overlaps that stack's deploy.
    assert _load(WORKFLOWS / "drift.yml")["jobs"]["check"]["concurrency"]["group"] == "stack-${{ matrix.stack }}"


def test_jobs_that_reach_a_cluster_run_on_the_stacks_in_vpc_runner():
    in_vpc = {
        ("deploy-stack.yml", "up"): "inputs.stack",
        ("preview.yml", "preview"): "matrix.stack",
        ("drift.yml", "check"): "matrix.stack",
    }
    for (file, name), variable in in_vpc.items():
        runs_on = _load(WORKFLOWS / file)["jobs"][name]["runs-on"]
        for stack in STACKS:
            assert runs_on.replace(f"${{{{ {variable} }}}}", stack) == runner_label(runner_project_name(PROJECT, stack))


def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment():
    lines = [
        line.strip().removeprefix("- ").removeprefix("uses: ")
        for path in FILES
        for line in path.read_text().splitlines()
        if re.match(r"^\s*(- )?uses: ", line) and "$/" not in line
    ]
    assert lines, "no action found: the pattern no longer matches the workflows"
    assert [line for line in lines if not PINNED.match(line)] == []


def test_every_job_has_a_timeout_and_its_own_permissions_and_workflows_grant_nothing_by_default():
    for path in FILES:
        assert _load(path)["permissions"] == {}, path.name
    for file, name, job in _jobs():
        assert "permissions" in job, f"{file}:{name}"
        # A job that calls a reusable workflow has no timeout of its own: the called jobs carry one.
        assert "timeout-minutes" in job or "uses" in job, f"{file}:{name}"
    assert all("timeout-minutes" in j for j in _load(WORKFLOWS / "deploy-stack.yml")["jobs"].values())


def test_only_deploy_drift_and_preview_jobs_may_ask_for_an_oidc_token():
    for file, name, job in _jobs():
        if job["permissions"].get("id-token") == "write":
            assert (file, name) in {
                ("deploy.yml", "deploy-dev"),
                ("deploy.yml", "deploy-staging"),
                ("deploy.yml", "deploy-prod"),
                ("deploy-stack.yml", "up"),
                ("preview.yml", "preview"),
                ("drift.yml", "check"),
                ("promote-prod.yml", "staging"),
                ("promote-prod.yml", "prod"),
            }, f"{file}:{name}"
        # No job both holds AWS credentials and may write to the repository's issues or pull requests.
        if job["permissions"].get("id-token") == "write":
            assert not {"issues", "pull-requests", "contents", "security-events"} & {
                k for k, v in job["permissions"].items() if v == "write"
            }, f"{file}:{name}"


def test_checkouts_never_keep_the_token():
    checkouts = [(where, s) for where, s in _steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert [where for where, s in checkouts if s.get("with", {}).get("persist-credentials") is not False] == []


def test_previews_run_only_for_pull_requests_from_this_repository_and_never_see_a_passphrase():
    (job,) = _load(WORKFLOWS / "preview.yml")["jobs"].values()
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert all("PULUMI_CONFIG_PASSPHRASE" not in path.read_text() for path in FILES)


def test_aws_region_comes_from_the_stack_file_never_a_literal():
    regions = [
        (where, s["with"]["aws-region"])
        for where, s in _steps()
        if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert regions and all(r == "${{ steps.stack.outputs.region }}" for _, r in regions), regions


def test_the_pulumi_cli_matches_the_pinned_sdk():
    pinned = re.search(r'"pulumi==([\d.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    versions = {s["with"]["pulumi-version"] for _, s in _steps() if s.get("uses", "").startswith("pulumi/actions@")}
    assert versions == {pinned}


def test_drift_check_runs_the_live_audit_on_the_exported_state():
    text = (WORKFLOWS / "drift.yml").read_text()
    assert 'pulumi preview --stack "$STACK" --expect-no-changes' in text
    assert '-m preflight audit --state <(pulumi stack export --stack "$STACK")' in text
    assert '--sarif "out/audit-$STACK.sarif" --markdown "out/audit-$STACK.md"' in text


def test_the_preview_role_trusts_main_in_every_stack_so_the_drift_check_can_assume_it():
    for stack in STACKS:
        github = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]["ml-platform:guardrails"][
            "github"
        ]
        assert "main" in github["previewBranches"], stack


def test_every_stack_names_its_own_secrets_provider_key():
    for stack in STACKS:
        doc = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
        assert doc["secretsprovider"].startswith(f"awskms://alias/{PROJECT}/{stack}/pulumi-secrets?region="), stack


def test_promotion_workflow_listens_for_the_dispatch_the_stacks_send_and_never_inlines_its_payload():
    from components.model_promotion import EVENT_TYPE

    doc = _load(WORKFLOWS / "promote-model.yml")
    assert doc["on"] == {"repository_dispatch": {"types": [EVENT_TYPE]}}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs and not [r for r in runs if "${{" in r]
    assert "python tools/bump_model_package.py" in runs[0]
    # Prod approvals wait for staging's bake: promote-prod.yml takes them.
    assert job["if"] == "github.event.client_payload.stack != 'prod'"


def test_prod_promotion_checks_the_bake_with_read_only_roles_and_opens_pull_requests_without_aws_credentials():
    from components.model_promotion import EVENT_TYPE

    doc = _load(WORKFLOWS / "promote-prod.yml")
    assert set(doc["on"]) == {"schedule", "repository_dispatch", "workflow_dispatch"}
    assert doc["on"]["repository_dispatch"] == {"types": [EVENT_TYPE]}
    jobs = doc["jobs"]
    assert "github.event.client_payload.stack == 'prod'" in jobs["staging"]["if"]
    assert (jobs["prod"]["needs"], jobs["pull-request"]["needs"]) == ("staging", "prod")
    text = (WORKFLOWS / "promote-prod.yml").read_text()
    assert (
        "fromJSON(vars.AWS_PREVIEW_ROLE_ARNS).staging" in text and "fromJSON(vars.AWS_PREVIEW_ROLE_ARNS).prod" in text
    )
    assert "AWS_DEPLOY_ROLE" not in text, "the bake check only reads"
    runs = {name: "\n".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert "-m tools.promote_after_bake baked --state out/staging-state.json" in runs["staging"]
    assert "-m tools.promote_after_bake candidates --baked out/baked.json" in runs["prod"]
    assert "tools/bump_model_package.py --stack prod" in runs["pull-request"]
    assert "id-token" not in jobs["pull-request"]["permissions"]
    assert not [r for r in runs.values() if "${{" in r]


def test_promotion_jobs_install_only_hash_pinned_wheels_at_the_locked_version():
    installs = [
        line
        for path in (WORKFLOWS / "promote-model.yml", WORKFLOWS / "promote-prod.yml")
        for line in path.read_text().splitlines()
        if "pip install" in line
    ]
    assert len(installs) == 2
    assert all(
        "--require-hashes -r tools/promotion-requirements.txt" in i and "--only-binary :all:" in i for i in installs
    )
    requirements = (REPO / "tools" / "promotion-requirements.txt").read_text()
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+)==([^ \\]+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", requirements, flags=re.MULTILINE
    )
    assert pins == [("pyyaml", "6.0.3")]
    locked = re.search(r"^PyYAML==(\S+)$", (REPO / "requirements.lock").read_text(), flags=re.MULTILINE)
    assert locked and locked.group(1) == pins[0][1], "the promotion jobs run the tools with the locked PyYAML"
