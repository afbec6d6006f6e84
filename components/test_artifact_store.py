"""ArtifactStore: validation, the default store per environment (one test per property), replication, grants, and
the rendered bucket policies (golden files).

Regenerate the golden bucket policies with
`UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_artifact_store.py`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.artifact_store import (
    PURPOSES,
    ArtifactStore,
    ArtifactStoreArgs,
    ArtifactStoreSettings,
    ReplicationArgs,
    ReplicationSettings,
    lifecycle_rules,
    replication_policy,
    validate_artifact_store,
)
from components.bucket_policies import grant_statements
from infra.config import load
from preflight.emulator.aws import ACCOUNT_ID
from preflight.engine import ProgramError
from preflight.model import ResourceRecord, StackResult
from preflight.testing import assert_golden, render

ENVIRONMENTS = ("dev", "staging", "prod")
KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/0b1e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
SAGEMAKER_KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/5a6b7c8d-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
REPLICA_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/9f8e7d6c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT_ID}:policy/ml-platform-boundary"
ENDPOINT_ID = "vpce-0a1b2c3d4e5f60718"
REPLICATION_ARGS = ReplicationArgs(kms_key_arn=REPLICA_KEY_ARN, permissions_boundary_arn=BOUNDARY_ARN)
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*"
TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
STATEFUL = (BUCKET, PUBLIC_ACCESS, OWNERSHIP, ENCRYPTION, VERSIONING, LIFECYCLE, LOGGING, NOTIFICATION, POLICY)


def args(**overrides: Any) -> ArtifactStoreArgs:
    """Store args; overrides of a setting (`buckets=...`) go into `settings`, the rest are arguments. Without the
    VPC-endpoint rule unless a test asks for it (it needs an endpoint id)."""
    settings = {"require_vpc_endpoint": False}
    settings.update({k: overrides.pop(k) for k in list(overrides) if k in ArtifactStoreSettings.model_fields})
    return replace(ArtifactStoreArgs(kms_key_arn=KEY_ARN, settings=ArtifactStoreSettings(**settings)), **overrides)


def args_for(env: str, **storage: Any) -> ArtifactStoreArgs:
    """The store as the program builds it from an environment's effective config (no replication unless
    `storage` asks for it), with an administrator exempt from the VPC-endpoint rule."""
    storage = {"vpcEndpointExemptRoleArns": [ADMIN_ARN], **storage}
    cfg = load(
        {
            "aws:region": "us-west-2",
            "ml-platform:environment": env,
            "ml-platform:tags": json.dumps(TAGS),
            "ml-platform:storage": json.dumps(storage),
        },
        stack=env,
    )
    return ArtifactStoreArgs(
        settings=cfg.storage,
        kms_key_arn=KEY_ARN,
        kms_key_arns_by_purpose={"data-capture": SAGEMAKER_KEY_ARN},
        vpc_endpoint_id=ENDPOINT_ID,
        replication=REPLICATION_ARGS if cfg.storage.models_replication else None,
        force_destroy=env == "dev" and not cfg.protect_stateful_resources,
        protect=cfg.protect_stateful_resources,
    )


def render_store(store_args: ArtifactStoreArgs, grants: dict[str, tuple[str, str, str]] | None = None) -> StackResult:
    def program() -> None:
        store = ArtifactStore("artifacts", store_args)
        for export, (purpose, access, prefix) in (grants or {}).items():
            pulumi.export(export, store.grant_statements(purpose, access, prefix))

    return render(program)


@cache
def default_store(env: str) -> StackResult:
    return render_store(args_for(env))


def of_bucket(result: StackResult, type_: str, purpose: str) -> ResourceRecord:
    suffix = {
        PUBLIC_ACCESS: "-public-access-block",
        OWNERSHIP: "-ownership",
        ENCRYPTION: "-encryption",
        VERSIONING: "-versioning",
        LIFECYCLE: "-lifecycle",
        LOGGING: "-logging",
        NOTIFICATION: "-notifications",
        POLICY: "-policy",
        BUCKET: "",
    }[type_]
    return result.one(type_, f"artifacts-{purpose}{suffix}")


def bucket_name(result: StackResult, purpose: str) -> str:
    return of_bucket(result, BUCKET, purpose).outputs["bucket"]


def policy(result: StackResult, purpose: str) -> dict[str, Any]:
    return json.loads(of_bucket(result, POLICY, purpose).inputs["policy"])


def statement(result: StackResult, purpose: str, sid: str) -> dict[str, Any]:
    (found,) = [s for s in policy(result, purpose)["Statement"] if s.get("Sid") == sid]
    return found


# -- validation --------------------------------------------------------------------------------------------------


def fails(**overrides: Any) -> str:
    with pytest.raises(ValueError) as info:
        validate_artifact_store(args(**overrides))
    return str(info.value)


def settings_fail(**settings: Any) -> str:
    """The message of the settings' own validation (the stack file's one-line form is in infra/config/test_storage.py)."""
    with pytest.raises(ValidationError) as info:
        ArtifactStoreSettings(**settings)
    (error,) = info.value.errors()
    return str(error["ctx"]["error"])


def test_fails_when_bucket_purpose_is_unknown():
    assert settings_fail(buckets=("datasets", "features", "access-logs")) == (
        "unknown bucket purpose; allowed: datasets, models, data-capture, access-logs"
    )


def test_fails_when_access_logs_bucket_is_left_out():
    assert settings_fail(buckets=("datasets",)) == (
        "must include 'access-logs': every other bucket delivers its server access logs there"
    )


def test_fails_when_a_purpose_is_listed_twice():
    assert settings_fail(buckets=("models", "models", "access-logs")) == (
        "listed twice; each bucket purpose appears once"
    )


@pytest.mark.parametrize(
    "settings, what",
    [
        ({"noncurrent_version_expiry_days": 0}, "how long overwritten or deleted object versions are kept"),
        ({"noncurrent_version_expiry_days": 3651}, "how long overwritten or deleted object versions are kept"),
        ({"access_log_retention_days": 0}, "how long server access logs are kept"),
        ({"models_object_lock": {"retention_days": 4000}}, "how long each model version is locked against deletion"),
    ],
)
def test_fails_when_retention_is_out_of_range(settings, what):
    assert settings_fail(**settings) == f"must be between 1 and 3650 days ({what})"


def test_fails_when_object_lock_is_asked_for_without_versioning():
    assert settings_fail(versioning=False, models_object_lock={}) == (
        "needs versioning; set `versioning: true` or remove `modelsObjectLock`"
    )


def test_fails_when_replication_is_asked_for_without_versioning():
    assert settings_fail(versioning=False, models_replication={"destination_region": "us-east-1"}) == (
        "needs versioning; set `versioning: true` or remove `modelsReplication`"
    )


def test_fails_when_object_lock_is_asked_for_without_a_models_bucket():
    assert settings_fail(buckets=("datasets", "access-logs"), models_object_lock={}) == (
        "needs the 'models' bucket in `buckets`; add it or remove `modelsObjectLock`"
    )


def test_fails_when_the_access_logs_bucket_is_given_a_kms_key():
    assert fails(kms_key_arns_by_purpose={"access-logs": KEY_ARN}) == (
        "kms_key_arns_by_purpose: 'access-logs' is not a KMS-encrypted bucket of this store; "
        "allowed: datasets, models, data-capture"
    )


def test_fails_when_the_vpc_endpoint_rule_is_on_without_an_endpoint():
    # Never a store that looks fenced in its settings but is not: the rule needs the endpoint it names.
    assert fails(require_vpc_endpoint=True) == (
        "vpc_endpoint_id = None while settings.require_vpc_endpoint is on: pass the VPC's S3 gateway endpoint id, "
        "or turn `requireVpcEndpoint` off"
    )


def test_fails_when_replication_settings_and_arguments_disagree():
    assert fails(models_replication=ReplicationSettings(destination_region="us-east-1")).startswith(
        "settings.models_replication is set but replication = None: "
    )
    assert fails(replication=REPLICATION_ARGS).startswith(
        "replication given but settings.models_replication is not set: "
    )


def test_fails_when_a_protected_store_would_be_force_destroyed():
    assert fails(force_destroy=True, protect=True).startswith("force_destroy=True with protect=True: ")


# -- the default store, per environment: one test per property ---------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_has_one_bucket_per_purpose_keyed_by_purpose(env):
    result = default_store(env)
    assert sorted(r.name for r in result.by_type(BUCKET)) == sorted(f"artifacts-{p}" for p in PURPOSES)
    component = result.one("mlplatform:storage:ArtifactStore")
    assert all(r.parent == component.urn for r in result.resources if r.type.startswith("aws:"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_is_encrypted_with_its_kms_key_and_bucket_keys(env):
    result = default_store(env)
    expected = {"datasets": KEY_ARN, "models": KEY_ARN, "data-capture": SAGEMAKER_KEY_ARN}
    for purpose, key in expected.items():
        (rule,) = of_bucket(result, ENCRYPTION, purpose).inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
        assert rule["bucketKeyEnabled"] is True
        assert rule["blockedEncryptionTypes"] == ["SSE-C"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_access_logs_bucket_is_encrypted_with_sse_s3_because_log_delivery_requires_it(env):
    result = default_store(env)
    (rule,) = of_bucket(result, ENCRYPTION, "access-logs").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert of_bucket(result, BUCKET, "access-logs").inputs["tags"] == {"Purpose": "access-logs"}
    assert statement(result, "access-logs", "DenyUploadsNotEncryptedWithSseS3")["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "AES256"}
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_denies_uploads_encrypted_any_other_way(env):
    result = default_store(env)
    for purpose, key in {"datasets": KEY_ARN, "models": KEY_ARN, "data-capture": SAGEMAKER_KEY_ARN}.items():
        assert statement(result, purpose, "DenyUploadsNotEncryptedWithKms")["Condition"] == {
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
        }
        other_key = statement(result, purpose, "DenyUploadsWithAnotherKmsKey")
        assert other_key["Action"] == "s3:PutObject"
        assert other_key["Condition"] == {
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_is_private(env):
    result = default_store(env)
    for purpose in PURPOSES:
        block = of_bucket(result, PUBLIC_ACCESS, purpose).inputs
        assert all(
            block[flag] is True
            for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        assert of_bucket(result, OWNERSHIP, purpose).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        # The one Allow in any bucket policy is S3 log delivery, a service principal pinned to this account.
        allows = [s for s in policy(result, purpose)["Statement"] if s["Effect"] == "Allow"]
        assert all(s["Principal"] == {"Service": "logging.s3.amazonaws.com"} for s in allows)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_is_tls_only(env):
    result = default_store(env)
    for purpose in PURPOSES:
        arn = f"arn:aws:s3:::{bucket_name(result, purpose)}"
        insecure = statement(result, purpose, "DenyInsecureTransport")
        assert (insecure["Effect"], insecure["Principal"], insecure["Action"]) == ("Deny", "*", "s3:*")
        assert insecure["Resource"] == [arn, f"{arn}/*"]
        assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statement(result, purpose, "DenyOutdatedTls")["Condition"] == {
            "NumericLessThan": {"s3:TlsVersion": "1.2"}
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_is_versioned(env):
    result = default_store(env)
    for purpose in PURPOSES:
        assert of_bucket(result, VERSIONING, purpose).inputs["versioningConfiguration"] == {"status": "Enabled"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_logs_every_bucket_to_the_access_logs_bucket(env):
    result = default_store(env)
    logs = bucket_name(result, "access-logs")
    sources = []
    for purpose in ("datasets", "models", "data-capture"):
        logging = of_bucket(result, LOGGING, purpose).inputs
        assert logging["bucket"] == bucket_name(result, purpose)
        assert logging["targetBucket"] == logs
        assert logging["targetPrefix"] == f"{purpose}/"
        assert logging["targetObjectKeyFormat"] == {"partitionedPrefix": {"partitionDateSource": "EventTime"}}
        sources.append(f"arn:aws:s3:::{bucket_name(result, purpose)}")
    assert not [r for r in result.by_type(LOGGING) if r.inputs["bucket"] == logs]  # never into itself
    delivery = statement(result, "access-logs", "AllowServerAccessLogDelivery")
    assert delivery["Resource"] == f"arn:aws:s3:::{logs}/*"
    assert delivery["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": sorted(sources)},
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_sends_object_events_to_eventbridge(env):
    result = default_store(env)
    for purpose in PURPOSES:
        assert of_bucket(result, NOTIFICATION, purpose).inputs["eventbridge"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_store_lifecycle_aborts_uploads_expires_old_versions_and_tiers_datasets(env):
    result = default_store(env)
    store_args = args_for(env)
    for purpose in PURPOSES:
        rules = {r["id"]: r for r in of_bucket(result, LIFECYCLE, purpose).inputs["rules"]}
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": 7
        }
        assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
            "noncurrentDays": store_args.settings.noncurrent_version_expiry_days
        }
        assert all(r["filter"] == {} and r["status"] == "Enabled" for r in rules.values())
        assert ("intelligent-tiering" in rules) is (purpose == "datasets")
        assert ("expire-access-logs" in rules) is (purpose == "access-logs")
    tiering = {r["id"]: r for r in of_bucket(result, LIFECYCLE, "datasets").inputs["rules"]}["intelligent-tiering"]
    assert tiering["transitions"] == [{"days": 0, "storageClass": "INTELLIGENT_TIERING"}]
    logs = {r["id"]: r for r in of_bucket(result, LIFECYCLE, "access-logs").inputs["rules"]}["expire-access-logs"]
    assert logs["expiration"] == {"days": store_args.settings.access_log_retention_days}


def test_noncurrent_version_expiry_follows_the_environment_profile():
    assert [args_for(env).settings.noncurrent_version_expiry_days for env in ENVIRONMENTS] == [7, 30, 90]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_default_store_is_protected_and_retained_outside_dev(env):
    result = default_store(env)
    for record in result.resources:
        if record.type in STATEFUL:
            assert record.options["protect"] is True, record.name
            assert record.options["retainOnDelete"] is True, record.name
    assert all(r.inputs["forceDestroy"] is False for r in result.by_type(BUCKET))


def test_dev_store_can_be_destroyed_with_its_objects():
    result = default_store("dev")
    for record in result.resources:
        if record.type in STATEFUL:
            assert record.options["protect"] is False, record.name
            assert record.options["retainOnDelete"] is False, record.name
    assert all(r.inputs["forceDestroy"] is True for r in result.by_type(BUCKET))


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_object_access_must_come_through_the_vpc_endpoint_in_staging_and_prod(env):
    result = default_store(env)
    for purpose in PURPOSES:
        fence = statement(result, purpose, "DenyObjectAccessOutsideVpcEndpoint")
        assert fence["Principal"] == "*"
        assert "s3:PutBucketPolicy" not in fence["Action"]  # the deployment can never lock itself out
        assert fence["Condition"] == {
            "StringNotEqualsIfExists": {"aws:SourceVpce": ENDPOINT_ID},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"},
            "ArnNotLikeIfExists": {"aws:PrincipalArn": [ADMIN_ARN]},
        }


def test_dev_store_has_no_vpc_endpoint_rule():
    result = default_store("dev")
    for purpose in PURPOSES:
        assert "DenyObjectAccessOutsideVpcEndpoint" not in {s["Sid"] for s in policy(result, purpose)["Statement"]}


def test_bucket_policy_waits_for_the_public_access_block():
    result = default_store("prod")
    for purpose in PURPOSES:
        assert of_bucket(result, PUBLIC_ACCESS, purpose).urn in of_bucket(result, POLICY, purpose).options["dependsOn"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("purpose", ["models", "access-logs"])
def test_rendered_bucket_policy_matches_golden(env, purpose):
    assert_golden(f"artifact_store_bucket_policy_{env}_{purpose}.json", policy(default_store(env), purpose))


# -- object lock ---------------------------------------------------------------------------------------------------


def test_prod_models_bucket_has_governance_object_lock():
    result = default_store("prod")
    assert of_bucket(result, BUCKET, "models").inputs["objectLockEnabled"] is True
    lock = result.one(OBJECT_LOCK, "artifacts-models-object-lock")
    assert lock.inputs["bucket"] == bucket_name(result, "models")
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}}
    assert lock.options["protect"] is True
    others = [r for r in result.by_type(BUCKET) if r.name != "artifacts-models"]
    assert all(r.inputs["objectLockEnabled"] is False for r in others)


def test_no_object_lock_unless_asked():
    assert default_store("staging").by_type(OBJECT_LOCK) == []


# -- replication ---------------------------------------------------------------------------------------------------


@cache
def replicated() -> StackResult:
    return render_store(args_for("prod", modelsReplication={"destinationRegion": "us-east-1"}))


def test_replica_buckets_live_in_the_destination_region_hardened_like_the_store():
    result = replicated()
    replica = result.one(BUCKET, "artifacts-models-replica")
    logs = result.one(BUCKET, "artifacts-models-replica-access-logs")
    assert replica.inputs["region"] == logs.inputs["region"] == "us-east-1"
    assert replica.inputs["objectLockEnabled"] is True  # the source is locked, so the replica must be
    (rule,) = of_bucket(result, ENCRYPTION, "models-replica").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": REPLICA_KEY_ARN}
    for role in ("models-replica", "models-replica-access-logs"):
        for type_ in (PUBLIC_ACCESS, OWNERSHIP, ENCRYPTION, VERSIONING, LIFECYCLE, NOTIFICATION, POLICY):
            record = of_bucket(result, type_, role)
            assert record.inputs["region"] == "us-east-1", record.name
            assert record.options["protect"] is True, record.name
        assert statement(result, role, "DenyInsecureTransport")
    logging = of_bucket(result, LOGGING, "models-replica").inputs
    assert logging["targetBucket"] == bucket_name(result, "models-replica-access-logs")


def test_models_replicate_kms_encrypted_objects_but_not_deletes():
    result = replicated()
    config = result.one(REPLICATION, "artifacts-models-replication")
    (rule,) = config.inputs["rules"]
    assert config.inputs["bucket"] == bucket_name(result, "models")
    assert rule["status"] == "Enabled"
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert rule["destination"] == {
        "bucket": f"arn:aws:s3:::{bucket_name(result, 'models-replica')}",
        "encryptionConfiguration": {"replicaKmsKeyId": REPLICA_KEY_ARN},
    }
    depends = set(config.options["dependsOn"])
    assert of_bucket(result, VERSIONING, "models").urn in depends
    assert of_bucket(result, VERSIONING, "models-replica").urn in depends


def test_replication_role_is_a_workload_role_with_the_boundary_and_exempt_from_the_vpc_endpoint_rule():
    result = replicated()
    component = result.one("mlplatform:iam:WorkloadRole", "artifacts-replication")
    role = next(r for r in result.by_type("aws:iam/role:Role") if r.parent == component.urn)
    assert role.inputs["permissionsBoundary"] == BOUNDARY_ARN
    trust = json.loads(role.inputs["assumeRolePolicy"])
    services = [s["Principal"]["Service"] for s in trust["Statement"]]
    assert [[svc] if isinstance(svc, str) else svc for svc in services] == [["s3.amazonaws.com"]]
    exempt = statement(result, "models", "DenyObjectAccessOutsideVpcEndpoint")["Condition"]["ArnNotLikeIfExists"]
    assert exempt == {"aws:PrincipalArn": sorted([ADMIN_ARN, role.outputs["arn"]])}


def test_replication_policy_grants_exactly_what_s3_replication_needs():
    document = replication_policy(
        source_bucket_arn="arn:aws:s3:::models",
        source_key_arn=KEY_ARN,
        replica_bucket_arn="arn:aws:s3:::replica",
        replica_key_arn=REPLICA_KEY_ARN,
        source_region="us-west-2",
        replica_region="us-east-1",
    )
    by_resource = {s["Resource"]: s for s in document["Statement"]}
    assert by_resource["arn:aws:s3:::models"]["Action"] == ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    assert by_resource["arn:aws:s3:::replica/*"]["Action"] == [
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
    ]
    assert by_resource[KEY_ARN]["Action"] == ["kms:Decrypt"]
    assert by_resource[KEY_ARN]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    assert by_resource[REPLICA_KEY_ARN]["Action"] == ["kms:Encrypt", "kms:GenerateDataKey"]
    assert by_resource[REPLICA_KEY_ARN]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert set(by_resource) == {
        "arn:aws:s3:::models",
        "arn:aws:s3:::models/*",
        "arn:aws:s3:::replica/*",
        KEY_ARN,
        REPLICA_KEY_ARN,
    }


def test_fails_when_replicating_into_the_stores_own_region():
    # The stack file cannot ask for this (PlatformConfig refuses it); a program using the component directly can.
    store = args_for("prod", modelsReplication={"destinationRegion": "us-east-1"})
    same_region = store.settings.model_copy(
        update={"models_replication": ReplicationSettings(destination_region="us-west-2")}
    )
    with pytest.raises(ProgramError) as info:
        render_store(replace(store, settings=same_region))
    assert "settings.models_replication.destination_region = 'us-west-2' is the store's own region" in str(info.value)


# -- names are a contract ------------------------------------------------------------------------------------------


def test_dropping_a_bucket_leaves_the_other_buckets_resources_untouched():
    everything = {r.urn for r in default_store("staging").resources}
    without_datasets = render_store(args_for("staging", buckets=["models", "data-capture", "access-logs"]))
    kept = {r.urn for r in without_datasets.resources if r.type.startswith("aws:s3/") and "datasets" not in r.name}
    assert kept <= everything


# -- grants ------------------------------------------------------------------------------------------------------


BUCKET_ARN = "arn:aws:s3:::models-bucket"


def test_read_grant_lists_and_gets_exactly_one_prefix_and_decrypts_through_s3_only():
    assert grant_statements(
        bucket_arn=BUCKET_ARN, kms_key_arn=KEY_ARN, region="us-west-2", access="read", prefix="runs/"
    ) == [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": BUCKET_ARN,
            "Condition": {"StringLike": {"s3:prefix": "runs/*"}},
        },
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"{BUCKET_ARN}/runs/*"},
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": KEY_ARN,
            "Condition": {
                "StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [BUCKET_ARN, f"{BUCKET_ARN}/runs/*"]},
            },
        },
    ]


def test_write_grant_puts_objects_without_list_read_or_delete():
    statements = grant_statements(bucket_arn=BUCKET_ARN, kms_key_arn=KEY_ARN, region="us-west-2", access="write")
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], f"{BUCKET_ARN}/*"),
        (["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN),
    ]


def test_read_write_grant_on_the_whole_bucket_adds_delete_but_never_wildcards():
    statements = grant_statements(bucket_arn=BUCKET_ARN, kms_key_arn=KEY_ARN, region="us-west-2", access="read_write")
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (["s3:ListBucket"], BUCKET_ARN),
        (
            [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
                "s3:DeleteObject",
            ],
            f"{BUCKET_ARN}/*",
        ),
        (["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN),
    ]
    assert "Condition" not in statements[0]  # no prefix: the whole bucket may be listed
    assert not any(a.endswith("*") for s in statements for a in s["Action"])


def test_grant_on_the_sse_s3_access_logs_bucket_has_no_kms_statement():
    statements = grant_statements(bucket_arn=BUCKET_ARN, kms_key_arn=None, region="us-west-2", access="read")
    assert all(not a.startswith("kms:") for s in statements for a in s["Action"])


@pytest.mark.parametrize(
    "prefix, problem",
    [
        ("runs", "must end with '/' (otherwise 'models/v1' would also grant 'models/v10')"),
        ("/runs/", "must not start with '/'"),
        ("runs/*/", "must not contain wildcards or policy variables"),
        ("runs//", "must not contain empty path segments ('//')"),
    ],
)
def test_fails_when_grant_prefix_is_not_a_plain_folder(prefix, problem):
    with pytest.raises(ValueError) as info:
        grant_statements(bucket_arn=BUCKET_ARN, kms_key_arn=KEY_ARN, region="us-west-2", access="read", prefix=prefix)
    assert str(info.value) == f"prefix {prefix!r}: {problem}"


def test_fails_when_grant_access_level_is_unknown():
    with pytest.raises(ValueError) as info:
        grant_statements(bucket_arn=BUCKET_ARN, kms_key_arn=KEY_ARN, region="us-west-2", access="admin")
    assert str(info.value) == "access 'admin': must be one of read, write, read_write"


def test_store_grants_use_each_buckets_own_arn_and_key():
    result = render_store(
        args_for("staging"),
        grants={"capture": ("data-capture", "write", ""), "models": ("models", "read", "serving/")},
    )
    capture_arn = f"arn:aws:s3:::{bucket_name(result, 'data-capture')}"
    assert result.outputs["capture"] == grant_statements(
        bucket_arn=capture_arn, kms_key_arn=SAGEMAKER_KEY_ARN, region="us-west-2", access="write"
    )
    models_arn = f"arn:aws:s3:::{bucket_name(result, 'models')}"
    assert result.outputs["models"] == grant_statements(
        bucket_arn=models_arn, kms_key_arn=KEY_ARN, region="us-west-2", access="read", prefix="serving/"
    )


def test_store_grant_policy_is_a_whole_iam_document_with_exactly_the_grant():
    def program() -> None:
        store = ArtifactStore("artifacts", args_for("prod"))
        pulumi.export("policy", store.grant_policy("datasets", "read_write", "features/"))

    result = render(program)
    datasets_arn = f"arn:aws:s3:::{bucket_name(result, 'datasets')}"
    assert json.loads(result.outputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": grant_statements(
            bucket_arn=datasets_arn, kms_key_arn=KEY_ARN, region="us-west-2", access="read_write", prefix="features/"
        ),
    }


def test_fails_when_granting_on_a_bucket_the_store_does_not_have():
    with pytest.raises(ProgramError) as info:
        render_store(
            replace(args_for("dev", buckets=["models", "access-logs"]), kms_key_arns_by_purpose={}),
            grants={"g": ("datasets", "read", "")},
        )
    assert "grant_statements: unknown purpose 'datasets'; this store has: access-logs, models" in str(info.value)


def test_lifecycle_rules_without_versioning_skip_the_noncurrent_rule():
    rules = lifecycle_rules("models", ArtifactStoreSettings(versioning=False))
    assert [r["id"] for r in rules] == ["abort-incomplete-multipart-uploads"]
