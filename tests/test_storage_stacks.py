"""Each shipped stack renders its keys, artifact store and image registries the way its environment requires,
read from the `preflight --json` document (so every property checked here is visible there)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from preflight.model import stack_json
from preflight.testing import render_stack

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = ("dev", "staging", "prod")
PURPOSES = ("datasets", "models", "data-capture", "access-logs")
DOMAINS = ("artifacts", "logs", "cluster", "sagemaker")
NONCURRENT_DAYS = {"dev": 7, "staging": 30, "prod": 90}

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
REPOSITORY = "aws:ecr/repository:Repository"
STORAGE_TYPES = ("aws:s3/", "aws:kms/", "aws:ecr/")
STORAGE_COMPONENTS = (
    "mlplatform:storage:ArtifactStore",
    "mlplatform:storage:PlatformKeys",
    "mlplatform:storage:ImageRegistries",
)


@cache
def document(stack: str) -> dict[str, Any]:
    """The stack as `preflight --stack <stack> --json` prints it."""
    return json.loads(json.dumps(stack_json(render_stack(stack))))


def resources(stack: str, type_: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document(stack)["resources"] if r["type"] == type_}


def bucket_part(stack: str, type_name: str, purpose: str, suffix: str) -> dict[str, Any]:
    return resources(stack, f"aws:s3/{type_name[0].lower()}{type_name[1:]}:{type_name}")[
        f"artifacts-{purpose}-{suffix}"
    ]


def bucket_policy(stack: str, purpose: str) -> dict[str, dict[str, Any]]:
    policy = json.loads(bucket_part(stack, "BucketPolicy", purpose, "policy")["inputs"]["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def parent_type(record: dict[str, Any]) -> str | None:
    """`mlplatform:storage:ArtifactStore` for a child of the store (from its parent's URN)."""
    return record["parent"].split("::")[2].split("$")[-1] if record["parent"] else None


def stateful(stack: str) -> list[dict[str, Any]]:
    """What the store, the keys and the registries declare directly: buckets and their settings, keys, aliases,
    repositories and their policies."""
    return [
        r
        for r in document(stack)["resources"]
        if r["type"].startswith(STORAGE_TYPES) and parent_type(r) in STORAGE_COMPONENTS
    ]


# -- every stack -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_exports_buckets_keys_and_repository_urls(stack):
    outputs = document(stack)["outputs"]
    buckets = resources(stack, BUCKET)
    assert outputs["bucketNames"] == {p: buckets[f"artifacts-{p}"]["outputs"]["bucket"] for p in PURPOSES}
    assert outputs["bucketArns"] == {p: buckets[f"artifacts-{p}"]["outputs"]["arn"] for p in PURPOSES}
    keys = resources(stack, KEY)
    assert {d: outputs["keyArns"][d] for d in DOMAINS} == {d: keys[f"platform-{d}"]["outputs"]["arn"] for d in DOMAINS}
    assert set(outputs["repositoryUrls"]) == {"training", "serving"}
    assert outputs["repositoryUrls"]["serving"].endswith(f".amazonaws.com/ml-platform/{stack}/serving")


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_rotating_keys_with_stack_scoped_aliases(stack):
    keys, aliases = resources(stack, KEY), resources(stack, ALIAS)
    for domain in DOMAINS:
        key = keys[f"platform-{domain}"]
        assert key["inputs"]["enableKeyRotation"] is True
        assert aliases[f"platform-{domain}-alias"]["inputs"]["name"] == f"alias/ml-platform/{stack}/{domain}"
        assert aliases[f"platform-{domain}-alias"]["inputs"]["targetKeyId"] == key["outputs"]["keyId"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_is_kms_encrypted_with_bucket_keys_except_access_logs_on_sse_s3(stack):
    key_arns = document(stack)["outputs"]["keyArns"]
    expected = {
        "datasets": key_arns["artifacts"],
        "models": key_arns["artifacts"],
        "data-capture": key_arns["sagemaker"],
    }
    for purpose, key in expected.items():
        (rule,) = bucket_part(stack, "BucketServerSideEncryptionConfiguration", purpose, "encryption")["inputs"][
            "rules"
        ]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
        assert rule["bucketKeyEnabled"] is True
        assert bucket_policy(stack, purpose)["DenyUploadsWithAnotherKmsKey"]["Condition"] == {
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}
        }
    (rule,) = bucket_part(stack, "BucketServerSideEncryptionConfiguration", "access-logs", "encryption")["inputs"][
        "rules"
    ]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_is_private_tls_only_versioned_logged_and_notifies_eventbridge(stack):
    logs_bucket = resources(stack, BUCKET)["artifacts-access-logs"]["outputs"]["bucket"]
    for purpose in PURPOSES:
        block = bucket_part(stack, "BucketPublicAccessBlock", purpose, "public-access-block")["inputs"]
        assert [
            block[f] for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ] == [True] * 4
        ownership = bucket_part(stack, "BucketOwnershipControls", purpose, "ownership")["inputs"]["rule"]
        assert ownership == {"objectOwnership": "BucketOwnerEnforced"}
        assert bucket_policy(stack, purpose)["DenyInsecureTransport"]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
        versioning = bucket_part(stack, "BucketVersioning", purpose, "versioning")["inputs"]
        assert versioning["versioningConfiguration"] == {"status": "Enabled"}
        assert bucket_part(stack, "BucketNotification", purpose, "notifications")["inputs"]["eventbridge"] is True
        if purpose != "access-logs":
            assert bucket_part(stack, "BucketLogging", purpose, "logging")["inputs"]["targetBucket"] == logs_bucket


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_aborts_stale_uploads_and_expires_old_versions_per_environment(stack):
    for purpose in PURPOSES:
        lifecycle = bucket_part(stack, "BucketLifecycleConfiguration", purpose, "lifecycle")["inputs"]
        rules = {r["id"]: r for r in lifecycle["rules"]}
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": 7
        }
        assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
            "noncurrentDays": NONCURRENT_DAYS[stack]
        }
        assert ("intelligent-tiering" in rules) is (purpose == "datasets")


