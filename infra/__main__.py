"""The ml-platform program: validated stack config in, components wired, outputs exported.

It holds no logic of its own: every resource comes from a component in `components/`, every value from
`infra.config` (schema + environment profiles). Config mistakes stop the run before any resource is declared.
"""

import pulumi
import pulumi_aws as aws

from infra.config import load_from_pulumi

cfg = load_from_pulumi()

# One explicit AWS provider for everything: its default tags put the cost-allocation tags on every taggable
# resource (policies judge `tagsAll`, which includes them).
aws_provider = aws.Provider(
    "aws",
    region=cfg.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.default_tags),
)
platform = pulumi.ResourceOptions(providers={"aws": aws_provider})

# >>> guardrails-boundary: permission boundary first: every role below takes `boundary.arn`
from components.permission_boundary import PermissionBoundary, PermissionBoundaryArgs

boundary = PermissionBoundary(
    "boundary",
    PermissionBoundaryArgs(
        policy_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-permission-boundary",
        allowed_regions=cfg.guardrails.regions(
            cfg.region, cfg.storage.models_replication.destination_region if cfg.storage.models_replication else None
        ),
        ec2_instance_types=cfg.guardrails.allowed_instance_types,
        sagemaker_instance_types=cfg.guardrails.allowed_sagemaker_instance_types,
        required_tag_keys=sorted(cfg.default_tags),
        # Serverless endpoints cannot run in a VPC; where config allows them, models without VPC config must pass.
        require_sagemaker_model_vpc=not cfg.endpoints.allow_serverless,
    ),
    opts=platform,
)
pulumi.export("permissionBoundaryArn", boundary.arn)
# <<< guardrails-boundary

# >>> keys: KMS keys per data domain: `keys`
from components.keys import PlatformKeys, PlatformKeysArgs

keys = PlatformKeys(
    "platform",
    PlatformKeysArgs(
        # Aliases are unique per account and region: the stack name keeps two stacks' aliases apart.
        alias_prefix=f"{pulumi.get_project()}/{pulumi.get_stack()}",
        deletion_window_days=cfg.storage.key_deletion_window_days,
        protect=cfg.protect_stateful_resources,
        replica_region=cfg.storage.models_replication.destination_region if cfg.storage.models_replication else None,
    ),
    opts=platform,
)
pulumi.export("keyArns", keys.key_arns)
# <<< keys

# >>> network: VPC, subnets, NAT, flow logs, endpoints: `network`
from components.network import Network, NetworkArgs

# Subnet discovery tags carry the EKS cluster's name, so it is fixed here, before the cluster exists; the cluster
# block names its cluster `cluster_name`.
cluster_name = f"{pulumi.get_project()}-{pulumi.get_stack()}"
zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=aws_provider))
network = Network(
    "network",
    NetworkArgs(
        **cfg.network.component_args(),
        availability_zones=cfg.network.availability_zones(
            zones.names, zones.zone_ids, region=cfg.region, stack=pulumi.get_stack()
        ),
        region=cfg.region,
        flow_log_kms_key_arn=keys.logs.arn,
        permissions_boundary=boundary.arn,
        cluster_name=cluster_name,
    ),
    opts=platform,
)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("vpcCidr", network.vpc_cidr)
pulumi.export("availabilityZones", network.availability_zones)
pulumi.export("subnetIdsByAz", network.subnet_ids_by_az)
pulumi.export("endpointSecurityGroupId", network.endpoint_security_group_id)
pulumi.export("flowLogGroupName", network.flow_log_group_name)
pulumi.export("natPublicIps", network.nat_public_ips)
# <<< network

# >>> storage: artifact store and image registries: `store`, `registries`
from components.artifact_store import ArtifactStore, ArtifactStoreArgs, ReplicationArgs
from components.image_registries import ImageRegistries, ImageRegistriesArgs

