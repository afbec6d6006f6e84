"""checkov's AWS and Kubernetes checks on a Pulumi stack: one checkov scan per stack, findings mapped to URNs.

checkov pins libraries that Pulumi also pins, at other versions, so it runs from its own virtualenv
(`.venv-checkov`, built by `make install` from `tools/checkov-requirements.txt`) as a subprocess. Its startup
costs seconds, so one worker process serves a whole preflight run (`checkov_worker.py`), and a stack is scanned
in ONE job: the AWS resources as one Terraform plan file, the Kubernetes resources as one directory of
manifests, with the same arguments and the same report as the checkov command.

Offline by construction: checkov would otherwise download check metadata and look for a newer release, and
the proxy variables point at a closed local port, so any request it still tries fails at once instead of
leaving the machine.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from preflight.model import StackResult, Violation
from preflight.scanners.config import ScannerConfig
from preflight.scanners.k8s import manifests as k8s_manifests
from preflight.scanners.tfplan import TfPlan, build_plan

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_NAME = ".venv-checkov"
REQUIREMENTS = Path("tools") / "checkov-requirements.txt"
TIMEOUT_SECONDS = 600

_OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
    # Values unknown until apply (or secret) are left out of the plan; this tells checkov they will be set.
    "EVAL_TF_PLAN_AFTER_UNKNOWN": "TRUE",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
    "LOG_LEVEL": "ERROR",
    "PYTHONWARNINGS": "ignore",
}


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's safe dumper when PyYAML was built with it: the same text as the pure-Python one, forty times faster."""


class CheckovUnavailable(RuntimeError):
    """checkov is not installed where preflight expects it, or is not the pinned version."""


class CheckovFailed(RuntimeError):
    """checkov ran but did not produce a report."""


def pinned_version(root: Path = REPO_ROOT) -> str | None:
    path = root / REQUIREMENTS
    if not path.exists():
        return None
    match = re.search(r"^checkov==(\S+)\s*$", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def locate(root: Path = REPO_ROOT) -> Path:
    """The checkov executable in the repository's own checkov virtualenv, at the pinned version."""
    venv = root / VENV_NAME
    exe = venv / "bin" / "checkov"
    if not exe.exists():
        raise CheckovUnavailable(
            f"checkov is not installed: {exe} does not exist. Run `make install` (it builds {VENV_NAME} from "
            f"{REQUIREMENTS}), or pass --no-scanners to skip the scanners."
        )
    pinned = pinned_version(root)
    installed = sorted(
        p.name[len("checkov-") : -len(".dist-info")] for p in venv.glob("lib/python*/site-packages/checkov-*.dist-info")
    )
    if pinned and installed and pinned not in installed:
        raise CheckovUnavailable(
            f"{VENV_NAME} has checkov {', '.join(installed)} but {REQUIREMENTS} pins {pinned}; run `make install`."
        )
    return exe


# Keywords in a check's title, most specific first: the four categories preflight reports.
_CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("encryption", ("encrypt", "kms", "cmk", "tls", "ssl", "https", "in transit", "at rest", "key rotation", "cipher")),
    (
        "cost",
        (
            "budget",
            "cost",
            "lifecycle configuration",
            "lifecycle polic",
            "intelligent-tiering",
            "requests are limited",
            "resource quota",
            "limitrange",
        ),
    ),
    (
        "reliability",
        (
            "backup",
            "versioning",
            "replication",
            "deletion protection",
            "multi-az",
            "multi az",
            "logging",
            "logs",
            "log group",
            "retain",
            "retention",
            "monitoring",
            "point in time",
            "recovery",
            "termination protection",
            "health",
            "liveness",
            "readiness",
            "probe",
            "auto scaling",
            "autoscaling",
            "flow log",
            "tracing",
            "notification",
            "limits should be set",
            "requests should be set",
            "replicas",
            "alarm",
        ),
    ),
)


def infer_category(check_id: str, check_name: str) -> str:
    """encryption | access | cost | reliability, from the check's title; access when nothing else fits."""
    text = check_name.lower()
    for category, words in _CATEGORY_WORDS:
        if any(w in text for w in words):
            return category
    return "access"


@dataclass
class _Inputs:
    plan: TfPlan
    manifests: dict[str, dict[str, Any]]
    """File name -> manifest."""
    files: dict[str, str]
    """Manifest file name -> URN."""


def _prepare(result: StackResult) -> _Inputs:
    plan = build_plan(result)
    manifests: dict[str, dict[str, Any]] = {}
    files: dict[str, str] = {}
    for urn, manifest in k8s_manifests(result).items():
        # Named by the URN's digest: stable across runs, unique, and safe as a file name.
        name = f"{hashlib.sha256(urn.encode()).hexdigest()[:16]}.yaml"
        manifests[name] = manifest
        files[name] = urn
    return _Inputs(plan, manifests, files)


