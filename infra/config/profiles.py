"""Environment-dependent values, in one place.

A stack's effective config is its profile below, deep-merged with what `Pulumi.<stack>.yaml` sets (the stack file
wins; lists are replaced, not merged). Keys are spelled as in the stack file (camelCase), so a default and an
override read the same. A profile only overrides: each setting's base default is declared once, with the setting
(in its component's settings model, listed in `docs/settings.md`), and a profile that restates it would hide a
later change of that default from the environment.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        # Destroyable: no protect, buckets may be force-destroyed, keys may have a short deletion window.
        "protectStatefulResources": False,
        "network": {
            # Cheap when idle: 2 AZs, one NAT gateway, no interface endpoints (each costs per AZ per hour);
            # S3 still goes through its free gateway endpoint. Distinct CIDRs per environment so the VPCs can
            # be peered or attached to a transit gateway without renumbering.
            "cidr": "10.10.0.0/16",
            "azCount": 2,
            "natStrategy": "single",
            "interfaceEndpoints": [],
            "flowLogRetentionDays": 30,
        },
        "storage": {
            # Short key deletion window and no VPC-endpoint restriction, so a dev stack can be destroyed and
            # inspected from a laptop; old object versions go after a week.
            "keyDeletionWindowDays": 7,
            "requireVpcEndpoint": False,
            "noncurrentVersionExpiryDays": 7,
            "accessLogRetentionDays": 30,
        },
        "cluster": {
            # One small system node and one GPU pool of single-GPU spot nodes that idles at zero; inference may run
            # on spot here (nothing in dev has an availability promise).
            "logRetentionDays": 30,
            "systemPool": {"minSize": 1, "maxSize": 2, "desiredSize": 1},
            "gpuPools": [{"name": "gpu", "instanceTypes": ["g6.xlarge", "g5.xlarge"], "capacity": "spot"}],
            "requireOnDemandInference": False,
        },
        "endpoints": {
            # CPU models serve serverless: no idle cost. Dev alone accepts serverless's gaps (no VPC config,
            # network isolation, data capture or blue/green); an instance endpoint here is one instance.
            "allowServerless": True,
            # Retraining pipelines exist but start only by hand: a weekly training job is not idle spend.
            "retrainingSchedules": False,
            "defaults": {
                "serving": "serverless",
                "instance": {"initialCount": 1, "minCount": 1, "maxCount": 2},
                "deployment": {"trafficShift": "all-at-once"},
                "logRetentionDays": 30,
            },
        },
        # A tracking server bills while it exists (Small ≈ $470/month): more than dev's whole idle budget.
        "experimentTracking": {"enabled": False},
        "guardrails": {
            "allowedInstanceTypes": ["m6i.large", "m6i.xlarge", "g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"],
            "allowedSagemakerInstanceTypes": ["ml.m5.large", "ml.m5.xlarge", "ml.g5.xlarge"],
            # A small monthly limit: dev spend is mostly idle capacity someone forgot.
            "budget": {"monthlyUsd": 500},
        },
        "monitoring": {
            # Serverless endpoints start cold: a looser latency page. A dev GPU left idle for an hour is someone's
            # forgotten notebook. Nothing captures data here (serverless), so no data-quality schedules.
            "endpointLatencyP99Ms": 3000,
            "endpointAlarmMinutes": 15,
            "gpuIdleHours": 1,
            "pendingPodsMinutes": 30,
            "nodeNotReadyMinutes": 15,
            "dataQuality": {"enabled": False},
        },
    },
    "staging": {
        "protectStatefulResources": True,
        # The tracking server (≈ $470/month) alone would take staging past its idle ceiling; experiments are
        # tracked in prod's. A staging file opts in with `enabled: true` and a budget that covers it.
        "experimentTracking": {"enabled": False},
        "network": {
            # Prod's topology (the defaults: 3 AZs, private endpoints) so AZ-spread and endpoint problems show here
            # first; one NAT gateway, since staging may lose internet egress while an AZ is down.
            "cidr": "10.20.0.0/16",
            "natStrategy": "single",
            "flowLogRetentionDays": 90,
        },
        "storage": {
            # Requires the VPC endpoint like prod (the default); old versions and access logs kept for less long.
            "noncurrentVersionExpiryDays": 30,
            "accessLogRetentionDays": 90,
        },
        "cluster": {
            # Prod's shape at a smaller size: two system nodes, an on-demand inference pool and a spot training
            # pool, both idling at zero; Karpenter brings GPU nodes up (spot diversity, faster than node groups).
            "logRetentionDays": 90,
            "gpuCapacity": "karpenter",
            "systemPool": {"maxSize": 3},
            "gpuPools": [
                {"name": "inference", "instanceTypes": ["g6.xlarge", "g5.xlarge"], "purpose": "inference"},
                {
                    "name": "training",
                    "instanceTypes": ["g6.2xlarge", "g5.2xlarge"],
                    "capacity": "spot",
                    "maxSize": 4,
                    "diskGib": 200,
                },
            ],
        },
        "endpoints": {
            # Staging rehearses prod's rollout with the declared endpoint defaults (components/model_endpoint.py):
            # instance fleets of 2-4 with a one-instance canary, autoscaling, capture; only approved registry versions.
            "requireModelPackage": True,
        },
        "guardrails": {
            "allowedInstanceTypes": [
                "m6i.large",
                "m6i.xlarge",
                "g5.xlarge",
                "g5.2xlarge",
                "g6.xlarge",
                "g6.2xlarge",
                "g6e.xlarge",
            ],
            "allowedSagemakerInstanceTypes": [
                "ml.m5.large",
                "ml.m5.xlarge",
                "ml.c5.xlarge",
                "ml.g5.xlarge",
                "ml.g5.2xlarge",
            ],
            "budget": {"monthlyUsd": 1500},
        },
        "monitoring": {
            # Prod's alarms with more patience (idle GPUs page after the default 2 hours); data quality once a day
            # (staging captures little traffic).
            "pendingPodsMinutes": 20,
            "dataQuality": {"schedule": "cron(0 6 ? * * *)"},
        },
    },
    "prod": {
        "protectStatefulResources": True,
        "network": {
            # The defaults, which survive an AZ loss: 3 AZs, a NAT gateway in each (egress never crosses AZs), AWS
            # APIs reached privately; flow logs kept a year for investigations.
            "cidr": "10.30.0.0/16",
        },
        "storage": {
            # The defaults (VPC endpoint required, versions kept 90 days, access logs a year), and published model
            # versions cannot be deleted for 30 days (governance mode: admins can still override).
            "modelsObjectLock": {},
        },
        "cluster": {
            # Three system nodes (one per AZ, never fewer than two); an on-demand inference pool and multi-node
            # training on p4d with EFA in a cluster placement group. Karpenter brings GPU nodes up; it has no
            # minimum size, so both pools idle at zero (serving with an availability promise runs on
            # SageMaker endpoints; set gpuCapacity: node-groups and minSize: 1 for a warm GPU node in the cluster).
            "gpuCapacity": "karpenter",
            "systemPool": {"instanceTypes": ["m6i.large", "m6i.xlarge"], "desiredSize": 3},
            "gpuPools": [
                {
                    "name": "inference",
                    "instanceTypes": ["g6.xlarge", "g5.xlarge"],
                    "maxSize": 6,
                    "purpose": "inference",
                },
                {"name": "training", "instanceTypes": ["p4d.24xlarge"], "maxSize": 4, "diskGib": 500, "efa": True},
            ],
        },
        "endpoints": {
            # At least 2 instances so a zone can fail; longer bake and old-fleet retention for a fast rollback.
            "minInstances": 2,
            "requireModelPackage": True,
            "defaults": {
                "instance": {"type": "ml.m5.xlarge", "maxCount": 6},
                "deployment": {
                    "waitIntervalSeconds": 600,
                    "terminationWaitSeconds": 900,
                    "maxExecutionTimeoutSeconds": 7200,
                },
                "dataCapture": {"samplingPercentage": 10},
                "logRetentionDays": 365,
            },
        },
        "guardrails": {
            "allowedInstanceTypes": [
                "m6i.large",
                "m6i.xlarge",
                "m6i.2xlarge",
                "g5.*",
                "g6.*",
                "g6e.*",
                "p4d.24xlarge",
                "p5.48xlarge",
            ],
            "allowedSagemakerInstanceTypes": ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.g5.*", "ml.g6.*"],
            "budget": {"monthlyUsd": 5000},
        },
        "monitoring": {
            # Pages early: a sustained 5XX rate or latency, a node down, pods waiting for GPUs. Training pools may
            # idle between epochs' data loads, so three hours before idle GPUs page. Data quality hourly.
            "endpointErrorPercent": 0.5,
            "endpointAlarmMinutes": 5,
            "maxInstancesMinutes": 15,
            "gpuIdleHours": 3,
            "pendingPodsMinutes": 10,
            "nodeNotReadyMinutes": 5,
        },
    },
}


def merge(base: Any, override: Any) -> Any:
    """Deep-merge `override` onto `base`: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = deepcopy(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value) if key in base else deepcopy(value)
        return out
    return deepcopy(override)


def with_profile(environment: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The stack's settings laid over its environment's profile."""
    return merge(PROFILES.get(environment, {}), settings)