@pytest.mark.parametrize("stack", STACKS)
def test_every_registry_is_kms_encrypted_immutable_and_scanned_on_push(stack):
    artifacts_key = document(stack)["outputs"]["keyArns"]["artifacts"]
    repositories = resources(stack, REPOSITORY)
    assert sorted(r["inputs"]["name"] for r in repositories.values()) == [
        f"ml-platform/{stack}/serving",
        f"ml-platform/{stack}/training",
    ]
    for repo in repositories.values():
        assert repo["inputs"]["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": artifacts_key}]
        assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE"
        assert repo["inputs"]["imageScanningConfiguration"] == {"scanOnPush": True}


# -- environment differences -------------------------------------------------------------------------------------


def test_dev_can_be_destroyed_with_its_data():
    assert all(b["inputs"]["forceDestroy"] is True for b in resources("dev", BUCKET).values())
    assert all(r["inputs"]["forceDelete"] is True for r in resources("dev", REPOSITORY).values())
    records = stateful("dev")
    assert {r["type"] for r in records} >= {BUCKET, KEY, ALIAS, REPOSITORY}
    for record in records:
        assert record["options"]["protect"] is False, record["name"]
        assert record["options"]["retainOnDelete"] is False, record["name"]
    assert {k["inputs"]["deletionWindowInDays"] for k in resources("dev", KEY).values()} == {7}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_protect_and_retain_every_bucket_key_and_registry(stack):
    assert all(b["inputs"]["forceDestroy"] is False for b in resources(stack, BUCKET).values())
    assert all(r["inputs"]["forceDelete"] is False for r in resources(stack, REPOSITORY).values())
    records = stateful(stack)
    assert {r["type"] for r in records} >= {BUCKET, KEY, ALIAS, REPOSITORY}
    for record in records:
        assert record["options"]["protect"] is True, record["name"]
        assert record["options"]["retainOnDelete"] is True, record["name"]
    assert {k["inputs"]["deletionWindowInDays"] for k in resources(stack, KEY).values()} == {30}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_fence_object_access_to_the_stacks_s3_endpoint(stack):
    endpoint_id = resources(stack, "aws:ec2/vpcEndpoint:VpcEndpoint")["network-endpoint-s3"]["id"]
    for purpose in PURPOSES:
        fence = bucket_policy(stack, purpose)["DenyObjectAccessOutsideVpcEndpoint"]
        assert fence["Condition"]["StringNotEqualsIfExists"] == {"aws:SourceVpce": endpoint_id}


def test_dev_buckets_are_reachable_from_outside_the_vpc():
    for purpose in PURPOSES:
        assert "DenyObjectAccessOutsideVpcEndpoint" not in bucket_policy("dev", purpose)


def test_only_prod_locks_model_versions_in_governance_mode():
    (lock,) = resources("prod", "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").values()
    assert lock["inputs"]["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}}
    assert lock["inputs"]["bucket"] == document("prod")["outputs"]["bucketNames"]["models"]
    for stack in ("dev", "staging"):
        assert resources(stack, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") == {}


def test_prod_replicates_models_to_its_second_region_with_a_key_there():
    prod = document("prod")
    replica_key = resources("prod", KEY)["platform-artifacts-replica"]
    assert replica_key["inputs"]["region"] == "us-west-2"
    assert prod["outputs"]["keyArns"]["artifacts-replica"].startswith("arn:aws:kms:us-west-2:")
    replica = resources("prod", BUCKET)["artifacts-models-replica"]
    assert replica["inputs"]["region"] == "us-west-2"
    (config,) = resources("prod", "aws:s3/bucketReplicationConfig:BucketReplicationConfig").values()
    (rule,) = config["inputs"]["rules"]
    assert rule["destination"] == {
        "bucket": replica["outputs"]["arn"],
        "encryptionConfiguration": {"replicaKmsKeyId": replica_key["outputs"]["arn"]},
    }
    for stack in ("dev", "staging"):
        assert "platform-artifacts-replica" not in resources(stack, KEY)
        assert "artifacts-models-replica" not in resources(stack, BUCKET)
