"""Unknowns stay unknown at every depth: `apply` does not run on them and the JSON says "[unknown]", never null."""

import json
import runpy
import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s

from preflight.model import UNKNOWN
from preflight.testing import REPO, render

UNKNOWNS = REPO / "tests" / "fixtures" / "unknowns"


def test_a_nested_unknown_tag_stays_unknown_in_tags_all_and_apply_does_not_run_on_it():
    r = render(lambda: runpy.run_path(str(UNKNOWNS / "__main__.py")))
    bucket = r.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["tags"] == {"Env": "dev", "Team": UNKNOWN}
    assert bucket.outputs["tagsAll"] == {"Env": "dev", "Team": UNKNOWN}
    # `tags["Team"].upper()` would fail on None: the apply was not run, its result is unknown.
    assert r.outputs["teamTag"] is UNKNOWN and r.outputs["envTag"] is UNKNOWN


def test_a_name_known_only_at_deployment_is_not_auto_named_and_what_derives_from_it_is_unknown():
    r = render(lambda: runpy.run_path(str(UNKNOWNS / "__main__.py")))
    role = r.one("aws:iam/role:Role")
    assert role.outputs["name"] is UNKNOWN and role.id is UNKNOWN
    assert "arn" not in role.outputs
    assert r.outputs["roleArn"] is UNKNOWN and r.outputs["roleId"] is UNKNOWN


def test_a_kubernetes_object_with_an_unknown_namespace_has_an_unknown_id():
    def program() -> None:
        ref = pulumi.StackReference("acme/apps/prod")
        k8s.core.v1.ConfigMap(
            "settings", metadata={"namespace": ref.get_output("namespace"), "name": "settings"}, data={"a": "b"}
        )

    cm = render(program).one("kubernetes:core/v1:ConfigMap")
    assert cm.id is UNKNOWN
    assert cm.outputs["metadata"] == {"namespace": UNKNOWN, "name": "settings"}


def test_the_json_prints_nested_unknowns_as_unknown_not_null():
    proc = subprocess.run(
        [sys.executable, "-m", "preflight", "--cwd", str(UNKNOWNS), "--no-scanners", "--json"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    (stack,) = json.loads(proc.stdout)["stacks"]
    (bucket,) = [r for r in stack["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
    assert bucket["outputs"]["tagsAll"] == {"Env": "dev", "Team": "[unknown]"}
    (role,) = [r for r in stack["resources"] if r["type"] == "aws:iam/role:Role"]
    assert role["id"] == "[unknown]"
    assert "null" not in json.dumps(stack["outputs"])
