"""The training example: valid for the cluster's Kubernetes version, admitted by the pack, and consistent with what
the platform gives a team (queue, service account, GPU taint, network label, quota, its models prefix)."""

from __future__ import annotations

import json

import pulumi_kubernetes as k8s
import yaml

from components import facts, gpu_labels
from components.karpenter import DO_NOT_DISRUPT
from components.kueue import QUEUE_LABEL, QUEUE_NAME
from components.team_identity import TEAM_SERVICE_ACCOUNT, WORKLOAD_LABEL
from infra.config import load
from preflight.policy import evaluate
from preflight.scanners.k8s import schema_errors, schema_version
from preflight.testing import REPO, render

EXAMPLE = REPO / "examples" / "training" / "ddp-job.yaml"
DOCUMENTS = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
JOB = next(d for d in DOCUMENTS if d["kind"] == "Job")
POD = JOB["spec"]["template"]


def test_every_document_validates_against_the_clusters_kubernetes_schema():
    version, note = schema_version(facts.FACTS.eks.default_version)
    assert note is None, note
    for document in DOCUMENTS:
        assert schema_errors(document, version) == [], document["kind"]


def test_the_pack_admits_the_job_with_the_staging_policy_config():
    def program() -> None:
        for document in DOCUMENTS:
            kind = {"Job": k8s.batch.v1.Job, "Service": k8s.core.v1.Service}[document["kind"]]
            kind(document["metadata"]["name"], **{k: v for k, v in document.items() if k not in ("apiVersion", "kind")})

    violations = evaluate(
        render(program, stack="staging"), REPO / "policies", REPO / "policies" / "config" / "staging.json"
    )
    assert [f"{v.policy}: {v.message}" for v in violations] == []


def test_the_job_uses_the_teams_queue_identity_network_label_and_gpu_toleration():
    assert JOB["metadata"]["labels"][QUEUE_LABEL] == QUEUE_NAME
    assert JOB["spec"]["suspend"] is True, "Kueue admits a suspended Job; an unsuspended one starts before admission"
    spec = POD["spec"]
    assert spec["serviceAccountName"] == TEAM_SERVICE_ACCOUNT
    assert POD["metadata"]["labels"][WORKLOAD_LABEL[0]] == WORKLOAD_LABEL[1]
    assert POD["metadata"]["annotations"][DO_NOT_DISRUPT] == "true"
    assert spec["tolerations"] == [gpu_labels.GPU_TAINT.toleration()]
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    team = JOB["metadata"]["namespace"]
    assert env["CHECKPOINT_URI"].startswith(f"s3://${{MODELS_BUCKET}}/{team}/"), "checkpoints go to models/<team>/"


def test_the_job_fits_the_teams_quota_in_staging_and_prod():
    gpus_per_pod = int(POD["spec"]["containers"][0]["resources"]["limits"][gpu_labels.GPU_RESOURCE])
    team = JOB["metadata"]["namespace"]
    for stack in ("staging", "prod"):
        values = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
        config = load({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, stack=stack)
        quota = next(t.gpu_quota for t in config.cluster.teams if t.name == team)
        assert JOB["spec"]["parallelism"] * gpus_per_pod <= quota, stack