store = ArtifactStore(
    "artifacts",
    ArtifactStoreArgs(
        purposes=cfg.storage.buckets,
        kms_key_arn=keys.artifacts.arn,
        # SageMaker writes capture files with the SageMaker key, and each bucket accepts only its own key.
        kms_key_arns_by_purpose={"data-capture": keys.sagemaker.arn} if "data-capture" in cfg.storage.buckets else {},
        versioning=cfg.storage.versioning,
        noncurrent_version_expiry_days=cfg.storage.noncurrent_version_expiry_days,
        access_log_retention_days=cfg.storage.access_log_retention_days,
        vpc_endpoint_id=network.s3_endpoint_id if cfg.storage.require_vpc_endpoint else None,
        vpc_endpoint_exempt_role_arns=cfg.storage.vpc_endpoint_exempt_role_arns,
        models_object_lock_days=(
            cfg.storage.models_object_lock.retention_days if cfg.storage.models_object_lock else None
        ),
        replication=(
            ReplicationArgs(
                destination_region=cfg.storage.models_replication.destination_region,
                kms_key_arn=keys.artifacts_replica.arn,
                permissions_boundary_arn=boundary.arn,
            )
            if keys.artifacts_replica is not None
            else None
        ),
        force_destroy=cfg.environment == "dev" and not cfg.protect_stateful_resources,
        protect=cfg.protect_stateful_resources,
    ),
    opts=platform,
)
registries = ImageRegistries(
    "images",
    ImageRegistriesArgs(
        names=cfg.storage.registries,
        name_prefix=f"{pulumi.get_project()}/{pulumi.get_stack()}".lower(),
        kms_key_arn=keys.artifacts.arn,
        # Every platform role carries these through the provider's default tags.
        platform_principal_tags={"Project": cfg.default_tags["Project"], "Environment": cfg.environment},
        untagged_image_expiry_days=cfg.storage.untagged_image_expiry_days,
        protect=cfg.protect_stateful_resources,
    ),
    opts=platform,
)
pulumi.export("bucketNames", store.bucket_names)
pulumi.export("bucketArns", store.bucket_arns)
pulumi.export("repositoryUrls", registries.repository_urls)
# <<< storage

# >>> guardrails: personas, CI roles, budgets, account baselines: `guardrails`
from components.guardrails import Guardrails, GuardrailsArgs

guardrails = Guardrails(
    "guardrails",
    GuardrailsArgs(
        **cfg.guardrails.component_args(cfg.environment),
        name_prefix=f"{pulumi.get_project()}-{pulumi.get_stack()}",
        project=cfg.default_tags["Project"],
        environment=cfg.environment,
        partition=cfg.partition,
        permissions_boundary=boundary.arn,
        allowed_regions=cfg.guardrails.regions(
            cfg.region, cfg.storage.models_replication.destination_region if cfg.storage.models_replication else None
        ),
        # The cluster block names its cluster `cluster_name`; registries are `<project>/<stack>/<name>`.
        cluster_name=cluster_name,
        registry_prefix=f"{pulumi.get_project()}/{pulumi.get_stack()}".lower(),
        # The logs key's policy lets AWS Budgets publish to topics it encrypts.
        alert_kms_key_arn=keys.logs.arn,
        ebs_kms_key_arn=keys.cluster.arn,
        bucket_arns=store.bucket_arns,
        key_arns=list(keys.key_arns.values()),
        artifact_grants=store,
        cost_tag_keys=sorted(cfg.default_tags),
    ),
    opts=platform,
)
pulumi.export("personaRoleArns", guardrails.persona_role_arns)
pulumi.export("ciRoleArns", {"preview": guardrails.ci_preview_role_arn, "deploy": guardrails.ci_deploy_role_arn})
pulumi.export("budgetName", guardrails.budget_name)
pulumi.export("budgetAlertTopicArn", guardrails.alert_topic_arn)
# <<< guardrails

# >>> cluster: EKS, node pools, Kubernetes layer: `cluster`
from components.cluster import Cluster, ClusterArgs

