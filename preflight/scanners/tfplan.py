"""A stack's AWS resources as a Terraform plan document (`terraform show -json`), so checkov can judge them.

checkov cannot read Pulumi, but it reads Terraform plans, and pulumi-aws is the Terraform AWS provider bridged:
the same resources under other names. Three differences matter and are undone here:

- type names: `aws:ec2/securityGroup:SecurityGroup` is `aws_security_group` (the `TYPES` table below);
- property names: camelCase in Pulumi, snake_case in Terraform, and list blocks that the bridge pluralised
  (`rules` is Terraform's `rule`, `taints` is `taint`): the per-type `renames`;
- nested blocks: Pulumi flattens a block that can occur once into an object, Terraform keeps every block a
  list, so every object becomes a one-element list, except maps (tags, labels, dimensions ...), which stay maps.

Where one resource's input was built from another's output, the plan's `configuration` carries
`expressions.<attr>.references` (from `ResourceRecord.property_dependencies`), which is what checkov's graph
checks follow to connect a bucket to its public access block or a VPC to its flow log.

`TYPES` is the one place that knows Terraform. A type missing from it is not scanned by checkov, and the
scanner says so (`TfPlan.unmapped`) rather than guessing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from preflight.model import SECRET, UNKNOWN, ResourceRecord, StackResult

# The provider's source address in its short form (Terraform implies the default registry host); checkov reads
# only the provider's local name.
PROVIDER_SOURCE = "hashicorp/aws"
TERRAFORM_VERSION = "1.9.8"
"""Reported as the plan's producer; checkov only requires the key to be present."""
FORMAT_VERSION = "1.2"


@dataclass(frozen=True)
class TfType:
    """How one Pulumi resource type reads as Terraform."""

    tf_type: str
    renames: Mapping[str, str] = field(default_factory=dict)
    """Pulumi property path (dotted camelCase, list items not indexed) -> Terraform attribute name, only where
    plain camelCase -> snake_case is wrong (blocks the bridge pluralised)."""
    maps: frozenset[str] = frozenset()
    """Property paths whose value is a Terraform map: keys are data, kept verbatim, never a nested block."""
    json: frozenset[str] = frozenset()
    """Property paths holding a policy document: JSON text in Terraform, even where the program passed an object."""


def _t(
    tf_type: str, renames: Mapping[str, str] | None = None, maps: tuple[str, ...] = (), json: tuple[str, ...] = ()
) -> TfType:
    return TfType(tf_type, dict(renames or {}), frozenset(maps), frozenset(json))


_BUCKET_INLINE = {
    "corsRules": "cors_rule",
    "grants": "grant",
    "lifecycleRules": "lifecycle_rule",
    "lifecycleRules.transitions": "transition",
    "lifecycleRules.noncurrentVersionTransitions": "noncurrent_version_transition",
}
_SSE = {"rules": "rule"}
_LIFECYCLE = {
    "rules": "rule",
    "rules.transitions": "transition",
    "rules.noncurrentVersionTransitions": "noncurrent_version_transition",
}
_POLICY = ("policy",)

