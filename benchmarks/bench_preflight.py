"""preflight against the floor: the same generated program under the Pulumi SDK's own mocks, nothing else.

For each size (default 1,000, 2,000 and 4,000 resources) and each round (default 3), paired, one after the other:
- floor: the program under `pulumi.runtime.set_mocks` with a Mocks class that echoes inputs as outputs;
- preflight `--no-scanners`: `python -m preflight` on the same program (render, provider emulation, policy pack);
- full preflight (at the sizes given by `--full-sizes`, default 2,000): the same with every scanner, checkov
  included;
- checkov alone (at the same sizes): the checkov command on exactly the plan preflight writes for the program,
  for what checkov by itself costs in CPU and memory on it.
Every case is a fresh interpreter started as a child, measured with `wait4`: CPU seconds (user + system of the
child and everything it waited for, checkov included), wall seconds and the child's peak RSS. CPU is the figure
the targets are set on: it barely moves with what else the machine is doing; wall seconds are upper bounds.

Run with `make bench`, or `.venv/bin/python benchmarks/bench_preflight.py [--sizes 1000 2000] [--rounds 3]
[--write docs/benchmarks.md]`. `--write` replaces the table between the `bench_preflight` markers in that file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import write_section
from preflight.scanners import checkov

CHECKOV_ENV = {**os.environ, **checkov._OFFLINE_ENV}

MARKER = "bench_preflight"

# The generated program: ten components, each with buckets, public access blocks, versioning and IAM roles whose
# inputs depend on other resources' outputs (so the SDK's output machinery is exercised as in a real program).
PROGRAM = r"""
import json
import pulumi
import pulumi_aws as aws

SIZE = {size}


