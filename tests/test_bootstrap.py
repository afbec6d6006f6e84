"""The bootstrap project (`bootstrap/`): it renders offline, the policy pack and the scanners find nothing in it,
with and without CI grants, and each stack's CI roles reach only their own stack's state and key."""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache

import pytest
import yaml

from infra.config import load
from preflight.engine import ProgramError, run_stack
from preflight.model import StackResult
from preflight.policy import evaluate
from preflight.project import load_project
from preflight.scanners import run
from preflight.testing import REPO, _encode, assert_golden

BOOTSTRAP = REPO / "bootstrap"
ACCOUNT = "123456789012"
ROLES = {
    stack: {
        "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/guardrails-ci-preview-role-{stack}",
        "deployRoleArn": f"arn:aws:iam::{ACCOUNT}:role/guardrails-ci-deploy-role-{stack}",
    }
    for stack in ("dev", "staging", "prod")
}
TAGS = {"CostCenter": "ml-platform", "Owner": "ml-platform-team@example.com", "Project": "ml-platform"}


def _state_access():
    spec = importlib.util.spec_from_file_location("bootstrap_state_access", BOOTSTRAP / "state_access.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sa = _state_access()


@cache
def _render(with_roles: bool) -> StackResult:
    overrides = {"ml-platform-bootstrap:backend": {"stacks": ROLES}} if with_roles else {}
    return run_stack(load_project(BOOTSTRAP), "shared", _encode(overrides))


@pytest.fixture(scope="module", params=[False, True], ids=["first-run", "with-ci-roles"])
def rendered(request) -> StackResult:
    return _render(request.param)


def _policy(result: StackResult, name: str) -> dict:
    return json.loads(result.one("aws:s3/bucketPolicy:BucketPolicy", name).inputs["policy"])


def test_bootstrap_passes_the_policy_pack(rendered):
    violations = evaluate(rendered, REPO / "policies")
    assert [f"{v.policy} {v.name}: {v.message}" for v in violations] == []


def test_bootstrap_passes_the_scanners(rendered):
    findings = run(rendered, project_dir=BOOTSTRAP)
    assert [f"{v.source} {v.policy} {v.name}: {v.message}" for v in findings] == []
    assert [w for w in rendered.warnings if w.startswith("checkov:")] == []


def test_state_bucket_is_kms_encrypted_versioned_private_logged_and_retained(rendered):
    key = rendered.one("aws:kms/key:Key", "state")
    rule = rendered.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "state-encryption"
    ).inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.outputs["arn"],
    }
    assert rendered.one("aws:s3/bucketVersioning:BucketVersioning", "state-versioning").inputs[
        "versioningConfiguration"
    ] == {"status": "Enabled"}
    pab = rendered.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "state-public-access-block").inputs
    assert all(pab[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert rendered.one("aws:s3/bucketLogging:BucketLogging", "state-logging").inputs["targetPrefix"] == "state/"
    for r in rendered.resources:
        if r.custom and r.type.startswith("aws:") and r.type != "pulumi:providers:aws":
            assert r.options.get("protect") and r.options.get("retainOnDelete"), r.name
    sids = [s["Sid"] for s in _policy(rendered, "state")["Statement"]]
    assert {"DenyInsecureTransport", "DenyOutdatedTls", "DenyUploadsWithAnotherKmsKey"} <= set(sids)


@pytest.mark.parametrize("bucket", ["state", "state-access-logs"])
def test_each_bucket_policy_waits_for_its_public_access_block(rendered, bucket):
    # S3 rejects a policy change while the bucket's public access block is changing: order them.
    block = rendered.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{bucket}-public-access-block")
    policy = rendered.one("aws:s3/bucketPolicy:BucketPolicy", bucket)
    assert block.urn in policy.options["dependsOn"]


def test_every_stack_gets_its_own_secrets_provider_key():
    result = _render(False)
    aliases = {r.inputs["name"] for r in result.by_type("aws:kms/alias:Alias")}
    assert aliases == {
        "alias/ml-platform/pulumi-state",
        *(f"alias/ml-platform/{s}/pulumi-secrets" for s in ("dev", "staging", "prod")),
    }
    assert result.outputs["secretsProviders"]["dev"] == "awskms://alias/ml-platform/dev/pulumi-secrets?region=us-west-2"


def test_first_run_grants_ci_nothing():
    result = _render(False)
    assert [s["Sid"] for s in _policy(result, "state")["Statement"] if s["Effect"] == "Allow"] == []
    for key in result.by_type("aws:kms/key:Key"):
        assert [s["Sid"] for s in json.loads(key.inputs["policy"])["Statement"]] == ["AccountAdministration"]


def test_each_stacks_ci_roles_reach_only_that_stacks_state():
    statements = _policy(_render(True), "state")["Statement"]
    for stack, roles in ROLES.items():
        for arn in roles.values():
            mine = [s for s in statements if s.get("Principal") == {"AWS": arn}]
            assert mine, arn
            resources = [
                r for s in mine for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
            ]
            prefixes = [p for s in mine for p in s.get("Condition", {}).get("StringLike", {}).get("s3:prefix", [])]
            others = [o for o in ROLES if o != stack]
            for text in resources + prefixes:
                assert not any(f"/{o}" in text.removeprefix("arn:aws:s3:::") for o in others), (arn, text)


def test_preview_role_reads_the_checkpoint_and_only_writes_the_lock():
    grants = sa.stack_grants(
        "arn:aws:s3:::state", "ml-platform", "dev", sa.StackAccess(preview_role_arn=ROLES["dev"]["previewRoleArn"])
    )
    writes = next(s for s in grants if s["Sid"] == "PreviewDevWriteOwnState")
    assert writes["Resource"] == ["arn:aws:s3:::state/.pulumi/locks/organization/ml-platform/dev/*"]
    reads = next(s for s in grants if s["Sid"] == "PreviewDevReadState")
    assert reads["Resource"] == [
        "arn:aws:s3:::state/.pulumi/meta.yaml",
        "arn:aws:s3:::state/.pulumi/stacks/ml-platform/dev.json*",
    ]


def test_deploy_role_writes_every_path_of_its_stack_in_the_diy_layout():
    assert sa.stack_paths("ml-platform", "prod") == {
        "checkpoint": ".pulumi/stacks/ml-platform/prod.json*",
        "history": ".pulumi/history/ml-platform/prod/*",
        "backups": ".pulumi/backups/ml-platform/prod/*",
        "journal": ".pulumi/journal/ml-platform/prod/*",
        "locks": ".pulumi/locks/organization/ml-platform/prod/*",
    }
    grants = sa.stack_grants(
        "arn:aws:s3:::state", "ml-platform", "prod", sa.StackAccess(deploy_role_arn=ROLES["prod"]["deployRoleArn"])
    )
    writes = next(s for s in grants if s["Sid"] == "DeployProdWriteOwnState")
    assert len(writes["Resource"]) == 5 and all("/prod" in r for r in writes["Resource"])


def test_ci_roles_use_the_state_key_only_through_s3_for_this_bucket():
    (statement,) = sa.state_key_statements(
        bucket_arn="arn:aws:s3:::state",
        region="us-east-1",
        stacks={"dev": sa.StackAccess(deploy_role_arn=ROLES["dev"]["deployRoleArn"])},
    )
    assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_ci_roles_only_decrypt_the_stacks_secrets_key():
    (statement,) = sa.secrets_key_statements(sa.StackAccess(preview_role_arn=ROLES["dev"]["previewRoleArn"]))
    assert statement["Action"] == "kms:Decrypt"


def test_backend_url_asks_for_sse_kms_with_the_state_key():
    url = sa.backend_url("state-1", "us-east-1", "arn:aws:kms:us-east-1:123456789012:key/k")
    assert (
        url
        == "s3://state-1?region=us-east-1&awssdk=v2&ssetype=aws:kms&kmskeyid=arn:aws:kms:us-east-1:123456789012:key/k"
    )


def test_fails_when_a_role_arn_is_not_a_role():
    with pytest.raises(
        ProgramError, match=r"ml-platform-bootstrap:backend.stacks.dev.previewRoleArn = 'nope': not an IAM role ARN"
    ):
        run_stack(
            load_project(BOOTSTRAP),
            "shared",
            _encode({"ml-platform-bootstrap:backend": {"stacks": {"dev": {"previewRoleArn": "nope"}}}}),
        )


def test_fails_when_no_stack_is_listed():
    with pytest.raises(ProgramError, match=r"ml-platform-bootstrap:backend.stacks = \{\}: list the platform's stacks"):
        run_stack(load_project(BOOTSTRAP), "shared", _encode({"ml-platform-bootstrap:backend": {"stacks": {}}}))


def test_fails_when_a_cost_tag_is_missing():
    with pytest.raises(ProgramError, match=r"ml-platform-bootstrap:tags.Owner: missing"):
        run_stack(load_project(BOOTSTRAP), "shared", _encode({"ml-platform-bootstrap:tags": {**TAGS, "Owner": ""}}))


def test_every_stacks_boundary_allows_the_backends_region_and_its_stack_file_names_it():
    backend_region = yaml.safe_load((BOOTSTRAP / "Pulumi.shared.yaml").read_text())["config"]["aws:region"]
    project = load_project(REPO)
    for stack in project.stacks():
        cfg = load(project.stack_config(stack).values, stack=stack)
        replica = cfg.storage.models_replication.destination_region if cfg.storage.models_replication else None
        # Otherwise the boundary's region deny stops the CI roles at the state bucket and the secrets key.
        assert backend_region in cfg.guardrails.regions(cfg.region, replica), stack
        secrets_provider = yaml.safe_load(project.stack_file(stack).read_text())["secretsprovider"]
        assert secrets_provider == f"awskms://{sa.secrets_alias('ml-platform', stack)}?region={backend_region}"


def test_the_backend_lists_every_platform_stack():
    shared = yaml.safe_load((BOOTSTRAP / "Pulumi.shared.yaml").read_text())["config"]
    assert sorted(shared["ml-platform-bootstrap:backend"]["stacks"]) == sorted(load_project(REPO).stacks())


def test_state_grants_and_key_statements_golden():
    stacks = {stack: sa.StackAccess.model_validate(roles) for stack, roles in ROLES.items()}
    bucket = "arn:aws:s3:::state-1c5ac1c"
    assert_golden(
        "bootstrap_state_access.json",
        {
            "bucketPolicyGrants": [
                s for stack in sorted(stacks) for s in sa.stack_grants(bucket, "ml-platform", stack, stacks[stack])
            ],
            "stateKey": sa.state_key_statements(bucket_arn=bucket, region="us-west-2", stacks=stacks),
            "secretsKeyDev": sa.secrets_key_statements(stacks["dev"]),
        },
    )


def test_fails_when_the_region_is_missing():
    with pytest.raises(ProgramError, match=r"Pulumi.shared.yaml: aws:region: missing"):
        run_stack(load_project(BOOTSTRAP), "shared", _encode({"aws:region": ""}))