# The mapping table: every AWS type the components and the team's programs use. Keep it sorted by service.
TYPES: dict[str, TfType] = {
    # --- network ---------------------------------------------------------------------------------------
    "aws:ec2/vpc:Vpc": _t("aws_vpc"),
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": _t("aws_vpc_ipv4_cidr_block_association"),
    "aws:ec2/subnet:Subnet": _t("aws_subnet"),
    "aws:ec2/internetGateway:InternetGateway": _t("aws_internet_gateway"),
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": _t("aws_egress_only_internet_gateway"),
    "aws:ec2/natGateway:NatGateway": _t("aws_nat_gateway", {"availabilityZoneAddresses": "availability_zone_address"}),
    "aws:ec2/eip:Eip": _t("aws_eip"),
    "aws:ec2/tag:Tag": _t("aws_ec2_tag"),
    "aws:ec2/routeTable:RouteTable": _t("aws_route_table", {"routes": "route"}),
    "aws:ec2/defaultRouteTable:DefaultRouteTable": _t("aws_default_route_table", {"routes": "route"}),
    "aws:ec2/route:Route": _t("aws_route"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _t("aws_route_table_association"),
    "aws:ec2/flowLog:FlowLog": _t("aws_flow_log"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _t(
        "aws_vpc_endpoint", {"subnetConfigurations": "subnet_configuration"}, json=_POLICY
    ),
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": _t("aws_vpc_endpoint_policy", json=_POLICY),
    "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation": _t(
        "aws_vpc_endpoint_route_table_association"
    ),
    "aws:ec2/securityGroup:SecurityGroup": _t("aws_security_group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _t("aws_default_security_group"),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _t("aws_security_group_rule"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _t("aws_vpc_security_group_ingress_rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _t("aws_vpc_security_group_egress_rule"),
    "aws:ec2/networkAcl:NetworkAcl": _t("aws_network_acl"),
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": _t("aws_default_network_acl"),
    "aws:ec2/networkAclRule:NetworkAclRule": _t("aws_network_acl_rule"),
    "aws:lb/loadBalancer:LoadBalancer": _t("aws_lb", {"subnetMappings": "subnet_mapping"}),
    "aws:lb/listener:Listener": _t(
        "aws_lb_listener", {"defaultActions": "default_action", "defaultActions.forward.targetGroups": "target_group"}
    ),
    "aws:lb/targetGroup:TargetGroup": _t(
        "aws_lb_target_group", {"targetFailovers": "target_failover", "targetHealthStates": "target_health_state"}
    ),
    # --- compute and block storage ---------------------------------------------------------------------
    "aws:ec2/launchTemplate:LaunchTemplate": _t(
        "aws_launch_template",
        {"licenseSpecifications": "license_specification"},
        maps=("tagSpecifications.tags",),
    ),
    "aws:ec2/launchConfiguration:LaunchConfiguration": _t(
        "aws_launch_configuration",
        {"ebsBlockDevices": "ebs_block_device", "ephemeralBlockDevices": "ephemeral_block_device"},
    ),
    "aws:ec2/placementGroup:PlacementGroup": _t("aws_placement_group"),
    "aws:ec2/instance:Instance": _t(
        "aws_instance",
        {
            "ebsBlockDevices": "ebs_block_device",
            "ephemeralBlockDevices": "ephemeral_block_device",
            "networkInterfaces": "network_interface",
        },
        maps=("volumeTags", "rootBlockDevice.tags", "ebsBlockDevices.tags"),
    ),
    "aws:ebs/volume:Volume": _t("aws_ebs_volume"),
    "aws:ebs/encryptionByDefault:EncryptionByDefault": _t("aws_ebs_encryption_by_default"),
    "aws:ebs/defaultKmsKey:DefaultKmsKey": _t("aws_ebs_default_kms_key"),
    "aws:autoscaling/group:Group": _t(
        "aws_autoscaling_group",
        {"tags": "tag", "trafficSources": "traffic_source", "initialLifecycleHooks": "initial_lifecycle_hook"},
    ),
    # One tag on a group EKS created (a managed node group's): the cluster-autoscaler's scale-from-zero hints.
    "aws:autoscaling/tag:Tag": _t("aws_autoscaling_group_tag"),
    # --- keys and secrets ------------------------------------------------------------------------------
    "aws:kms/key:Key": _t("aws_kms_key", json=_POLICY),
    "aws:kms/alias:Alias": _t("aws_kms_alias"),
    "aws:kms/keyPolicy:KeyPolicy": _t("aws_kms_key_policy", json=_POLICY),
    "aws:kms/replicaKey:ReplicaKey": _t("aws_kms_replica_key", json=_POLICY),
    "aws:secretsmanager/secret:Secret": _t("aws_secretsmanager_secret", {"replicas": "replica"}, json=_POLICY),
    "aws:ssm/parameter:Parameter": _t("aws_ssm_parameter"),
    # --- S3 ----------------------------------------------------------------------------------------------
    "aws:s3/bucket:Bucket": _t("aws_s3_bucket", _BUCKET_INLINE, json=_POLICY),
    "aws:s3/bucketV2:BucketV2": _t(
        "aws_s3_bucket",
        {
            **_BUCKET_INLINE,
            "loggings": "logging",
            "versionings": "versioning",
            "websites": "website",
            "serverSideEncryptionConfigurations": "server_side_encryption_configuration",
            "serverSideEncryptionConfigurations.rules": "rule",
            "replicationConfigurations": "replication_configuration",
        },
        json=_POLICY,
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _t(
        "aws_s3_bucket_server_side_encryption_configuration", _SSE
    ),
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": _t(
        "aws_s3_bucket_server_side_encryption_configuration", _SSE
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _t("aws_s3_bucket_public_access_block"),
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": _t("aws_s3_account_public_access_block"),
    "aws:s3/bucketVersioning:BucketVersioning": _t("aws_s3_bucket_versioning"),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _t("aws_s3_bucket_versioning"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _t(
        "aws_s3_bucket_lifecycle_configuration", _LIFECYCLE
    ),
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": _t(
        "aws_s3_bucket_lifecycle_configuration", _LIFECYCLE
    ),
    "aws:s3/bucketLogging:BucketLogging": _t("aws_s3_bucket_logging", {"targetGrants": "target_grant"}),
    "aws:s3/bucketLoggingV2:BucketLoggingV2": _t("aws_s3_bucket_logging", {"targetGrants": "target_grant"}),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _t("aws_s3_bucket_ownership_controls"),
    "aws:s3/bucketPolicy:BucketPolicy": _t("aws_s3_bucket_policy", json=_POLICY),
    "aws:s3/bucketNotification:BucketNotification": _t(
        "aws_s3_bucket_notification", {"lambdaFunctions": "lambda_function", "queues": "queue", "topics": "topic"}
    ),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _t(
        "aws_s3_bucket_replication_configuration", {"rules": "rule"}
    ),
    "aws:s3/bucketAcl:BucketAcl": _t("aws_s3_bucket_acl", {"accessControlPolicy.grants": "grant"}),
    "aws:s3/bucketAclV2:BucketAclV2": _t("aws_s3_bucket_acl", {"accessControlPolicy.grants": "grant"}),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _t("aws_s3_bucket_object_lock_configuration"),
    # --- container images ----------------------------------------------------------------------------
    "aws:ecr/repository:Repository": _t(
        "aws_ecr_repository",
        {
            "encryptionConfigurations": "encryption_configuration",
            "imageTagMutabilityExclusionFilters": "image_tag_mutability_exclusion_filter",
        },
    ),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _t("aws_ecr_repository_policy", json=_POLICY),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _t("aws_ecr_lifecycle_policy", json=_POLICY),
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": _t(
        "aws_ecr_registry_scanning_configuration", {"rules": "rule", "rules.repositoryFilters": "repository_filter"}
    ),
    # --- IAM ---------------------------------------------------------------------------------------------
    "aws:iam/role:Role": _t(
        "aws_iam_role", {"inlinePolicies": "inline_policy"}, json=("assumeRolePolicy", "inlinePolicies.policy")
    ),
    "aws:iam/policy:Policy": _t("aws_iam_policy", json=_POLICY),
    "aws:iam/rolePolicy:RolePolicy": _t("aws_iam_role_policy", json=_POLICY),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _t("aws_iam_role_policy_attachment"),
    "aws:iam/policyAttachment:PolicyAttachment": _t("aws_iam_policy_attachment"),
    "aws:iam/instanceProfile:InstanceProfile": _t("aws_iam_instance_profile"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _t(
        "aws_iam_openid_connect_provider", {"clientIdLists": "client_id_list", "thumbprintLists": "thumbprint_list"}
    ),
    "aws:iam/user:User": _t("aws_iam_user"),
    "aws:iam/userPolicy:UserPolicy": _t("aws_iam_user_policy", json=_POLICY),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": _t("aws_iam_user_policy_attachment"),
    "aws:iam/group:Group": _t("aws_iam_group"),
    "aws:iam/groupPolicy:GroupPolicy": _t("aws_iam_group_policy", json=_POLICY),
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": _t("aws_iam_group_policy_attachment"),
    "aws:iam/accountPasswordPolicy:AccountPasswordPolicy": _t("aws_iam_account_password_policy"),
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": _t("aws_iam_service_linked_role"),
    "aws:accessanalyzer/analyzer:Analyzer": _t("aws_accessanalyzer_analyzer"),
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": _t(
        "aws_ssoadmin_permission_set_inline_policy", json=("inlinePolicy",)
    ),
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": _t("aws_ssoadmin_managed_policy_attachment"),
    # --- EKS ---------------------------------------------------------------------------------------------
    "aws:eks/cluster:Cluster": _t("aws_eks_cluster"),
    "aws:eks/nodeGroup:NodeGroup": _t("aws_eks_node_group", {"taints": "taint"}, maps=("labels",)),
    "aws:eks/addon:Addon": _t("aws_eks_addon", {"podIdentityAssociations": "pod_identity_association"}),
    "aws:eks/accessEntry:AccessEntry": _t("aws_eks_access_entry"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _t("aws_eks_access_policy_association"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _t("aws_eks_pod_identity_association"),
    "aws:eks/fargateProfile:FargateProfile": _t(
        "aws_eks_fargate_profile", {"selectors": "selector"}, maps=("selectors.labels",)
    ),
    # --- logs, alarms, events, messaging -----------------------------------------------------------------
    "aws:cloudwatch/logGroup:LogGroup": _t("aws_cloudwatch_log_group"),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _t(
        "aws_cloudwatch_log_resource_policy", json=("policyDocument",)
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _t(
        "aws_cloudwatch_metric_alarm",
        {"metricQueries": "metric_query"},
        maps=("dimensions", "metricQueries.metric.dimensions"),
    ),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _t(
        "aws_cloudwatch_log_metric_filter", maps=("metricTransformation.dimensions",)
    ),
    "aws:cloudwatch/eventRule:EventRule": _t("aws_cloudwatch_event_rule"),
    "aws:cloudwatch/eventTarget:EventTarget": _t("aws_cloudwatch_event_target"),
    "aws:cloudwatch/eventConnection:EventConnection": _t("aws_cloudwatch_event_connection"),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": _t("aws_cloudwatch_event_api_destination"),
    "aws:scheduler/schedule:Schedule": _t(
        "aws_scheduler_schedule", {"target.sagemakerPipelineParameters.pipelineParameters": "pipeline_parameter"}
    ),
    "aws:cloudwatch/dashboard:Dashboard": _t("aws_cloudwatch_dashboard"),
    "aws:sns/topic:Topic": _t("aws_sns_topic", json=_POLICY),
    "aws:sns/topicPolicy:TopicPolicy": _t("aws_sns_topic_policy", json=_POLICY),
    "aws:sns/topicSubscription:TopicSubscription": _t("aws_sns_topic_subscription"),
    "aws:sqs/queue:Queue": _t("aws_sqs_queue", json=_POLICY),
    "aws:sqs/queuePolicy:QueuePolicy": _t("aws_sqs_queue_policy", json=_POLICY),
    "aws:cloudtrail/trail:Trail": _t(
        "aws_cloudtrail",
        {
            "eventSelectors": "event_selector",
            "eventSelectors.dataResources": "data_resource",
            "advancedEventSelectors": "advanced_event_selector",
            "advancedEventSelectors.fieldSelectors": "field_selector",
            "insightSelectors": "insight_selector",
        },
    ),
    "aws:guardduty/detector:Detector": _t("aws_guardduty_detector"),
    "aws:budgets/budget:Budget": _t(
        "aws_budgets_budget",
        {"costFilters": "cost_filter", "notifications": "notification", "plannedLimits": "planned_limit"},
    ),
    "aws:costexplorer/costAllocationTag:CostAllocationTag": _t("aws_ce_cost_allocation_tag"),
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": _t("aws_ce_anomaly_monitor"),
    "aws:costexplorer/anomalySubscription:AnomalySubscription": _t(
        "aws_ce_anomaly_subscription", {"subscribers": "subscriber"}
    ),
    # --- SageMaker and scaling -------------------------------------------------------------------------
    "aws:sagemaker/model:Model": _t(
        "aws_sagemaker_model",
        {"containers": "container"},
        maps=("primaryContainer.environment", "containers.environment"),
    ),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _t("aws_sagemaker_endpoint_configuration"),
    "aws:sagemaker/endpoint:Endpoint": _t("aws_sagemaker_endpoint"),
    "aws:sagemaker/notebookInstance:NotebookInstance": _t("aws_sagemaker_notebook_instance"),
    "aws:sagemaker/domain:Domain": _t("aws_sagemaker_domain"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _t("aws_sagemaker_model_package_group"),
    "aws:sagemaker/pipeline:Pipeline": _t("aws_sagemaker_pipeline"),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": _t("aws_sagemaker_mlflow_tracking_server"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _t(
        "aws_sagemaker_data_quality_job_definition", maps=("dataQualityAppSpecification.environment",)
    ),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _t("aws_sagemaker_monitoring_schedule"),
    "aws:appautoscaling/target:Target": _t("aws_appautoscaling_target"),
    "aws:appautoscaling/policy:Policy": _t(
        "aws_appautoscaling_policy", {"stepScalingPolicyConfiguration.stepAdjustments": "step_adjustment"}
    ),
    # --- CI -------------------------------------------------------------------------------------------------
    "aws:codebuild/project:Project": _t(
        "aws_codebuild_project",
        {
            "environment.environmentVariables": "environment_variable",
            "fileSystemLocations": "file_system_locations",
            "secondaryArtifacts": "secondary_artifacts",
            "secondarySources": "secondary_sources",
            "secondarySourceVersions": "secondary_source_version",
        },
    ),
    "aws:codebuild/webhook:Webhook": _t(
        "aws_codebuild_webhook", {"filterGroups": "filter_group", "filterGroups.filters": "filter"}
    ),
    "aws:codeconnections/connection:Connection": _t("aws_codeconnections_connection"),
    # --- other data stores and functions teams add -------------------------------------------------------
    "aws:lambda/function:Function": _t("aws_lambda_function", maps=("environment.variables",)),
    "aws:dynamodb/table:Table": _t(
        "aws_dynamodb_table",
        {
            "attributes": "attribute",
            "globalSecondaryIndexes": "global_secondary_index",
            "localSecondaryIndexes": "local_secondary_index",
            "replicas": "replica",
        },
    ),
    "aws:efs/fileSystem:FileSystem": _t("aws_efs_file_system", {"lifecyclePolicies": "lifecycle_policy"}),
    "aws:efs/mountTarget:MountTarget": _t("aws_efs_mount_target"),
}

_MAP_KEYS = frozenset({"tags", "tagsAll"})
_IDENTIFIER = re.compile(r"^[a-z][A-Za-z0-9]*$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def snake(name: str) -> str:
    """camelCase -> snake_case, the way the bridge derived the Pulumi name from the Terraform one."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class _Hole:
    """A value the plan cannot show: unknown until apply, or a secret (its value is not recorded)."""

    def __init__(self, sensitive: bool):
        self.sensitive = sensitive


_UNKNOWN_HOLE = _Hole(sensitive=False)
_SECRET_HOLE = _Hole(sensitive=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Converter:
    def __init__(self, spec: TfType):
        self.spec = spec

    def name(self, path: str, key: str) -> str:
        return self.spec.renames.get(_join(path, key)) or snake(key)

    def is_map(self, path: str, value: dict[str, Any], *, item: bool = False) -> bool:
        """Whether a dict is a Terraform map (keys are data) rather than a block. `item`: it is an element of a
        list, where `tags` is a list of blocks (an Auto Scaling group's `tag`), not a map."""
        last = path.rsplit(".", 1)[-1]
        # Keys that cannot be Pulumi property names (`kubernetes.io/role`, `Owner`) are data, not a block.
        return (
            (not item and last in _MAP_KEYS)
            or path in self.spec.maps
            or not all(_IDENTIFIER.match(str(k)) for k in value)
        )

    def attribute(self, value: Any, path: str) -> Any:
        if value is UNKNOWN:
            return _UNKNOWN_HOLE
        if value == SECRET:
            return _SECRET_HOLE
        if path in self.spec.json and isinstance(value, (dict, list)):
            return json.dumps(value)
        if isinstance(value, dict):
            if self.is_map(path, value):
                return {k: self.attribute(v, f"{path}.*") for k, v in value.items()}
            return [self.block(value, path)]
        if isinstance(value, list):
            return [
                self.block(v, path)
                if isinstance(v, dict) and not self.is_map(path, v, item=True)
                else self.attribute(v, path)
                for v in value
            ]
        return value

    def block(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            self.name(path, k): self.attribute(v, _join(path, k))
            for k, v in value.items()
            if not str(k).startswith("__")
        }


def _split(value: Any) -> tuple[Any, Any, Any]:
    """(known value, after_unknown mask, after_sensitive mask); holes are left out of the known value."""
    if isinstance(value, _Hole):
        return None, True, value.sensitive
    if isinstance(value, dict):
        known, unknown, sensitive = {}, {}, {}
        for k, v in value.items():
            kv, ku, ks = _split(v)
            if not isinstance(v, _Hole):
                known[k] = kv
            if ku:
                unknown[k] = ku
            if ks:
                sensitive[k] = ks
        return known, unknown, sensitive
    if isinstance(value, list):
        parts = [_split(v) for v in value]
        known_list = [p[0] for p in parts]
        unknown_list = [p[1] for p in parts]
        sensitive_list = [p[2] for p in parts]
        return (
            known_list,
            unknown_list if any(unknown_list) else [],
            sensitive_list if any(sensitive_list) else [],
        )
    return value, False, False


def resource_values(record: ResourceRecord) -> dict[str, Any]:
    """What the program set, plus what the provider computes (`arn`, `tagsAll`, auto-names) where known."""
    values = dict(record.inputs)
    for key, value in record.outputs.items():
        if key not in values or (values[key] is UNKNOWN and value is not UNKNOWN and value != SECRET):
            values[key] = value
    values.pop("id", None)
    return values


@dataclass
class TfPlan:
    document: dict[str, Any]
    addresses: dict[str, str]
    """Terraform address -> Pulumi URN, to map checkov's findings back."""
    unmapped: dict[str, int]
    """AWS types with no entry in `TYPES` -> how many resources of that type were left out."""


def _addresses(records: list[ResourceRecord]) -> dict[str, str]:
    """URN -> Terraform address. Names come from the Pulumi logical name; a clash gets a stable URN digest."""
    base: dict[str, str] = {}
    for r in records:
        name = _NAME_UNSAFE.sub("_", r.name) or "resource"
        if not re.match(r"[A-Za-z_]", name):
            name = f"r_{name}"
        base[r.urn] = f"{TYPES[r.type].tf_type}.{name}"
    counts: dict[str, int] = {}
    for address in base.values():
        counts[address] = counts.get(address, 0) + 1
    return {
        urn: (f"{address}_{hashlib.sha256(urn.encode()).hexdigest()[:6]}" if counts[address] > 1 else address)
        for urn, address in base.items()
    }


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every string, and of every value unknown until apply, inside `value`."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)] if isinstance(value, str) or value is UNKNOWN else []


def _identity_values(record: ResourceRecord) -> list[tuple[str, str]]:
    """(Terraform attribute, value) pairs another resource could have taken from this one, best guess first."""
    pairs: list[tuple[str, str]] = []
    if record.id:
        pairs.append(("id", record.id))
    for key in ("arn", "name", "bucket", "keyId", "url", "repositoryUrl"):
        value = record.outputs.get(key)
        if isinstance(value, str) and value not in ("", SECRET):
            pairs.append((snake(key), value))
    for key, value in record.outputs.items():
        # Only identifiers: a region or a tag value shared by two resources says nothing about a reference.
        if not key.endswith(("Id", "Arn", "Name", "Url", "Endpoint")):
            continue
        if (
            isinstance(value, str)
            and value not in ("", SECRET)
            and len(value) >= 8
            and (snake(key), value) not in pairs
        ):
            pairs.append((snake(key), value))
    return pairs


Step = tuple[str, "int | None"]
"""One step of a Terraform path: an attribute, and the block index under it (None: the attribute itself)."""


def _tf_steps(conv: _Converter, values: dict[str, Any], path: tuple[Any, ...]) -> list[Step]:
    """A Pulumi input path (keys and list indexes) as the Terraform path of the same value.

    A map, a policy document or a list of scalars is referenced as a whole attribute, as Terraform does."""
    steps: list[Step] = []
    pulumi_path = ""
    node: Any = values
    i = 0
    while i < len(path):
        key = path[i]
        name = conv.name(pulumi_path, key)
        pulumi_path = _join(pulumi_path, key)
        node = node.get(key) if isinstance(node, dict) else None
        i += 1
        if pulumi_path in conv.spec.json or (isinstance(node, dict) and conv.is_map(pulumi_path, node)):
            break
        if isinstance(node, dict):  # an object the bridge flattened: Terraform's block 0
            steps.append((name, 0))
            continue
        if isinstance(node, list) and i < len(path) and isinstance(path[i], int):
            item = node[path[i]] if path[i] < len(node) else None
            if isinstance(item, dict) and not conv.is_map(pulumi_path, item, item=True):
                steps.append((name, path[i]))
                node = item
                i += 1
                continue
        break
    else:
        return steps
    steps.append((name, None))
    return steps


def _place(tree: dict[str, Any], steps: list[Step], refs: list[str]) -> None:
    """Put `{"references": refs}` at a Terraform path inside an `expressions` tree (blocks are lists)."""
    if not steps:
        return
    node: Any = tree
    for name, index in steps[:-1]:
        blocks = node.setdefault(name, [])
        if not isinstance(blocks, list) or index is None:
            return
        while len(blocks) <= index:
            blocks.append({})
        node = blocks[index]
    name = steps[-1][0]
    existing = node.get(name)
    if existing is None:
        node[name] = {"references": list(refs)}
    elif isinstance(existing, dict) and "references" in existing:
        existing["references"] = list(dict.fromkeys(existing["references"] + refs))


def _exact_attribute(candidates: list[tuple[str, str]], leaf: str, leaf_path: tuple[Any, ...]) -> str | None:
    """The attribute whose value the leaf is; the id first, except where the id equals the ARN or the name (an
    SNS topic's id is its ARN, an EKS cluster's its name) and the property asks for that (`subscriberSnsTopicArns`,
    `clusterName`): Terraform code names the `arn` or the `name` there."""
    matches = [a for a, v in candidates if leaf == v]
    names = [str(step).lower() for step in leaf_path if isinstance(step, str)]
    for attr in ("arn", "name"):
        if attr in matches and names and names[-1].endswith((attr, f"{attr}s")):
            return attr
    return matches[0] if matches else None


def _expressions(
    record: ResourceRecord, conv: _Converter, by_urn: dict[str, ResourceRecord], addresses: dict[str, str]
) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    inputs = record.inputs
    for prop, urns in sorted(record.property_dependencies.items()):
        leaves = _leaves(inputs.get(prop), (prop,))
        unknown = [leaf_path for leaf_path, leaf in leaves if leaf is UNKNOWN]
        for dep_urn in urns:
            dep = by_urn.get(dep_urn)
            address = addresses.get(dep_urn)
            if dep is None or address is None:
                continue
            placed = False
            candidates = _identity_values(dep)
            # Longest first, so a leaf holding an ARN is credited to `arn`, not to the id the ARN contains.
            by_length = sorted(candidates, key=lambda pair: -len(pair[1]))
            for leaf_path, leaf in leaves:
                if leaf is UNKNOWN:
                    continue
                attr = _exact_attribute(candidates, leaf, leaf_path)
                if attr is None:
                    attr = next((a for a, v in by_length if len(v) >= 8 and v in leaf), None)
                if attr is not None:
                    _place(tree, _tf_steps(conv, inputs, leaf_path), [f"{address}.{attr}", address])
                    placed = True
            if placed:
                continue
            # The value is unknown until apply (an S3 endpoint's prefix list id in one egress rule, say): reference
            # the resource where the unknown value sits, beside the references its sibling blocks already carry.
            # A reference on the attribute as a whole is the last resort (a value transformed beyond recognition):
            # Terraform's expressions cannot hold it next to per-block ones, so one of the two would be lost.
            where = [_tf_steps(conv, inputs, leaf_path) for leaf_path in unknown] or [[(conv.name("", prop), None)]]
            for steps in where:
                _place(tree, steps, [f"{address}.id", address])
    return tree


_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def _bucket_by_value(
    record: ResourceRecord, buckets: dict[str, str], addresses: dict[str, str], tree: dict[str, Any]
) -> None:
    """An S3 sub-resource (public access block, encryption, versioning ...) that names its bucket as a plain
    string records no dependency, but Terraform code would reference the bucket: when the name is one of the
    stack's buckets, reference it, so checkov's graph checks connect the two as they would in Terraform."""
    if not record.type.startswith("aws:s3/") or record.type in _BUCKETS or "bucket" in record.property_dependencies:
        return
    bucket = record.inputs.get("bucket")
    urn = buckets.get(bucket) if isinstance(bucket, str) else None
    if urn is not None and urn in addresses:
        _place(tree, [("bucket", None)], [f"{addresses[urn]}.id", addresses[urn]])


def _bucket_names(records: list[ResourceRecord]) -> dict[str, str]:
    """Physical bucket name -> the bucket's URN, for the stack's buckets whose name is known."""
    return {
        r.outputs["bucket"]: r.urn
        for r in records
        if r.type in _BUCKETS and isinstance(r.outputs.get("bucket"), str) and r.outputs["bucket"] != SECRET
    }


def _provider_key(record: ResourceRecord, keys: dict[str, str]) -> str:
    return keys.get((record.provider or "").rsplit("::", 1)[0], "aws")


def _providers(result: StackResult) -> tuple[dict[str, Any], dict[str, str]]:
    providers = sorted((r for r in result.resources if r.type == "pulumi:providers:aws"), key=lambda r: r.urn)
    config: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for i, p in enumerate(providers):
        alias = None if i == 0 else _NAME_UNSAFE.sub("_", p.name)
        key = "aws" if alias is None else f"aws.{alias}"
        keys[p.urn] = key
        expressions: dict[str, Any] = {}
        for pulumi_key, tf_key in (
            ("region", "region"),
            ("accessKey", "access_key"),
            ("secretKey", "secret_key"),
            ("profile", "profile"),
        ):
            value = p.inputs.get(pulumi_key)
            # A secret came from encrypted stack config, not from the program text: nothing hard-coded to flag.
            if isinstance(value, str) and value != SECRET:
                expressions[tf_key] = {"constant_value": value}
        entry: dict[str, Any] = {"name": "aws", "full_name": PROVIDER_SOURCE, "expressions": expressions}
        if alias:
            entry["alias"] = alias
        config[key] = entry
    return config, keys


def build_plan(result: StackResult) -> TfPlan:
    """The stack's AWS resources as one Terraform plan document (every resource a `create`)."""
    records = sorted((r for r in result.resources if r.custom and r.type in TYPES), key=lambda r: r.urn)
    unmapped: dict[str, int] = {}
    for r in result.resources:
        if r.custom and r.type.startswith("aws:") and r.type not in TYPES and not r.options.get("read"):
            unmapped[r.type] = unmapped.get(r.type, 0) + 1
    records = [r for r in records if not r.options.get("read")]
    by_urn = result.by_urn()
    address_of = _addresses(records)
    buckets = _bucket_names(records)
    provider_config, provider_keys = _providers(result)

    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configuration: list[dict[str, Any]] = []
    for record in records:
        spec = TYPES[record.type]
        conv = _Converter(spec)
        address = address_of[record.urn]
        name = address.split(".", 1)[1]
        converted = conv.block(resource_values(record), "")
        values, unknown, sensitive = _split(converted)
        common = {"address": address, "mode": "managed", "type": spec.tf_type, "name": name}
        planned.append(
            {
                **common,
                "provider_name": PROVIDER_SOURCE,
                "schema_version": 0,
                "values": values,
                "sensitive_values": sensitive,
            }
        )
        changes.append(
            {
                **common,
                "provider_name": PROVIDER_SOURCE,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": unknown,
                    "before_sensitive": False,
                    "after_sensitive": sensitive,
                },
            }
        )
        expressions = _expressions(record, conv, by_urn, address_of)
        _bucket_by_value(record, buckets, address_of, expressions)
        conf: dict[str, Any] = {
            **common,
            "provider_config_key": _provider_key(record, provider_keys),
            "expressions": expressions,
            "schema_version": 0,
        }
        depends = [address_of[u] for u in record.options.get("dependsOn") or [] if u in address_of]
        if depends:
            conf["depends_on"] = depends
        configuration.append(conf)

    document = {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": provider_config, "root_module": {"resources": configuration}},
    }
    return TfPlan(document=document, addresses={a: u for u, a in address_of.items()}, unmapped=unmapped)
