"""A program that fails gets one line naming its own file and line, nothing else on stderr, and the failure still
reaches the SARIF and Markdown reports."""

import json
import subprocess
import sys

import pytest

from preflight.engine import ProgramError, RunOptions, run_stack
from preflight.project import load_project
from preflight.testing import REPO

FAILING = REPO / "tests" / "fixtures" / "failing"


def _line_of(text: str) -> int:
    lines = (FAILING / "__main__.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def _preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", "--cwd", str(FAILING), "--no-scanners", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_an_error_raised_inside_the_sdk_names_the_programs_own_line():
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(FAILING), "library")
    (line,) = info.value.lines
    assert line == (
        "the program failed: TypeError: Expected opts2 to be a ResourceOptions instance "
        f"at __main__.py:{_line_of('opts={')}"
    )


def test_futures_a_failed_program_leaves_behind_print_no_tracebacks(capfd):
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(FAILING), "flood")
    assert info.value.lines == [
        f"the program failed: RuntimeError: the data buckets cannot be tagged at __main__.py:{_line_of('cannot be tagged')}"
    ]
    assert "never retrieved" not in capfd.readouterr().err
    assert "50 more failure(s) that followed from it" in info.value.detail  # kept for --debug


def test_a_hanging_program_is_stopped_at_the_timeout_with_one_line():
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(FAILING), "hang", options=RunOptions(timeout=1))
    assert info.value.lines == [
        f"the program did not finish within 1 s (--timeout); stopped at __main__.py:{_line_of('time.sleep')}"
    ]


def test_sarif_and_markdown_are_written_on_exit_2_with_the_error_as_a_finding(tmp_path):
    proc = _preflight(
        "--stack", "hang", "--timeout", "1", "--sarif", str(tmp_path / "p.sarif"), "--markdown", str(tmp_path / "p.md")
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[1].strip().startswith("the program did not finish within 1 s (--timeout)")
    (result,) = json.loads((tmp_path / "p.sarif").read_text())["runs"][0]["results"]
    assert result["ruleId"] == "program-error" and result["level"] == "error"
    assert "did not finish within 1 s" in result["message"]["text"]
    markdown = (tmp_path / "p.md").read_text()
    assert "## failing/hang: 1 mandatory finding blocks this change" in markdown
    assert "`program-error`" in markdown


def test_fails_when_timeout_is_not_a_positive_number():
    proc = _preflight("--timeout", "0")
    assert proc.returncode == 2
    assert "--timeout: '0': expected a positive number of seconds, e.g. 600" in proc.stderr
