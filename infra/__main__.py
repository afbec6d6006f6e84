"""The ml-platform program: validated stack config in, components wired, outputs exported.

It holds no logic of its own: every resource comes from a component in `components/`, every value from
`infra.config` (schema + environment profiles), every derived name from `infra.wiring`. Config mistakes stop the run before any resource is declared.
"""

import pulumi
import pulumi_aws as aws

from components.artifact_store import ArtifactStore, ArtifactStoreArgs, ReplicationArgs
from components.cluster import Cluster, ClusterArgs
from components.deploy_runner import DeployRunner, runner_project_name
from components.experiment_tracking import ExperimentTracking
from components.experiment_tracking import server_arn as mlflow_server_arn
from components.guardrails import Guardrails, GuardrailsArgs
from components.image_registries import ImageRegistries, ImageRegistriesArgs
from components.karpenter import Karpenter, KarpenterArgs
from components.keys import PlatformKeys, PlatformKeysArgs
from components.kubernetes_layer import KubernetesLayer, KubernetesLayerArgs
from components.kueue import Kueue, KueueArgs
from components.model_endpoint import ModelEndpoint, ModelEndpointArgs, image_source
from components.model_monitor import DataQualityMonitor
from components.model_promotion import ModelPromotion
from components.model_registry import ModelRegistry, ModelRegistryArgs
from components.monitoring import BudgetView, EndpointTarget, GpuPoolTarget, Monitoring, runbook_link
from components.network import Network, NetworkArgs
from components.permission_boundary import PermissionBoundary, PermissionBoundaryArgs
from components.retraining import RetrainingPipeline
from components.team_identity import TeamIdentity, TeamIdentityArgs
from infra.config import load_from_pulumi
from infra.config.network import availability_zones
from infra.wiring import StackNames, cluster_admin_roles, model_package_arn

cfg = load_from_pulumi()
names = StackNames.current()

# One explicit AWS provider for everything: its default tags put the cost-allocation tags on every taggable
# resource (policies judge `tagsAll`, which includes them).
aws_provider = aws.Provider(
    "aws",
    region=cfg.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.default_tags),
)
platform = pulumi.ResourceOptions(providers={"aws": aws_provider})
serving_account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_provider)).account_id

# >>> guardrails-boundary: permission boundary first: every role below takes `boundary.arn`
boundary = PermissionBoundary(
    "boundary",
    PermissionBoundaryArgs(
        policy_name=names.boundary_policy_name,
        iam_path=names.iam_path,
        object_lock_role_name=names.ci_deploy_role_name,
        role_regions=cfg.role_regions,
        settings=cfg.guardrails,
        required_tag_keys=sorted(cfg.default_tags),
        # Serverless endpoints cannot run in a VPC; where config allows them, models without VPC config must pass.
        require_sagemaker_model_vpc=not cfg.endpoints.allow_serverless,
    ),
    opts=platform,
)
pulumi.export("permissionBoundaryArn", boundary.arn)
# <<< guardrails-boundary

# >>> keys: KMS keys per data domain: `keys`
keys = PlatformKeys(
    "platform",
    PlatformKeysArgs(
        alias_prefix=names.path,
        settings=cfg.storage,
        protect=cfg.protect_stateful_resources,
        replica_region=cfg.replica_region,
        # Key administrators (no cryptography) and users (the stack's roles), named before the roles exist.
        iam_path=names.iam_path,
        administrator_role_names=names.key_administrator_role_names,
    ),
    opts=platform,
)
pulumi.export("keyArns", keys.key_arns)
# <<< keys