cluster_args = cfg.cluster.component_args()
# The CI deploy role applies the Kubernetes layer and the platform-admin persona runs the cluster: both are cluster
# admins, next to the roles config names.
platform_admins = {
    "ci-deploy": guardrails.ci_deploy_role_arn,
    "platform-admin": guardrails.persona_role_arns.get("platform-admin"),
}
cluster_args["admin_roles"] = {
    **{k: v for k, v in platform_admins.items() if v is not None},
    **cluster_args["admin_roles"],
}
cluster = Cluster(
    "cluster",
    ClusterArgs(
        **cluster_args,
        cluster_name=cluster_name,
        region=cfg.region,
        partition=cfg.partition,
        intra_subnet_ids=network.intra_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        secrets_kms_key_arn=keys.cluster.arn,
        node_kms_key_arn=keys.cluster.arn,
        logs_kms_key_arn=keys.logs.arn,
        permissions_boundary=boundary.arn,
        # Launch templates carry these onto instances and volumes; provider default tags do not reach them.
        cost_tags=cfg.default_tags,
        protect=cfg.protect_stateful_resources,
    ),
    opts=platform,
)
pulumi.export("clusterName", cluster.name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcIssuer", cluster.oidc_issuer)
pulumi.export("kubeconfig", cluster.kubeconfig)  # a secret: shown as [secret] unless asked for with --show-secrets
pulumi.export("nodeRoleArns", cluster.node_role_arns)
pulumi.export("nodePoolNames", cluster.pool_names)

from components.kubernetes_layer import KubernetesLayer, KubernetesLayerArgs, TeamSpec

kubernetes_layer = KubernetesLayer(
    "k8s",
    KubernetesLayerArgs(
        kubeconfig=cluster.kubeconfig,
        cluster_name=cluster_name,
        cluster_version=cluster.version,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer=cluster.oidc_issuer,
        permissions_boundary=boundary.arn,
        region=cfg.region,
        # The key the EBS CSI driver's role may use (`node_kms_key_arn` above).
        storage_kms_key_arn=keys.cluster.arn,
        teams=[
            TeamSpec(name=t.name, gpu_quota=t.gpu_quota, cpu_quota=t.cpu_quota, memory_quota=t.memory_quota)
            for t in cfg.cluster.teams
        ],
        node_group_asg_names=list(cluster.asg_names.values()),
        # One source of GPU metrics: the CloudWatch add-on's DCGM integration when Container Insights is on.
        gpu_metrics_from_cloudwatch_addon=cfg.monitoring.container_insights,
    ),
    # After the whole cluster: the Deployment and DaemonSets wait for ready pods, so nodes and add-ons come first.
    opts=pulumi.ResourceOptions.merge(platform, pulumi.ResourceOptions(depends_on=[cluster])),
)
pulumi.export("teamNamespaces", kubernetes_layer.namespace_names)
pulumi.export("clusterAutoscalerRoleArn", kubernetes_layer.autoscaler_role.arn)
# <<< cluster

# >>> deploy-runner: CodeBuild-hosted GitHub Actions runner in the private subnets: `deploy_runner`
from components.deploy_runner import DeployRunner, runner_project_name

if cfg.creates_deploy_runner:
    deploy_runner = DeployRunner(
        "deploy-runner",
        cfg.deploy_runner,
        # Workflows land on it with `runs-on: codebuild-<project>-<stack>-deploy-...` (tests/test_workflows.py).
        project_name=runner_project_name(pulumi.get_project(), pulumi.get_stack()),
        repository=cfg.guardrails.github.repository,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        cluster_security_group_id=cluster.cluster_security_group_id,
        logs_kms_key_arn=keys.logs.arn,
        # The runner's logs are kept as long as the cluster's own (the environment's log retention).
        log_retention_days=cfg.cluster.log_retention_days,
        permissions_boundary=boundary.arn,
        opts=platform,
    )
    pulumi.export(
        "deployRunner",
        {
            "projectName": deploy_runner.project_name,
            "connectionArn": deploy_runner.connection_arn,
            "connectionStatus": deploy_runner.connection_status,
        },
    )
elif not cfg.deploy_runner.enabled:
    pulumi.log.warn(
        "ml-platform:deployRunner.enabled is false: no in-VPC runner, so CI cannot reach this stack's private "
        "Kubernetes API; deploys need another way into the VPC (docs/delivery.md)"
    )
# <<< deploy-runner

# >>> endpoints: SageMaker model endpoints: `endpoints`
from components.model_endpoint import ModelEndpoint, ModelEndpointArgs, image_source
from components.model_registry import ModelRegistry, ModelRegistryArgs, package_arn
from components.monitoring import runbook_link
from infra.config.endpoints import component_args as endpoint_args

# SageMaker names are per account and region: the stack prefix keeps stacks sharing an account apart.
serving_prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"
model_registry = ModelRegistry(
    "models",
    ModelRegistryArgs(
        name_prefix=serving_prefix, models={m: spec.description for m, spec in cfg.endpoints.models.items()}
    ),
    opts=platform,
)
serving_account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_provider)).account_id
endpoints: dict[str, ModelEndpoint] = {}
for key, spec in sorted(cfg.endpoints.endpoints.items()):
    image_uri, image_repository_arn = image_source(
        cfg.endpoints.models[spec.model].image,
        repository_urls=registries.repository_urls,
        repository_arns=registries.repository_arns,
        partition=cfg.partition,
    )
    group_name = model_registry.group_names[spec.model]
    version = int(spec.model_package.split("/")[1]) if spec.model_package else None
    endpoints[key] = ModelEndpoint(
        f"endpoint-{key}",
        ModelEndpointArgs(
            **endpoint_args(spec),
            endpoint_name=f"{serving_prefix}-{key}",
            model=spec.model,
            image_uri=image_uri,
            image_repository_arn=image_repository_arn,
            model_package_arn=(
                pulumi.Output.all(serving_account, group_name).apply(
                    lambda v, version=version: package_arn(
                        partition=cfg.partition, region=cfg.region, account_id=v[0], group_name=v[1], version=version
                    )
                )
                if version is not None
                else None
            ),
            model_package_group_name=group_name,
            models_bucket_name=store.bucket_names["models"],
            data_capture_bucket_name=store.bucket_names["data-capture"],
            artifact_grants=store,
            volume_kms_key_arn=keys.sagemaker.arn,
            # The data-capture bucket's own key (storage block): its policy refuses any other.
            data_capture_kms_key_arn=keys.sagemaker.arn,
            logs_kms_key_arn=keys.logs.arn,
            permissions_boundary=boundary.arn,
            private_subnet_ids=network.private_subnet_ids,
            vpc_id=network.vpc_id,
            endpoint_security_group_id=network.endpoint_security_group_id,
            s3_prefix_list_id=network.s3_endpoint.prefix_list_id,
            allowed_instance_types=cfg.guardrails.allowed_sagemaker_instance_types,
            notification_emails=cfg.endpoints.notification_emails,
            runbook=runbook_link(cfg.monitoring.runbook_base_url, "rollback"),
        ),
        opts=platform,
    )
