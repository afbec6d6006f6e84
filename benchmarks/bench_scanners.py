"""Full preflight of this repository's stacks against checkov alone on the same plans.

Paired rounds (default 3), each case a child process measured with `wait4` (CPU seconds of the process and
everything it waited for; wall seconds):
- full preflight: `python -m preflight` over every stack — render offline, the policy pack with each stack's
  config, the in-process scanners (parliament, AWS API values, Kubernetes schemas, the Terraform-plan
  translation) and checkov;
- checkov alone: the checkov command, one run per stack, on exactly the plan file and manifests preflight
  generates for that stack.
The ratio full / checkov alone is what everything preflight adds costs on top of checkov (target: <= 1.3 CPU).

Run with `make bench`, or `.venv/bin/python benchmarks/bench_scanners.py [--rounds 3] [--write docs/benchmarks.md]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import write_section
from preflight.scanners import checkov


def _measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process and everything it waited for, measured with wait4."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **checkov._OFFLINE_ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: findings, still a complete run
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} exited with {code}:\n{stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def checkov_inputs(stacks: list[str], workdir: Path) -> dict[str, list[str]]:
    """The checkov command for each stack, on exactly the plan and manifests preflight generates for it."""
    from preflight.testing import render_stack

    commands = {}
    for stack in stacks:
        folder = workdir / stack
        folder.mkdir()
        plan_file, k8s_dir = checkov.write_inputs(checkov._prepare(render_stack(stack)), folder)
        commands[stack] = checkov.command(checkov.locate(REPO), plan_file, k8s_dir)
    return commands


def table(full: list[tuple[float, float]], alone: list[tuple[float, float]], stacks: list[str]) -> str:
    def stats(samples: list[tuple[float, float]], i: int) -> tuple[float, float]:
        values = [s[i] for s in samples]
        return min(values), statistics.median(values)

    rows = [
        f"Stacks {', '.join(stacks)}; {len(full)} paired rounds; min / median seconds.",
        "",
        "| run | CPU s min | CPU s median | wall s min | wall s median |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, samples in (
        ("full preflight (`python -m preflight`)", full),
        ("checkov alone, one run per stack", alone),
    ):
        (cpu_min, cpu_med), (wall_min, wall_med) = stats(samples, 0), stats(samples, 1)
        rows.append(f"| {name} | {cpu_min:.1f} | {cpu_med:.1f} | {wall_min:.1f} | {wall_med:.1f} |")
    cpu_ratio = stats(full, 0)[1] / stats(alone, 0)[1]
    wall_ratio = stats(full, 1)[1] / stats(alone, 1)[1]
    rows.append(f"\nfull / checkov alone (medians): CPU {cpu_ratio:.2f}, wall {wall_ratio:.2f}.")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="markdown file whose bench_scanners section gets the table")
    args = parser.parse_args()

    from preflight.project import load_project

    stacks = list(load_project(REPO).stacks())
    full: list[tuple[float, float]] = []
    alone: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-checkov-") as tmp:
        commands = checkov_inputs(stacks, Path(tmp))
        for round_ in range(args.rounds):
            full.append(_measure([sys.executable, "-m", "preflight", "--json"], REPO))
            runs = [_measure(cmd, Path(tmp) / stack) for stack, cmd in commands.items()]
            alone.append((sum(r[0] for r in runs), sum(r[1] for r in runs)))
            print(
                f"round {round_ + 1}: full cpu {full[-1][0]:.1f} s wall {full[-1][1]:.1f} s; "
                f"checkov alone cpu {alone[-1][0]:.1f} s wall {alone[-1][1]:.1f} s",
                flush=True,
            )
    text = table(full, alone, stacks)
    print()
    print(text)
    if args.write:
        write_section(args.write, "bench_scanners", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