class Team(pulumi.ComponentResource):
    def __init__(self, name, n):
        super().__init__("bench:index:Team", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        for i in range(n // 4):
            bucket = aws.s3.Bucket(f"{{name}}-b{{i}}", tags={{"Team": name}}, opts=child)
            aws.s3.BucketPublicAccessBlock(f"{{name}}-pab{{i}}", bucket=bucket.id, block_public_acls=True,
                block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=child)
            aws.s3.BucketVersioning(f"{{name}}-v{{i}}", bucket=bucket.id,
                versioning_configuration={{"status": "Enabled"}}, opts=child)
            aws.iam.Role(f"{{name}}-r{{i}}", assume_role_policy=bucket.arn.apply(
                lambda arn: json.dumps({{"Version": "2012-10-17", "Statement": []}})), opts=child)
        self.register_outputs({{}})


teams = 10
for t in range(teams):
    Team(f"team{{t}}", (SIZE - teams) // teams)
"""

PROJECT = "name: bench\nruntime: python\n"
STACK_CONFIG = "config:\n  aws:region: us-west-2\n  aws:defaultTags:\n    tags:\n      Owner: bench\n"

# The floor: the SDK's public mock runtime with inputs echoed as outputs, as `pulumi.runtime.test` runs a program:
# the program, then every outstanding RPC and output awaited; nothing recorded, nothing checked.
FLOOR = r"""
import asyncio, runpy, sys
import pulumi
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import wait_for_rpcs


class Echo(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [f"{args.name}-id", args.inputs]

    def call(self, args):
        return {}


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
set_all_config({"aws:region": "us-west-2", "aws:defaultTags": '{"tags": {"Owner": "bench"}}'}, [])
pulumi.runtime.set_mocks(Echo(), project="bench", stack="bench", preview=True)
runpy.run_path(sys.argv[1], run_name="__main__")
loop.run_until_complete(wait_for_rpcs())
"""


@dataclass(frozen=True)
class Sample:
    cpu: float
    wall: float
    peak_mib: float


# Writes the plan preflight would give checkov for the program, in a child (the program must not run in here).
WRITE_PLAN = r"""
import sys
from pathlib import Path
from preflight.engine import run_stack
from preflight.project import load_project
from preflight.scanners import checkov
plan_file, _ = checkov.write_inputs(checkov._prepare(run_stack(load_project(Path(sys.argv[1])), "bench")), Path(sys.argv[2]))
assert plan_file is not None
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """One child process, measured with wait4 (its own and its waited-for children's CPU; its own peak RSS)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):  # 1 = findings, still a complete run
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Sample(cpu=usage.ru_utime + usage.ru_stime, wall=wall, peak_mib=usage.ru_maxrss / 1024)


def write_project(root: Path, size: int) -> Path:
    project = root / f"generated-{size}"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(PROJECT)
    (project / "Pulumi.bench.yaml").write_text(STACK_CONFIG)
    (project / "__main__.py").write_text(PROGRAM.format(size=size))
    return project


def cases(project: Path, full: bool) -> dict[str, list[str]]:
    preflight = [sys.executable, "-m", "preflight", "--cwd", str(project), "--stack", "bench", "--json"]
    out = {
        "floor": [sys.executable, "-c", FLOOR, str(project / "__main__.py")],
        "no-scanners": [*preflight, "--no-scanners"],
    }
    if full:
        out["full"] = preflight
        inputs = project / "checkov-inputs"
        inputs.mkdir()
        subprocess.run(
            [sys.executable, "-c", WRITE_PLAN, str(project), str(inputs)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=True,
        )
        out["checkov alone"] = checkov.command(checkov.locate(REPO), inputs / "plan.json", None)
    return out


def summarise(samples: list[Sample]) -> dict[str, float]:
    return {
        "cpu_min": min(s.cpu for s in samples),
        "cpu_median": statistics.median(s.cpu for s in samples),
        "wall_min": min(s.wall for s in samples),
        "wall_median": statistics.median(s.wall for s in samples),
        "peak_mib": max(s.peak_mib for s in samples),
    }


def table(results: dict[int, dict[str, dict[str, float]]], rounds: int) -> str:
    lines = [
        f"CPU and wall seconds (min / median of {rounds} paired rounds), peak RSS of the largest process.",
        "",
        (
            "| resources | case | CPU s min | CPU s median | × floor (CPU median) | wall s min | wall s median "
            "| peak MiB | × floor (peak) |"
        ),
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, by_case in results.items():
        floor = by_case["floor"]
        for case, m in by_case.items():
            lines.append(
                f"| {size:,} | {case} | {m['cpu_min']:.1f} | {m['cpu_median']:.1f} | "
                f"{m['cpu_median'] / floor['cpu_median']:.2f} | {m['wall_min']:.1f} | {m['wall_median']:.1f} | "
                f"{m['peak_mib']:.0f} | {m['peak_mib'] / floor['peak_mib']:.2f} |"
            )
    for size, by_case in results.items():
        if "full" in by_case and "checkov alone" in by_case:
            full, alone = by_case["full"], by_case["checkov alone"]
            lines.append(
                f"\nAt {size:,} resources, full preflight / checkov alone on the same plan: CPU "
                f"{full['cpu_median'] / alone['cpu_median']:.2f}, peak memory {full['peak_mib'] / alone['peak_mib']:.2f}."
            )
    sizes = sorted(results)
    for small, large in pairwise(sizes):
        if large == 2 * small:
            growth = results[large]["no-scanners"]["cpu_median"] / results[small]["no-scanners"]["cpu_median"]
            lines.append(f"\n`--no-scanners` growth t({large:,}) / t({small:,}) = {growth:.2f} (linear: 2.00).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 4000])
    parser.add_argument("--full-sizes", type=int, nargs="*", default=[2000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="markdown file whose bench_preflight section gets the table")
    args = parser.parse_args()

    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-preflight-") as tmp:
        for size in args.sizes:
            project = write_project(Path(tmp), size)
            commands = cases(project, full=size in args.full_sizes)
            samples: dict[str, list[Sample]] = {case: [] for case in commands}
            for round_ in range(args.rounds):
                for case, cmd in commands.items():
                    alone = case == "checkov alone"
                    sample = run(cmd, project / "checkov-inputs" if alone else REPO, CHECKOV_ENV if alone else None)
                    samples[case].append(sample)
                    print(
                        f"{size:>6} {case:<13} round {round_ + 1}: cpu {sample.cpu:6.1f} s  wall {sample.wall:6.1f} s"
                        f"  peak {sample.peak_mib:5.0f} MiB",
                        flush=True,
                    )
            results[size] = {case: summarise(s) for case, s in samples.items()}
    text = table(results, args.rounds)
    print()
    print(text)
    if args.write:
        write_section(args.write, MARKER, text)


if __name__ == "__main__":
    main()
