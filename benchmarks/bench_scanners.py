"""Full preflight (render + policy pack + every scanner) against checkov alone, on the same generated plans.

Run: `.venv/bin/python benchmarks/bench_scanners.py [--slices 5 10 20] [--no-stacks]`: this repository's
stacks and generated ones of 5, 10 and 20 platform slices, all in one run.

Side by side, in one run:
- full preflight over every stack, as `python -m preflight` runs them: render the program offline, the policy
  pack (`policies/`, with `policies/config/<stack>.json` for this repository's stacks, its defaults for the
  generated ones), the in-process scanners (parliament, AWS API values, Kubernetes schemas, the Terraform-plan
  translation), and checkov, which runs in its own process while the next stack renders;
- checkov alone, one run per stack, on exactly the plan files and manifests preflight generated.

The ratio full / checkov-alone is what everything preflight adds costs on top of checkov (goal: <= 1.5).
Wall-clock seconds on a shared machine are upper bounds, so CPU seconds (this process and its children, checkov
included) are printed too: they barely move with what else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preflight.model import StackResult
from preflight.policy import evaluate
from preflight.scanners import checkov, project_config
from preflight.scanners import start as start_scanners
from preflight.testing import render

ROLE = "arn:aws:iam::123456789012:role/platform"


def platform_slice(i: int) -> None:
    """One slice of a typical platform: keys, a bucket with its controls, a VPC with flow logs, EKS with a
    node group and launch template, IAM, a SageMaker endpoint config, two Kubernetes workloads."""
    key = aws.kms.Key(f"s{i}-key", enable_key_rotation=True)
    bucket = aws.s3.Bucket(f"s{i}-data")
    aws.s3.BucketPublicAccessBlock(
        f"s{i}-data-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketVersioning(
        f"s{i}-data-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"s{i}-data-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn
                )
            )
        ],
    )
    aws.s3.BucketPolicy(
        f"s{i}-data-policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [a, f"{a}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
    )
    vpc = aws.ec2.Vpc(f"s{i}-vpc", cidr_block=f"10.{i % 250}.0.0/16")
    logs = aws.cloudwatch.LogGroup(f"s{i}-flow-logs", retention_in_days=365, kms_key_id=key.arn)
    aws.ec2.FlowLog(f"s{i}-flow", vpc_id=vpc.id, traffic_type="ALL", log_destination=logs.arn)
    subnets = [
        aws.ec2.Subnet(
            f"s{i}-subnet-{az}", vpc_id=vpc.id, cidr_block=f"10.{i % 250}.{n}.0/24", availability_zone=f"us-west-2{az}"
        )
        for n, az in enumerate("abc")
    ]
    role = aws.iam.Role(
        f"s{i}-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    aws.iam.RolePolicy(
        f"s{i}-role-read",
        role=role.name,
        policy=bucket.arn.apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{a}/*"}],
                }
            )
        ),
    )
    cluster = aws.eks.Cluster(
        f"s{i}-cluster",
        role_arn=role.arn,
        version="1.31",
        enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[s.id for s in subnets], endpoint_private_access=True, endpoint_public_access=False
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
        ),
    )
    lt = aws.ec2.LaunchTemplate(
        f"s{i}-nodes-lt",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
    )
    aws.eks.NodeGroup(
        f"s{i}-gpu",
        cluster_name=cluster.name,
        node_role_arn=ROLE,
        subnet_ids=[s.id for s in subnets],
        ami_type="AL2023_x86_64_NVIDIA",
        instance_types=["g5.xlarge"],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, min_size=0, max_size=4),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version="$Latest"),
        taints=[aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")],
    )
    aws.sagemaker.EndpointConfiguration(
        f"s{i}-epc",
        kms_key_arn=key.arn,
        production_variants=[
            aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                model_name="m", variant_name="primary", instance_type="ml.g5.xlarge", initial_instance_count=1
            )
        ],
    )
    provider = k8s.Provider(f"s{i}-k8s", kubeconfig=cluster.endpoint.apply(lambda e: f"# {e}\n"))
    for app in ("api", "worker"):
        k8s.apps.v1.Deployment(
            f"s{i}-{app}",
            metadata={"namespace": "serving"},
            spec={
                "replicas": 2,
                "selector": {"matchLabels": {"app": app}},
                "template": {
                    "metadata": {"labels": {"app": app}},
                    "spec": {
                        "containers": [
                            {
                                "name": app,
                                "image": "app:1",
                                "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
                            }
                        ]
                    },
                },
            },
            opts=pulumi.ResourceOptions(provider=provider),
        )


PACK = REPO / "policies"


def _pack_config(result: StackResult) -> Path | None:
    """This repository's stacks have a pack config each; generated stacks get the pack's defaults."""
    config = PACK / "config" / f"{result.stack}.json"
    return config if result.project == "ml-platform" and config.is_file() else None


def _cpu() -> float:
    """CPU seconds used so far by this process and its waited-for children (checkov runs)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def full_preflight(
    cases: list[tuple[str, Callable[[], StackResult]]],
) -> tuple[float, float, list[dict], list[StackResult]]:
    """Every case as preflight runs stacks: render, pack, start the scanners; checkov keeps running in its
    own process while the next stack renders; then collect every stack's findings."""
    config = project_config(REPO)
    rows: list[dict] = []
    results: list[StackResult] = []
    pending = []
    start, cpu = time.perf_counter(), _cpu()
    for name, render_fn in cases:
        t_render, result = _time(render_fn)
        t_pack, _ = _time(lambda result=result: evaluate(result, PACK, _pack_config(result)))
        t_start, scan = _time(lambda result=result: start_scanners(result, project_dir=REPO, config=config))
        pending.append(scan)
        results.append(result)
        rows.append(
            {
                "case": name,
                "resources": sum(1 for r in result.resources if r.custom),
                "render": t_render,
                "pack": t_pack,
                "in-process scanners": t_start,
            }
        )
    for scan in pending:
        scan.violations()
    return time.perf_counter() - start, _cpu() - cpu, rows, results


