"""A team's role reaches exactly its own prefixes, the shared datasets, the platform images and its log group."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from components.bucket_policies import grant_statements
from components.experiment_tracking import ARTIFACT_PREFIX as MLFLOW_ARTIFACTS
from components.experiment_tracking import server_arn
from components.team_identity import SHARED_DATASETS_PREFIX, datasets_prefix, models_prefix, team_policy
from preflight.testing import assert_golden

REGION = "us-west-2"
KEY = "arn:aws:kms:us-west-2:123456789012:key/artifacts"
DATASETS = "arn:aws:s3:::ml-platform-datasets"
MODELS = "arn:aws:s3:::ml-platform-models"
REPOSITORY = "arn:aws:ecr:us-west-2:123456789012:repository/ml-platform/staging/training"


MLFLOW = server_arn("aws", REGION, "123456789012", "ml-platform-prod")


def policy_for(team: str, *, mlflow: bool = False) -> dict[str, Any]:
    def grant(bucket: str, access: str, prefix: str) -> list[dict[str, Any]]:
        return grant_statements(bucket_arn=bucket, kms_key_arn=KEY, region=REGION, access=access, prefix=prefix)

    return team_policy(
        datasets_read=grant(DATASETS, "read", datasets_prefix(team)),
        shared_read=grant(DATASETS, "read", SHARED_DATASETS_PREFIX),
        models_read_write=grant(MODELS, "read_write", models_prefix(team)),
        repository_arns=[REPOSITORY],
        log_group_arn=f"arn:aws:logs:us-west-2:123456789012:log-group:/ml-platform/c/teams/{team}",
        mlflow_server_arn=MLFLOW if mlflow else None,
        mlflow_artifacts=grant(MODELS, "read_write", MLFLOW_ARTIFACTS) if mlflow else (),
    )


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(document: dict[str, Any], action: str, resource: str, *, s3_prefix: str | None = None) -> bool:
    """Whether an Allow statement covers the request (actions and resources with IAM wildcards; the one condition
    that narrows a resource here, `s3:prefix` on ListBucket, is evaluated)."""
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action, a) for a in _listed(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if prefixes is not None and (
            s3_prefix is None or not any(fnmatchcase(s3_prefix, p) for p in _listed(prefixes))
        ):
            continue
        return True
    return False


def test_team_policy_matches_golden():
    assert_golden("team_identity_policy.json", policy_for("research"))
    assert_golden("team_identity_policy_with_mlflow.json", policy_for("research", mlflow=True))


def test_team_logs_to_the_tracking_server_but_deletes_renames_and_restores_nothing():
    doc = policy_for("research", mlflow=True)
    for action in ("CreateExperiment", "CreateRun", "LogMetric", "LogBatch", "UpdateRun", "GetRun", "SearchRuns"):
        assert allows(doc, f"sagemaker-mlflow:{action}", MLFLOW), action
    for action in ("DeleteExperiment", "DeleteRun", "UpdateExperiment", "RestoreRun", "RenameRegisteredModel"):
        assert not allows(doc, f"sagemaker-mlflow:{action}", MLFLOW), action
    other = server_arn("aws", REGION, "123456789012", "ml-platform-staging")
    assert not allows(doc, "sagemaker-mlflow:LogMetric", other), "another stack's server"
    # The MLflow client writes run artifacts to the server's store itself.
    assert allows(doc, "s3:PutObject", f"{MODELS}/{MLFLOW_ARTIFACTS}1/run/artifacts/model.pkl")
    assert not allows(policy_for("research"), "sagemaker-mlflow:LogMetric", MLFLOW), "no server, no grant"


def test_team_reads_its_datasets_and_the_shared_ones_and_writes_its_models():
    doc = policy_for("research")
    assert allows(doc, "s3:GetObject", f"{DATASETS}/research/train.parquet")
    assert allows(doc, "s3:GetObject", f"{DATASETS}/shared/vocab.txt")
    assert allows(doc, "s3:ListBucket", DATASETS, s3_prefix="research/")
    assert allows(doc, "s3:PutObject", f"{MODELS}/research/run-1/checkpoint.pt")
    assert allows(doc, "s3:GetObject", f"{MODELS}/research/run-1/checkpoint.pt")
    assert allows(doc, "kms:GenerateDataKey", KEY)
    assert allows(doc, "ecr:BatchGetImage", REPOSITORY)
    assert not allows(doc, "s3:PutObject", f"{DATASETS}/research/train.parquet"), "datasets are read-only"


@pytest.mark.parametrize(
    ("action", "resource", "prefix"),
    [
        ("s3:GetObject", f"{DATASETS}/serving/train.parquet", None),
        ("s3:ListBucket", DATASETS, "serving/"),
        ("s3:ListBucket", DATASETS, ""),
        ("s3:GetObject", f"{MODELS}/serving/model.tar.gz", None),
        ("s3:PutObject", f"{MODELS}/serving/model.tar.gz", None),
        ("s3:DeleteObject", f"{MODELS}/serving/model.tar.gz", None),
        ("s3:ListBucket", MODELS, "serving/"),
        # A prefix sharing the team's name as a beginning is another team's.
        ("s3:GetObject", f"{DATASETS}/research-2/train.parquet", None),
        ("s3:PutObject", f"{MODELS}/research-2/model.tar.gz", None),
        ("logs:PutLogEvents", "arn:aws:logs:us-west-2:123456789012:log-group:/ml-platform/c/teams/serving", None),
    ],
)
def test_team_a_cannot_touch_team_b(action, resource, prefix):
    assert not allows(policy_for("research"), action, resource, s3_prefix=prefix)


def test_team_policy_grants_nothing_beyond_s3_kms_ecr_and_its_logs():
    doc = policy_for("research")
    actions = {a for s in doc["Statement"] for a in _listed(s["Action"])}
    assert {a.split(":")[0] for a in actions} == {"s3", "kms", "ecr", "logs"}
    assert not any("*" in a for a in actions)
    kms = [s for s in doc["Statement"] if any(a.startswith("kms:") for a in _listed(s["Action"]))]
    assert kms and all(s["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{REGION}.amazonaws.com" for s in kms)


def test_training_pods_reach_their_peers_the_pod_identity_agent_and_https_only():
    from components.team_identity import workload_network_policy_spec

    spec = workload_network_policy_spec()
    assert spec["podSelector"] == {"matchLabels": {"ml-platform/workload": "training"}}
    assert spec["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"ml-platform/workload": "training"}}}]}]
    ports = [(e.get("to"), e.get("ports")) for e in spec["egress"]]
    assert ([{"ipBlock": {"cidr": "169.254.170.23/32"}}], [{"protocol": "TCP", "port": 80}]) in ports
    assert ([{"ipBlock": {"cidr": "0.0.0.0/0"}}], [{"protocol": "TCP", "port": 443}]) in ports
    assert all(e.get("ports") for e in spec["egress"] if any("ipBlock" in t for t in e["to"]))
