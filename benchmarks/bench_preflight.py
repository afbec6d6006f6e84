"""How long preflight takes, and how much memory: the shipped stacks, and generated programs of 500-2,000 resources.

Each case runs in a fresh interpreter (as `python -m preflight` would), so import time and peak RSS are real.
Run with `make bench` (or `.venv/bin/python benchmarks/bench_preflight.py [--sizes 500 1000 2000]`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CASE = r"""
import json, resource, sys, time
start = time.perf_counter()
kind, arg = sys.argv[1], sys.argv[2]
if kind == "stack":
    from preflight.testing import render_stack
    result = render_stack(arg)
else:
    import pulumi, pulumi_aws as aws
    from preflight.testing import render
    size = int(arg)

    class Team(pulumi.ComponentResource):
        def __init__(self, name, n):
            super().__init__("bench:index:Team", name, None, None)
            child = pulumi.ResourceOptions(parent=self)
            for i in range(n // 4):
                bucket = aws.s3.Bucket(f"{name}-b{i}", tags={"Team": name}, opts=child)
                aws.s3.BucketPublicAccessBlock(f"{name}-pab{i}", bucket=bucket.id, block_public_acls=True,
                    block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=child)
                aws.s3.BucketVersioning(f"{name}-v{i}", bucket=bucket.id,
                    versioning_configuration={"status": "Enabled"}, opts=child)
                aws.iam.Role(f"{name}-r{i}", assume_role_policy=bucket.arn.apply(
                    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": []})), opts=child)
            self.register_outputs({})

    def program():
        teams = 10
        for t in range(teams):
            Team(f"team{t}", (size - teams) // teams)

    result = render(program, config={"aws:defaultTags": {"tags": {"Owner": "bench"}}})
elapsed = time.perf_counter() - start
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"resources": len(result.resources), "seconds": elapsed, "peak_mib": peak_mib}))
"""


def measure(kind: str, arg: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _CASE, kind, arg], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--stacks", nargs="*", default=["dev", "staging", "prod"])
    args = parser.parse_args()
    print(f"{'case':<28} {'resources':>9} {'wall s':>8} {'peak MiB':>9}")
    for stack in args.stacks:
        m = measure("stack", stack)
        print(f"{'stack ' + stack:<28} {m['resources']:>9} {m['seconds']:>8.2f} {m['peak_mib']:>9.0f}")
    for size in args.sizes:
        m = measure("generated", str(size))
        print(f"{f'generated {size}':<28} {m['resources']:>9} {m['seconds']:>8.2f} {m['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