def checkov_alone(results: list[StackResult]) -> tuple[list[float], float]:
    """The checkov command alone on exactly the plan and manifests preflight generated, one stack at a time:
    wall seconds per stack, and checkov's CPU seconds in all."""
    times = []
    cpu = _cpu()
    for result in results:
        inputs = checkov._prepare(result)
        with tempfile.TemporaryDirectory(prefix="bench-checkov-") as tmp:
            plan_file, k8s_dir = checkov.write_inputs(inputs, Path(tmp))
            cmd = checkov.command(checkov.locate(REPO), plan_file, k8s_dir)
            elapsed, _ = _time(lambda cmd=cmd, tmp=tmp: checkov.run_checkov(cmd, Path(tmp)))
        times.append(elapsed)
    return times, _cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--slices", type=int, nargs="*", default=[5, 10, 20], help="generated stacks, by size in platform slices"
    )
    parser.add_argument("--no-stacks", action="store_true", help="generated stacks only, not this repository's")
    args = parser.parse_args()

    cases: list[tuple[str, Callable[[], StackResult]]] = []
    if not args.no_stacks:
        from preflight.project import load_project
        from preflight.testing import render_stack

        cases += [(f"stack {s}", lambda s=s: render_stack(s)) for s in load_project(REPO).stacks()]
    cases += [
        (f"generated x{n}", lambda n=n: render(lambda: [platform_slice(i) for i in range(n)])) for n in args.slices
    ]

    full, full_cpu, rows, results = full_preflight(cases)
    alone, alone_cpu = checkov_alone(results)
    print("| case | resources | render s | pack s | in-process scanners s | checkov alone s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row, t in zip(rows, alone, strict=True):
        print(
            f"| {row['case']} | {row['resources']} | {row['render']:.2f} | {row['pack']:.2f} | {row['in-process scanners']:.2f} | {t:.2f} |"
        )
    print(
        f"\nfull preflight, all cases: {full:.1f} s; checkov alone on the same plans: {sum(alone):.1f} s; "
        f"ratio {full / sum(alone):.2f} (goal <= 1.5)"
    )
    print(
        f"CPU seconds: full preflight {full_cpu:.1f}; checkov alone {alone_cpu:.1f}; ratio {full_cpu / alone_cpu:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
