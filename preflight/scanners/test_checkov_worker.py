"""The checkov worker reports exactly what the checkov command reports, on the same inputs, job after job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from preflight.scanners import checkov, load_config
from preflight.scanners.conftest import scanner_program
from preflight.testing import REPO, render, render_stack

pytestmark = pytest.mark.skipif(
    not (REPO / checkov.VENV_NAME).exists(), reason=f"{checkov.VENV_NAME} is not built (`make install` builds it)"
)


def outcomes(reports: list[dict]) -> set[tuple[str, str, str, str]]:
    """(framework, check, resource or file, passed/failed) for every check result in the reports."""
    out = set()
    for report in reports:
        for state in ("passed_checks", "failed_checks"):
            for check in report["results"].get(state) or []:
                where = check.get("resource_address") or check.get("resource") or Path(check.get("file_path", "")).name
                out.add((report.get("check_type", ""), check["check_id"], where, state))
    return out


@pytest.mark.slow
def test_worker_reports_what_the_checkov_command_reports(tmp_path):
    exe = checkov.locate(REPO)
    stacks = {"fixture": render(scanner_program), "dev": render_stack("dev")}
    for name, result in stacks.items():
        command_dir, worker_dir = tmp_path / name / "command", tmp_path / name / "worker"
        command_dir.mkdir(parents=True)
        plan_file, k8s_dir = checkov.write_inputs(checkov._prepare(result), command_dir)
        shutil.copytree(command_dir, worker_dir, dirs_exist_ok=True)
        cmd = checkov.command(exe, plan_file, k8s_dir)
        by_command = outcomes(checkov.run_checkov(cmd, command_dir))
        # The worker is given the same arguments, relative to its own copy of the inputs.
        relative = [str(Path(a).relative_to(command_dir)) if a.startswith(str(command_dir)) else a for a in cmd]
        by_worker = outcomes(checkov.Running(relative, worker_dir).reports())
        assert by_command, f"{name}: checkov reported nothing to compare"
        assert by_worker == by_command, name


def test_worker_failure_is_reported_not_taken_for_a_clean_scan(tmp_path):
    exe = checkov.locate(REPO)
    running = checkov.Running([str(exe), "--framework", "no-such-framework"], tmp_path)
    with pytest.raises(checkov.CheckovFailed, match="checkov exited with 2"):
        running.reports()


def test_unreadable_plan_is_a_failed_scan_not_a_clean_one(tmp_path):
    result = render(scanner_program)
    inputs = checkov._prepare(result)
    (tmp_path / "plan.json").write_text("not a plan")
    running = checkov.Running(checkov.command(checkov.locate(REPO), tmp_path / "plan.json", None), tmp_path)
    pending = checkov.PendingScan(result, load_config(), inputs, running)
    with pytest.raises(
        checkov.CheckovFailed, match=r"reported on none of the resources it was given \(\d+ terraform_plan"
    ):
        pending.violations()


def test_a_scan_after_an_unreadable_plan_still_reads_its_own(tmp_path):
    # checkov's runners keep what they parsed; the worker gives every job new ones.
    result = render(scanner_program)
    inputs = checkov._prepare(result)
    exe = checkov.locate(REPO)
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    (bad / "plan.json").write_text("not a plan")
    good.mkdir()
    plan_file, _ = checkov.write_inputs(inputs, good)
    checkov.Running(checkov.command(exe, bad / "plan.json", None), bad).reports()
    reports = checkov.Running(checkov.command(exe, plan_file, None), good).reports()
    assert outcomes(reports), "the second scan reported nothing: it saw the first scan's (empty) definitions"
