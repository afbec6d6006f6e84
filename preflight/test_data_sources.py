"""Data sources public programs use most, answered offline in AWS's shapes and marked as emulated; anything else
from an answers file, or a one-line error naming the program's line and the flag."""

import json
import runpy
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pytest

from preflight.emulator.aws import ECR_PLACEHOLDER_PASSWORD
from preflight.engine import ProgramError, RunOptions, run_program
from preflight.model import SECRET
from preflight.testing import REPO, render

DATA_SOURCES = REPO / "tests" / "fixtures" / "data_sources"


def _ami(region: str = "us-west-2", owners: list[str] | None = None, pattern: str = "al2023-ami-*-x86_64") -> dict:
    def program() -> None:
        ami = aws.ec2.get_ami(
            most_recent=True,
            owners=owners or ["amazon"],
            filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[pattern])],
        )
        pulumi.export("ami", {"id": ami.id, "owner": ami.owner_id, "name": ami.name, "arch": ami.architecture})

    return render(program, config={"aws:region": region}).outputs["ami"]


def test_get_ami_is_deterministic_for_the_same_filters_and_differs_per_region_and_filters():
    first = _ami()
    assert first["id"].startswith("ami-") and len(first["id"]) == len("ami-") + 17
    assert _ami() == first
    assert _ami(region="eu-west-1")["id"] != first["id"]
    assert _ami(pattern="ubuntu/images/*")["id"] != first["id"]


def test_get_ami_keeps_the_owner_and_resolves_aws_aliases():
    assert _ami()["owner"] == "137112412989"
    assert _ami(owners=["099720109477"])["owner"] == "099720109477"
    assert _ami(owners=["self"])["owner"] == "123456789012"
    assert _ami(pattern="al2023-ami-*-arm64")["arch"] == "arm64"


def test_the_fixture_renders_with_default_vpc_shaped_answers_marked_as_emulated():
    r = render(lambda: runpy.run_path(str(DATA_SOURCES / "__main__.py")))
    assert r.outputs["vpcCidr"] == "172.31.0.0/16"
    assert len(r.outputs["subnets"]) == 4  # us-west-2 has four zones
    assert all(s.startswith("subnet-") for s in r.outputs["subnets"])
    assert r.outputs["zone"].startswith("Z")
    assert r.outputs["registry"] == "https://123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert r.one("aws:ec2/instance:Instance").inputs["ami"] == r.outputs["ami"]
    emulated = [w for w in r.warnings if "answered offline with" in w]
    assert [w.split()[0] for w in emulated] == [
        "aws:ec2/getAmi:getAmi",
        "aws:ec2/getVpc:getVpc",
        "aws:ec2/getSubnets:getSubnets",
        "aws:route53/getZone:getZone",
        "aws:ecr/getAuthorizationToken:getAuthorizationToken",
    ]


def test_the_ecr_token_is_a_secret_placeholder():
    r = render(lambda: runpy.run_path(str(DATA_SOURCES / "__main__.py")))
    assert r.outputs["password"] == SECRET

    def program() -> None:
        creds = aws.ecr.get_credentials(registry_id="123456789012")
        pulumi.export("endpoint", creds.proxy_endpoint)
        pulumi.export("token", pulumi.Output.secret(creds.authorization_token).apply(lambda t: t))
        pulumi.export("plain", creds.password == ECR_PLACEHOLDER_PASSWORD)

    out = render(program).outputs
    assert out["endpoint"] == "https://123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert out["token"] == SECRET and out["plain"] is True


def test_an_answers_file_answers_a_data_source_no_emulator_does():
    answers = json.loads((DATA_SOURCES / "answers.json").read_text())

    def program() -> None:
        pulumi.export("vcpus", aws.ec2.get_instance_type(instance_type="t3.micro").default_vcpus)

    result = run_program(
        program,
        project="p",
        stack="dev",
        config={"aws:region": "us-west-2"},
        options=RunOptions(invoke_answers=answers),
    )
    assert result.outputs == {"vcpus": 2}


def test_fails_when_a_data_source_cannot_be_answered_naming_the_line_and_the_flag():
    with pytest.raises(ProgramError) as info:
        run_program(
            lambda: runpy.run_path(str(DATA_SOURCES / "unanswered.py")),
            project="p",
            stack="dev",
            config={"aws:region": "us-west-2"},
            cwd=DATA_SOURCES,
        )
    assert info.value.lines == [
        (
            "preflight cannot answer the data source 'aws:ec2/getInstanceType:getInstanceType' (called at "
            'unanswered.py:5) offline; give its result with --invoke-answers FILE ({"aws:ec2/getInstanceType:'
            'getInstanceType": {...}}), or pass the value in through stack config'
        )
    ]


def test_fails_when_the_answers_file_maps_a_token_to_something_else_than_an_object(tmp_path):
    bad = tmp_path / "answers.json"
    bad.write_text('{"aws:ec2/getInstanceType:getInstanceType": 2}')
    proc = subprocess.run(
        [sys.executable, "-m", "preflight", "--cwd", str(DATA_SOURCES), "--no-scanners", "--invoke-answers", str(bad)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: --invoke-answers '{bad}': 'aws:ec2/getInstanceType:getInstanceType': expected a data source token "
        "(e.g. aws:ec2/getInstanceType:getInstanceType) mapped to an object of its result's properties"
    )