# >>> network: VPC, subnets, NAT, flow logs, endpoints: `network`
zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=aws_provider))
network = Network(
    "network",
    NetworkArgs(
        settings=cfg.network,
        availability_zones=availability_zones(
            cfg.network, zones.names, zones.zone_ids, region=cfg.region, stack=names.stack
        ),
        region=cfg.region,
        flow_log_kms_key_arn=keys.logs.arn,
        permissions_boundary=boundary.arn,
        cluster_name=names.cluster_name,
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
store = ArtifactStore(
    "artifacts",
    ArtifactStoreArgs(
        settings=cfg.storage,
        kms_key_arn=keys.artifacts.arn,
        # SageMaker writes capture files with the SageMaker key, and each bucket accepts only its own key.
        kms_key_arns_by_purpose={"data-capture": keys.sagemaker.arn} if "data-capture" in cfg.storage.buckets else {},
        vpc_endpoint_id=network.s3_endpoint_id,
        replication=(
            ReplicationArgs(kms_key_arn=keys.artifacts_replica.arn, permissions_boundary_arn=boundary.arn)
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
        settings=cfg.storage,
        name_prefix=names.registry_prefix,
        kms_key_arn=keys.artifacts.arn,
        # Only roles under the stack's IAM path (every WorkloadRole) may pull and push.
        platform_role_path=names.iam_path,
        protect=cfg.protect_stateful_resources,
    ),
    opts=platform,
)
pulumi.export("bucketNames", store.bucket_names)
pulumi.export("bucketArns", store.bucket_arns)
pulumi.export("repositoryUrls", registries.repository_urls)
# <<< storage

# >>> guardrails: personas, CI roles, budgets, account baselines: `guardrails`
guardrails = Guardrails(
    "guardrails",
    GuardrailsArgs(
        settings=cfg.guardrails,
        name_prefix=names.prefix,
        project=cfg.default_tags["Project"],
        environment=cfg.environment,
        partition=cfg.partition,
        permissions_boundary=boundary.arn,
        role_regions=cfg.role_regions,
        cluster_name=names.cluster_name,
        registry_prefix=names.registry_prefix,
        # The logs key's policy lets AWS Budgets publish to topics it encrypts.
        alert_kms_key_arn=keys.logs.arn,
        ebs_kms_key_arn=keys.cluster.arn,
        bucket_name_prefix=store.bucket_name_prefix,
        bucket_arns=store.bucket_arns,
        key_arns=list(keys.key_arns.values()),
        artifact_grants=store,
        cost_tag_keys=sorted(cfg.default_tags),
        experiment_tracking=cfg.experiment_tracking.enabled,
    ),
    opts=platform,
)
pulumi.export("personaRoleArns", guardrails.persona_role_arns)
pulumi.export("ciRoleArns", {"preview": guardrails.ci_preview_role_arn, "deploy": guardrails.ci_deploy_role_arn})
pulumi.export("budgetName", guardrails.budget_name)
pulumi.export("budgetAlertTopicArn", guardrails.alert_topic_arn)
# <<< guardrails

# >>> cluster: EKS, node pools, Kubernetes layer: `cluster`
cluster = Cluster(
    "cluster",
    ClusterArgs(
        settings=cfg.cluster,
        admin_roles=cluster_admin_roles(
            ci_deploy_role_arn=guardrails.ci_deploy_role_arn,
            platform_admin_role_arn=guardrails.persona_role_arns.get("platform-admin"),
        ),
        cluster_name=names.cluster_name,
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

kubernetes_layer = KubernetesLayer(
    "k8s",
    KubernetesLayerArgs(
        kubeconfig=cluster.kubeconfig,
        cluster_name=names.cluster_name,
        cluster_version=cluster.version,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer=cluster.oidc_issuer,
        permissions_boundary=boundary.arn,
        region=cfg.region,
        # The key the EBS CSI driver's role may use (`node_kms_key_arn` above).
        storage_kms_key_arn=keys.cluster.arn,
        teams=cfg.cluster.teams,
        node_group_asg_names=list(cluster.asg_names.values()),
        # One source of GPU metrics: the CloudWatch add-on's DCGM integration when Container Insights is on.
        gpu_metrics_from_cloudwatch_addon=cfg.monitoring.container_insights,
    ),
    # After the whole cluster: the Deployment and DaemonSets wait for ready pods, so nodes and add-ons come first.
    opts=pulumi.ResourceOptions.merge(platform, pulumi.ResourceOptions(depends_on=[cluster])),
)
pulumi.export("teamNamespaces", kubernetes_layer.namespace_names)
pulumi.export("clusterAutoscalerRoleArn", kubernetes_layer.autoscaler_role.arn)

team_identities = {
    team.name: TeamIdentity(
        f"team-{team.name}",
        TeamIdentityArgs(
            team=team.name,
            namespace=kubernetes_layer.namespace_names[team.name],
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            cluster_name_plain=names.cluster_name,
            artifact_grants=store,
            repository_arns=registries.repository_arns,
            permissions_boundary=boundary.arn,
            logs_kms_key_arn=keys.logs.arn,
            log_retention_days=cfg.cluster.log_retention_days,
            provider=kubernetes_layer.provider,
            # Named, not the server's output: teams log to it and the server does not depend on them.
            mlflow_tracking_server_arn=(
                serving_account.apply(
                    lambda account: mlflow_server_arn(cfg.partition, cfg.region, account, names.prefix)
                )
                if cfg.experiment_tracking.enabled
                else None
            ),
        ),
        opts=platform,
    )
    for team in cfg.cluster.teams
}
pulumi.export("teamRoleArns", {team: identity.role_arn for team, identity in team_identities.items()})

if cfg.cluster.gpu_capacity == "karpenter" and cfg.cluster.gpu_pools:
    karpenter = Karpenter(
        "karpenter",
        KarpenterArgs(
            settings=cfg.cluster.karpenter,
            pools=cfg.cluster.gpu_pools,
            cluster_name=names.cluster_name,
            cluster=cluster.name,
            cluster_arn=cluster.arn,
            cluster_security_group_id=cluster.cluster_security_group_id,
            node_kms_key_arn=keys.cluster.arn,
            permissions_boundary=boundary.arn,
            cost_tags=cfg.default_tags,
            region=cfg.region,
            partition=cfg.partition,
            provider=kubernetes_layer.provider,
            protect=cfg.protect_stateful_resources,
        ),
        # The controller runs on the system pool: after the whole cluster.
        opts=pulumi.ResourceOptions.merge(platform, pulumi.ResourceOptions(depends_on=[cluster])),
    )
    pulumi.export("karpenterControllerRoleArn", karpenter.controller_role_arn)
    pulumi.export("karpenterNodePools", sorted(karpenter.node_pools))

if cfg.cluster.gpu_pools and cfg.cluster.teams:
    kueue = Kueue(
        "kueue",
        KueueArgs(
            settings=cfg.cluster.kueue,
            flavors=cfg.cluster.kueue_flavors,
            teams=cfg.cluster.teams,
            namespaces=kubernetes_layer.namespace_names,
            provider=kubernetes_layer.provider,
        ),
        opts=pulumi.ResourceOptions.merge(platform, pulumi.ResourceOptions(depends_on=[cluster])),
    )
    pulumi.export("kueueClusterQueues", sorted(kueue.cluster_queues))
# <<< cluster

# >>> deploy-runner: CodeBuild-hosted GitHub Actions runner in the private subnets: `deploy_runner`
if cfg.creates_deploy_runner and cfg.guardrails.github is not None:
    deploy_runner = DeployRunner(
        "deploy-runner",
        cfg.deploy_runner,
        # Workflows land on it with `runs-on: codebuild-<project>-<stack>-deploy-...` (tests/test_workflows.py).
        project_name=runner_project_name(names.project, names.stack),
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
model_registry = ModelRegistry(
    "models",
    ModelRegistryArgs(name_prefix=names.prefix, models=cfg.endpoints.models),
    opts=platform,
)
endpoints: dict[str, ModelEndpoint] = {}
for key, spec in sorted(cfg.endpoints.endpoints.items()):
    image_uri, image_repository_arn = image_source(
        cfg.endpoints.models[spec.model].image,
        repository_urls=registries.repository_urls,
        repository_arns=registries.repository_arns,
        partition=cfg.partition,
    )
    group_name = model_registry.group_names[spec.model]
    version = spec.model_package_version
    endpoints[key] = ModelEndpoint(
        f"endpoint-{key}",
        ModelEndpointArgs(
            endpoint_name=f"{names.prefix}-{key}",
            settings=spec,
            image_uri=image_uri,
            image_repository_arn=image_repository_arn,
            model_package_arn=(
                model_package_arn(
                    serving_account, group_name, partition=cfg.partition, region=cfg.region, version=version
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
    dashboard_name=names.prefix,
    region=cfg.region,
    partition=cfg.partition,
    cluster_name=names.cluster_name,
    cluster_arn=cluster.arn,
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

# >>> mlops: scheduled retraining, promotion by approval, experiment tracking: `retraining`
retraining: dict[str, RetrainingPipeline] = {}
for model_name, model_spec in sorted(cfg.endpoints.models.items()):
    if model_spec.retraining is None:
        continue
    trainer_uri, trainer_repository_arn = image_source(
        model_spec.retraining.trainer_image,
        repository_urls=registries.repository_urls,
        repository_arns=registries.repository_arns,
        partition=cfg.partition,
    )
    serving_uri, _ = image_source(
        model_spec.image,
        repository_urls=registries.repository_urls,
        repository_arns=registries.repository_arns,
        partition=cfg.partition,
    )
    retraining[model_name] = RetrainingPipeline(
        f"retraining-{model_name}",
        model_spec.retraining,
        model=model_name,
        name_prefix=names.prefix,
        schedule_enabled=cfg.endpoints.retraining_schedules,
        trainer_image_uri=trainer_uri,
        trainer_repository_arn=trainer_repository_arn,
        serving_image_uri=serving_uri,
        serving_image=model_spec.image,
        model_package_group_name=model_registry.group_names[model_name],
        artifact_grants=store,
        datasets_bucket_name=store.bucket_names["datasets"],
        models_bucket_name=store.bucket_names["models"],
        # Each bucket accepts only its own key (storage block): datasets and models use the artifacts key.
        output_kms_key_arn=keys.artifacts.arn,
        volume_kms_key_arn=keys.sagemaker.arn,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        endpoint_security_group_id=network.endpoint_security_group_id,
        s3_prefix_list_id=network.s3_endpoint.prefix_list_id,
        permissions_boundary=boundary.arn,
        partition=cfg.partition,
        region=cfg.region,
        account_id=serving_account,
        opts=platform,
    )
pulumi.export(
    "retraining",
    {m: {"pipelineName": r.pipeline_name, "scheduleName": r.schedule_name} for m, r in retraining.items()},
)

# Stacks that deploy registry versions (requireModelPackage) get their approvals as promotion pull requests.
if cfg.endpoints.require_model_package and cfg.guardrails.github is not None and cfg.endpoints.models:
    promotion = ModelPromotion(
        "promotion",
        stack=names.stack,
        name_prefix=names.prefix,
        repository=cfg.guardrails.github.repository,
        group_names=model_registry.group_names,
        alert_topic_arn=guardrails.alert_topic_arn,
        runbook=runbook_link(cfg.monitoring.runbook_base_url, "promotion"),
        permissions_boundary=boundary.arn,
        partition=cfg.partition,
        region=cfg.region,
        account_id=serving_account,
        key_deletion_window_days=cfg.storage.key_deletion_window_days,
        protect=cfg.protect_stateful_resources,
        opts=platform,
    )
    pulumi.export(
        "modelPromotion", {"connectionName": promotion.connection_name, "failureAlarmNames": promotion.alarm_names}
    )

if cfg.experiment_tracking.enabled:
    tracking = ExperimentTracking(
        "experiments",
        cfg.experiment_tracking,
        name_prefix=names.prefix,
        artifact_grants=store,
        models_bucket_name=store.bucket_names["models"],
        permissions_boundary=boundary.arn,
        opts=platform,
    )
    pulumi.export("mlflowTrackingServerArn", tracking.arn)
# <<< mlops

pulumi.export("environment", cfg.environment)
pulumi.export("region", cfg.region)