def command(exe: Path, plan_file: Path | None, k8s_dir: Path | None) -> list[str]:
    frameworks = (["terraform_plan"] if plan_file else []) + (["kubernetes"] if k8s_dir else [])
    cmd = [str(exe), "--quiet", "--compact", "-o", "json", "--skip-download", "--framework", *frameworks]
    if plan_file:
        cmd += ["-f", str(plan_file)]
    if k8s_dir:
        cmd += ["-d", str(k8s_dir)]
    return cmd


def write_inputs(inputs: _Inputs, workdir: Path) -> tuple[Path | None, Path | None]:
    plan_file = None
    if inputs.plan.document["planned_values"]["root_module"]["resources"]:
        plan_file = workdir / "plan.json"
        plan_file.write_text(json.dumps(inputs.plan.document, indent=1, default=str))
    k8s_dir = None
    if inputs.manifests:
        k8s_dir = workdir / "k8s"
        k8s_dir.mkdir(exist_ok=True)
        for name, manifest in inputs.manifests.items():
            (k8s_dir / name).write_text(yaml.dump(manifest, Dumper=_DUMPER, sort_keys=False))
    return plan_file, k8s_dir


class Worker:
    """One checkov process for a whole preflight run (`checkov_worker.py` in checkov's virtualenv): every
    stack's scan is a job for it, so checkov's start-up is paid once, not once per stack. Jobs run one at a
    time, in the order they were given, while preflight renders the next stack."""

    def __init__(self, exe: Path):
        python = exe.parent / "python"
        # -P: the worker's own folder stays off sys.path, or `import checkov` would find this module.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the worker
        self._proc = subprocess.Popen(
            [str(python), "-P", str(Path(__file__).with_name("checkov_worker.py"))],
            env={**os.environ, **_OFFLINE_ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._next_id = 0
        self._done: dict[int, int] = {}
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def submit(self, argv: list[str], cwd: Path) -> int:
        """Queue a checkov run with these command-line arguments (after the executable) in `cwd`."""
        with self._lock:
            job = self._next_id
            self._next_id += 1
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"id": job, "argv": argv, "cwd": str(cwd)}) + "\n")
            self._proc.stdin.flush()
            return job

    def wait(self, job: int, timeout: float) -> int:
        """The exit code of job `job`, once it has run (jobs before it finish first)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            assert self._proc.stdout is not None
            while job not in self._done:
                remaining = deadline - time.monotonic()
                ready, _, _ = select.select([self._proc.stdout], [], [], max(remaining, 0))
                if not ready:
                    self.close(kill=True)
                    raise CheckovFailed(f"checkov did not finish within {timeout:.0f} s")
                line = self._proc.stdout.readline()
                if not line:
                    code = self._proc.wait()
                    self._stderr.seek(0)
                    tail = " | ".join(self._stderr.read().strip().splitlines()[-3:])
                    raise CheckovFailed(f"the checkov worker exited with {code} before finishing its scans: {tail}")
                answer = json.loads(line)
                self._done[answer["id"]] = answer["code"]
            return self._done.pop(job)

    def close(self, kill: bool = False) -> None:
        if self._proc.poll() is None:
            if kill:
                self._proc.kill()
            elif self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()


_workers: dict[Path, Worker] = {}
_workers_lock = threading.Lock()


def worker(exe: Path) -> Worker:
    """The run's checkov worker for this checkov installation, started on first use, ended at exit."""
    with _workers_lock:
        current = _workers.get(exe)
        if current is None or not current.alive():
            if not _workers:
                atexit.register(close_workers)
            current = _workers[exe] = Worker(exe)
        return current


def close_workers() -> None:
    with _workers_lock:
        for w in _workers.values():
            w.close()
        _workers.clear()


class Running:
    """A checkov scan in progress on the run's worker: submitted without waiting, so preflight can render the
    next stack meanwhile. Its report goes to a file, not a pipe, as the checkov command's would."""

    def __init__(self, cmd: list[str], cwd: Path, cleanup: tempfile.TemporaryDirectory[str] | None = None):
        self._cleanup = cleanup
        self._cwd = cwd
        self._worker = worker(Path(cmd[0]))
        self._job = self._worker.submit(cmd[1:], cwd)

    def reports(self) -> list[dict[str, Any]]:
        """Wait for the scan; its reports (one per framework that found something)."""
        try:
            returncode = self._worker.wait(self._job, TIMEOUT_SECONDS)
            return parse_output(
                returncode,
                (self._cwd / "checkov-report.json").read_text(),
                (self._cwd / "checkov-stderr.txt").read_text(),
            )
        finally:
            if self._cleanup is not None:
                self._cleanup.cleanup()


def parse_output(returncode: int, stdout: str, stderr: str) -> list[dict[str, Any]]:
    if returncode not in (0, 1):  # 1: checks failed; anything else: checkov itself failed
        tail = "\n".join((stderr or stdout).strip().splitlines()[-5:])
        raise CheckovFailed(f"checkov exited with {returncode}: {tail}")
    text = stdout.strip()
    if not text:
        raise CheckovFailed(f"checkov printed no report; stderr: {stderr.strip()[-500:]}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise CheckovFailed(f"checkov's report is not JSON: {text[:200]!r}") from None
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict) and "results" in r]