pulumi.export("endpoints", {key: endpoint.summary() for key, endpoint in endpoints.items()})
pulumi.export("modelPackageGroups", model_registry.group_names)
# <<< endpoints

# >>> monitoring: dashboard, on-call alarms, cluster metrics, model quality: `monitoring`, `data_quality`
from components.model_monitor import DataQualityMonitor
from components.monitoring import BudgetView, EndpointTarget, GpuPoolTarget, Monitoring

# Staging and prod: a data-quality schedule on every endpoint that captures data (serverless ones cannot).
data_quality: dict[str, DataQualityMonitor] = {}
if cfg.monitoring.data_quality.enabled:
    for key, endpoint in endpoints.items():
        if endpoint.data_capture_uri is None:
            continue
        data_quality[key] = DataQualityMonitor(
            f"data-quality-{key}",
            cfg.monitoring.data_quality,
            endpoint_name=endpoint.endpoint_name,
            endpoint_fixed_name=endpoint.args.endpoint_name,
            model=endpoint.args.model,
            region=cfg.region,
            partition=cfg.partition,
            models_bucket_name=store.bucket_names["models"],
            artifact_grants=store,
            reports_kms_key_arn=keys.artifacts.arn,
            volume_kms_key_arn=keys.sagemaker.arn,
            permissions_boundary=boundary.arn,
            private_subnet_ids=network.private_subnet_ids,
            vpc_id=network.vpc_id,
            s3_prefix_list_id=network.s3_endpoint.prefix_list_id,
            endpoint_security_group_id=network.endpoint_security_group_id,
            alert_topic_arn=guardrails.alert_topic_arn,
            runbook=runbook_link(cfg.monitoring.runbook_base_url, "drift"),
            allowed_instance_types=cfg.guardrails.allowed_sagemaker_instance_types,
            opts=platform,
        )
budget = cfg.guardrails.budget
monitoring = Monitoring(
    "monitoring",
    cfg.monitoring,
    dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}",
    region=cfg.region,
    partition=cfg.partition,
    cluster_name=cluster_name,
    cluster_version=cluster.version,
    endpoints=[EndpointTarget.of(endpoint.args) for endpoint in endpoints.values()],
    endpoint_names=[endpoint.endpoint_name for endpoint in endpoints.values()],
    gpu_pools=[GpuPoolTarget(name=p.name, instance_types=p.instance_types) for p in cfg.cluster.gpu_pools],
    budget=BudgetView(
        name=guardrails.budget_name,
        monthly_usd=budget.monthly_usd,
        forecast_threshold_percent=budget.forecast_threshold_percent,
        actual_threshold_percent=budget.actual_threshold_percent,
    ),
    alert_topic_arn=guardrails.alert_topic_arn,
    logs_kms_key_arn=keys.logs.arn,
    log_retention_days=cfg.cluster.log_retention_days,
    permissions_boundary=boundary.arn,
    extra_alarm_arns=[m.alarm_arn for m in data_quality.values()],
    # The add-on's agents are DaemonSets and a Deployment: nodes first.
    opts=pulumi.ResourceOptions.merge(platform, pulumi.ResourceOptions(depends_on=[cluster])),
)
pulumi.export("dashboardName", monitoring.dashboard_name)
pulumi.export("alarmNames", monitoring.alarm_names)
pulumi.export("dataQualitySchedules", {key: m.schedule_name for key, m in data_quality.items()})
# <<< monitoring

pulumi.export("environment", cfg.environment)
pulumi.export("region", cfg.region)