def run_checkov(cmd: list[str], cwd: Path) -> list[dict[str, Any]]:
    """Run the checkov command once, as its own process, and wait for its reports."""
    proc = subprocess.run(
        cmd,
        check=False,
        cwd=cwd,
        env={**os.environ, **_OFFLINE_ENV},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    return parse_output(proc.returncode, proc.stdout, proc.stderr)


def _failed(reports: Iterable[dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
    for report in reports:
        for check in report["results"].get("failed_checks") or []:
            yield report.get("check_type", ""), check


def to_violations(
    reports: list[dict[str, Any]], inputs: _Inputs, result: StackResult, config: ScannerConfig
) -> list[Violation]:
    by_urn = result.by_urn()
    seen: set[tuple[str, str]] = set()
    out: list[Violation] = []
    # checkov hands its frameworks' reports back in the order they finish: the failed checks are read, and the
    # findings returned, in an order of their own, so the same scan always gives the same list.
    for check_type, check in sorted(_failed(reports), key=lambda item: (item[0], json.dumps(item[1], sort_keys=True))):
        if check_type == "terraform_plan":
            urn = inputs.plan.addresses.get(check.get("resource_address") or check.get("resource") or "")
        elif check_type == "kubernetes":
            urn = inputs.files.get(Path(check.get("file_path") or "").name)
        else:
            urn = None
        if urn is None:
            continue  # not one of ours (checkov found a provider block or a file it was not given)
        check_id = check["check_id"]
        record = by_urn.get(urn)
        if (check_id, urn) in seen or config.skip_for(check_id, record):
            continue
        seen.add((check_id, urn))
        policy = config.policy(check_id)
        name = check.get("check_name") or check_id
        keys = [k for k in (check.get("check_result") or {}).get("evaluated_keys") or [] if k != "resource_type"]
        where = f" (checkov looked at: {', '.join(sorted(keys)[:6])})" if keys else ""
        out.append(
            Violation(
                source="checkov",
                policy=check_id,
                category=policy.category or infer_category(check_id, name),
                enforcement=policy.enforcement,
                severity=policy.severity or ("high" if policy.enforcement == "mandatory" else "medium"),
                urn=urn,
                name=record.name if record else None,
                message=f"{name}{where}",
                remediation=check.get("guideline") or "",
            )
        )
    return sorted(out, key=lambda v: (v.policy, v.urn))


class PendingScan:
    """checkov's findings for one stack, once its run finishes."""

    def __init__(self, result: StackResult, config: ScannerConfig, inputs: _Inputs, running: Running | None):
        self._result, self._config, self._inputs, self._running = result, config, inputs, running

    def violations(self) -> list[Violation]:
        if self._running is None:
            return []
        reports = self._running.reports()
        given = {"terraform_plan": len(self._inputs.plan.addresses), "kubernetes": len(self._inputs.manifests)}
        reported = {r.get("check_type") for r in reports}
        # checkov answers input it cannot read with an empty summary and exit 0: that is no scan, not a clean one.
        missing = [f"{count} {framework}" for framework, count in given.items() if count and framework not in reported]
        if missing:
            raise CheckovFailed(
                f"checkov reported on none of the resources it was given ({', '.join(missing)}): no check ran on them"
            )
        return to_violations(reports, self._inputs, self._result, self._config)

    def with_unscanned(self, result: StackResult) -> StackResult:
        """`result` with the types checkov cannot scan (no Terraform mapping) counted, and a warning for each."""
        unmapped = self._inputs.plan.unmapped
        notes = [
            f"checkov: {count} resource(s) of type {type_} not scanned (no Terraform mapping in preflight/scanners/tfplan.py)"
            for type_, count in sorted(unmapped.items())
        ]
        return replace(result.with_warnings(notes), unmapped_types={**result.unmapped_types, **unmapped})


def start(
    result: StackResult, config: ScannerConfig, *, root: Path = REPO_ROOT, keep_dir: Path | None = None
) -> PendingScan:
    """Start checkov on one stack and return at once. `keep_dir`: write the plan and manifests there instead
    of a temporary directory (for debugging)."""
    inputs = _prepare(result)
    if not inputs.plan.addresses and not inputs.manifests:
        return PendingScan(result, config, inputs, None)
    exe = locate(root)
    cleanup = None
    if keep_dir is None:
        cleanup = tempfile.TemporaryDirectory(prefix="preflight-checkov-")
        workdir = Path(cleanup.name)
    else:
        workdir = keep_dir
        workdir.mkdir(parents=True, exist_ok=True)
    plan_file, k8s_dir = write_inputs(inputs, workdir)
    return PendingScan(result, config, inputs, Running(command(exe, plan_file, k8s_dir), workdir, cleanup))
