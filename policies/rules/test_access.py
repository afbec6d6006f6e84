"""Access rules: a compliant resource passes; changing one property gives exactly one violation."""

import json

import pulumi_aws as aws

s3 = aws.s3
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123"
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABC123"
BOUNDARY = "arn:aws:iam::123456789012:policy/platform-boundary"


def tls_policy(bucket_arn):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


# ---- s3-bucket-public-access-block ---------------------------------------------------------------------------


def bucket_with_block(**flags):
    def program():
        bucket = s3.Bucket("data")
        settings = {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        }
        settings.update(flags)
        s3.BucketPublicAccessBlock("data-block", bucket=bucket.id, **settings)

    return program


def test_bucket_with_full_public_access_block_passes(check):
    assert check(bucket_with_block(), "s3-bucket-public-access-block") == []


def test_bucket_without_public_access_block_fails(check):
    assert check(lambda: s3.Bucket("data"), "s3-bucket-public-access-block") == [
        "data: no BucketPublicAccessBlock refers to this bucket: a later ACL or bucket policy can make it public"
    ]


def test_public_access_block_with_a_setting_off_fails(check):
    assert check(bucket_with_block(restrict_public_buckets=False), "s3-bucket-public-access-block") == [
        "data: data-block leaves restrictPublicBuckets off: all four settings must be true"
    ]


def test_account_wide_public_access_block_covers_every_bucket(check):
    def program():
        s3.Bucket("data")
        s3.AccountPublicAccessBlock(
            "account",
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )

    assert check(program, "s3-bucket-public-access-block") == []


# ---- s3-no-public-acl ----------------------------------------------------------------------------------------


def test_private_bucket_acl_passes(check):
    def program():
        bucket = s3.Bucket("data")
        s3.BucketAcl("data-acl", bucket=bucket.id, acl="private")

    assert check(program, "s3-no-public-acl") == []


def test_public_read_bucket_acl_fails(check):
    def program():
        bucket = s3.Bucket("data")
        s3.BucketAcl("data-acl", bucket=bucket.id, acl="public-read")

    assert check(program, "s3-no-public-acl") == ["data-acl: acl is 'public-read': anyone on the internet can read it"]


def test_grant_to_all_users_fails(check):
    def program():
        bucket = s3.Bucket("data")
        s3.BucketAcl(
            "data-acl",
            bucket=bucket.id,
            access_control_policy=s3.BucketAclAccessControlPolicyArgs(
                owner=s3.BucketAclAccessControlPolicyOwnerArgs(id="owner"),
                grants=[
                    s3.BucketAclAccessControlPolicyGrantArgs(
                        permission="READ",
                        grantee=s3.BucketAclAccessControlPolicyGrantGranteeArgs(
                            type="Group", uri="http://acs.amazonaws.com/groups/global/AllUsers"
                        ),
                    )
                ],
            ),
        )

    assert check(program, "s3-no-public-acl") == ["data-acl: accessControlPolicy grants READ to everyone (AllUsers)"]


def test_public_object_acl_fails(check):
    def program():
        s3.BucketObjectv2("index", bucket="site", key="index.html", content="hi", acl="public-read")

    assert check(program, "s3-no-public-acl") == ["index: acl is 'public-read': anyone on the internet can read it"]


# ---- s3-bucket-policy-no-public-principal and s3-bucket-tls-only ---------------------------------------------


def bucket_with_policy(extra_statement=None, tls=True):
    def program():
        bucket = s3.Bucket("data")

        def document(arn):
            doc = json.loads(tls_policy(arn)) if tls else {"Version": "2012-10-17", "Statement": []}
            if extra_statement:
                doc["Statement"].append(extra_statement)
            return json.dumps(doc)

        s3.BucketPolicy("data-policy", bucket=bucket.id, policy=bucket.arn.apply(document))

    return program


def test_bucket_policy_denying_plain_http_passes(check):
    assert check(bucket_with_policy(), "s3-bucket-tls-only") == []
    assert check(bucket_with_policy(), "s3-bucket-policy-no-public-principal") == []


def test_bucket_without_tls_statement_fails(check):
    assert check(bucket_with_policy(tls=False), "s3-bucket-tls-only") == [
        "data: no bucket policy denies requests made without TLS (s3:* with aws:SecureTransport = false)"
    ]
    assert check(lambda: s3.Bucket("data"), "s3-bucket-tls-only") == [
        "data: no bucket policy denies requests made without TLS (s3:* with aws:SecureTransport = false)"
    ]


def test_unconditioned_public_allow_fails(check):
    public = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    assert check(bucket_with_policy(public), "s3-bucket-policy-no-public-principal") == [
        "data-policy: statement 'PublicRead' allows s3:GetObject to every principal ('*') without a condition"
    ]


def test_public_allow_with_a_condition_passes(check):
    scoped = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    assert check(bucket_with_policy(scoped), "s3-bucket-policy-no-public-principal") == []


# ---- EKS -----------------------------------------------------------------------------------------------------


def cluster(vpc=None, access=None, logs=("api", "audit", "authenticator")):
    def program():
        aws.eks.Cluster(
            "eks",
            role_arn="arn:aws:iam::123456789012:role/cluster",
            version="1.35",
            vpc_config=vpc
            or aws.eks.ClusterVpcConfigArgs(
                subnet_ids=["subnet-1"], endpoint_public_access=False, endpoint_private_access=True
            ),
            access_config=access
            or aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            enabled_cluster_log_types=list(logs),
        )

    return program


def test_private_cluster_passes(check):
    assert check(cluster(), "eks-endpoint-not-public") == []


def test_public_endpoint_limited_to_cidrs_passes(check):
    vpc = aws.eks.ClusterVpcConfigArgs(
        subnet_ids=["subnet-1"], endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"]
    )
    assert check(cluster(vpc=vpc), "eks-endpoint-not-public") == []


def test_public_endpoint_open_to_the_world_fails(check):
    vpc = aws.eks.ClusterVpcConfigArgs(
        subnet_ids=["subnet-1"], endpoint_public_access=True, public_access_cidrs=["0.0.0.0/0"]
    )
    assert check(cluster(vpc=vpc), "eks-endpoint-not-public") == [
        "eks: vpcConfig.publicAccessCidrs includes 0.0.0.0/0: the Kubernetes API is reachable from the whole internet"
    ]


def test_endpoint_left_at_eks_defaults_fails(check):
    vpc = aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1"])
    assert check(cluster(vpc=vpc), "eks-endpoint-not-public") == [
        (
            "eks: vpcConfig.endpointPublicAccess is not set (EKS turns it on) and publicAccessCidrs is not set: the "
            "Kubernetes API is reachable from 0.0.0.0/0"
        )
    ]


def test_cluster_creator_admin_fails(check):
    assert check(cluster(), "eks-no-creator-admin") == []
    access = aws.eks.ClusterAccessConfigArgs(
        authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
    )
    assert check(cluster(access=access), "eks-no-creator-admin") == [
        (
            "eks: accessConfig.bootstrapClusterCreatorAdminPermissions is true: whoever runs the deployment becomes a "
            "permanent cluster administrator"
        )
    ]


def test_cluster_missing_audit_logs_fails(check):
    assert check(cluster(), "eks-control-plane-audit-logs") == []
    assert check(cluster(logs=("api",)), "eks-control-plane-audit-logs") == [
        "eks: enabledClusterLogTypes lacks audit, authenticator: who did what to the cluster is not recorded"
    ]


def test_required_log_types_are_a_setting(check):
    config = {"eks-control-plane-audit-logs": {"requiredLogTypes": ["api"]}}
    assert check(cluster(logs=("api",)), "eks-control-plane-audit-logs", config) == []


def node_group(remote_access=None, key_name=None):
    def program():
        template = aws.ec2.LaunchTemplate("nodes-lt", key_name=key_name)
        aws.eks.NodeGroup(
            "nodes",
            cluster_name="eks",
            node_role_arn="arn:aws:iam::123456789012:role/node",
            subnet_ids=["subnet-1"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=1, min_size=0, max_size=2),
            instance_types=["m6i.large"],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="$Latest"),
            remote_access=remote_access,
        )

    return program


def test_node_group_without_ssh_passes(check):
    assert check(node_group(), "eks-node-group-no-ssh") == []


def test_node_group_remote_access_fails(check):
    remote = aws.eks.NodeGroupRemoteAccessArgs(ec2_ssh_key="ops")
    assert check(node_group(remote_access=remote), "eks-node-group-no-ssh") == [
        "nodes: remoteAccess is set (ec2SshKey 'ops'): the nodes accept SSH"
    ]


def test_node_group_launch_template_key_pair_fails(check):
    assert check(node_group(key_name="ops"), "eks-node-group-no-ssh") == [
        "nodes: its launch template nodes-lt sets keyName 'ops': the nodes accept SSH"
    ]


# ---- EC2 -----------------------------------------------------------------------------------------------------


def template_with_metadata(tokens="required", hops=1):
    return lambda: aws.ec2.LaunchTemplate(
        "nodes",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens=tokens, http_put_response_hop_limit=hops
        ),
    )


def test_launch_template_requiring_imdsv2_passes(check):
    assert check(template_with_metadata(), "ec2-imdsv2-required") == []


def test_launch_template_allowing_imdsv1_fails(check):
    assert check(template_with_metadata(tokens="optional"), "ec2-imdsv2-required") == [
        (
            "nodes: metadataOptions.httpTokens is 'optional': instances answer IMDSv1, which a server-side request "
            "forgery can use to steal the instance role's credentials"
        )
    ]


def test_launch_template_without_metadata_options_fails(check):
    assert check(lambda: aws.ec2.LaunchTemplate("nodes"), "ec2-imdsv2-required") == [
        (
            "nodes: metadataOptions.httpTokens is not set: instances answer IMDSv1, which a server-side request "
            "forgery can use to steal the instance role's credentials"
        )
    ]


def test_hop_limit_above_the_setting_fails(check):
    assert check(template_with_metadata(hops=2), "ec2-imdsv2-required") == [
        (
            "nodes: metadataOptions.httpPutResponseHopLimit is 2: containers can reach the instance role's credentials; "
            "at most 1 is allowed"
        )
    ]
    assert (
        check(template_with_metadata(hops=2), "ec2-imdsv2-required", {"ec2-imdsv2-required": {"maxHopLimit": 2}}) == []
    )


def security_group(port=443, cidr="0.0.0.0/0", on_load_balancer=True):
    def program():
        group = aws.ec2.SecurityGroup(
            "web",
            vpc_id="vpc-1",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=port, to_port=port, cidr_blocks=[cidr])
            ],
        )
        if on_load_balancer:
            aws.lb.LoadBalancer(
                "web-lb", load_balancer_type="application", subnets=["subnet-1", "subnet-2"], security_groups=[group.id]
            )

    return program


def test_https_from_the_world_on_a_load_balancer_passes(check):
    assert check(security_group(), "security-group-no-world-ingress") == []


def test_ssh_from_the_world_fails(check):
    assert check(security_group(port=22), "security-group-no-world-ingress") == [
        (
            "web: allows ingress from 0.0.0.0/0 to tcp port 22: only 443 on a load balancer's security group may be "
            "open to the world"
        )
    ]


def test_https_from_the_world_without_a_load_balancer_fails(check):
    assert check(security_group(on_load_balancer=False), "security-group-no-world-ingress") == [
        (
            "web: allows ingress from 0.0.0.0/0 to tcp port 443: only 443 on a load balancer's security group may be "
            "open to the world"
        )
    ]


def test_standalone_ingress_rule_from_the_world_fails(check):
    def program():
        group = aws.ec2.SecurityGroup("db", vpc_id="vpc-1")
        aws.vpc.SecurityGroupIngressRule("db-in", security_group_id=group.id, cidr_ipv6="::/0", ip_protocol="-1")

    assert check(program, "security-group-no-world-ingress") == [
        (
            "db-in: allows ingress from ::/0 to all traffic: only 443 on a load balancer's security group may be open "
            "to the world"
        )
    ]


def test_vpc_without_flow_logs_fails(check):
    def program(flow_log):
        vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16")
        if flow_log:
            aws.ec2.FlowLog(
                "main-flow",
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination="arn:aws:logs:us-west-2:123456789012:log-group:flow",
                log_destination_type="cloud-watch-logs",
                iam_role_arn="arn:aws:iam::123456789012:role/flow",
            )

    assert check(lambda: program(True), "vpc-flow-logs") == []
    assert check(lambda: program(False), "vpc-flow-logs") == [
        "main: no FlowLog records this VPC's traffic: connections cannot be investigated afterwards"
    ]


# ---- IAM -----------------------------------------------------------------------------------------------------


def trust(statement):
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


SERVICE_TRUST = trust(
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


def role(assume=SERVICE_TRUST, boundary=BOUNDARY, **extra):
    return lambda: aws.iam.Role("app", assume_role_policy=assume, permissions_boundary=boundary, **extra)


def test_service_role_with_boundary_passes(check):
    assert check(role(), "iam-trust-policy-restricted") == []
    assert check(role(), "iam-role-permissions-boundary") == []


def test_role_without_boundary_fails(check):
    assert check(role(boundary=None), "iam-role-permissions-boundary") == [
        "app: permissionsBoundary is not set: the role's own policies are the only limit on what it can do"
    ]


def test_trust_policy_with_wildcard_principal_fails(check):
    assume = trust({"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert check(role(assume=assume), "iam-trust-policy-restricted") == [
        "app: statement 'Anyone' lets any principal ('*') assume the role"
    ]


def irsa(condition):
    statement = {"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition:
        statement["Condition"] = condition
    return trust(statement)


def test_irsa_trust_bound_to_a_service_account_passes(check):
    assume = irsa(
        {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:serving:model", f"{ISSUER}:aud": "sts.amazonaws.com"}}
    )
    assert check(role(assume=assume), "iam-trust-policy-restricted") == []


def test_irsa_trust_without_sub_condition_fails(check):
    assume = irsa({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}})
    assert check(role(assume=assume), "iam-trust-policy-restricted") == [
        (
            f"app: statement #1 trusts {ISSUER} without a condition on {ISSUER}:sub: every identity it issues tokens to "
            "can assume the role"
        )
    ]


def test_irsa_trust_with_wildcard_sub_fails(check):
    assume = irsa({"StringLike": {f"{ISSUER}:sub": "*"}})
    assert check(role(assume=assume), "iam-trust-policy-restricted") == [
        f"app: statement #1 trusts {ISSUER} with a {ISSUER}:sub condition that matches everything ('*')"
    ]


def test_admin_managed_policy_attachment_fails(check):
    def program(arn):
        aws.iam.RolePolicyAttachment("app-policy", role="app", policy_arn=arn)

    assert (
        check(lambda: program("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"), "iam-no-admin-managed-policies") == []
    )
    assert check(lambda: program("arn:aws:iam::aws:policy/AdministratorAccess"), "iam-no-admin-managed-policies") == [
        "app-policy: attaches the AWS managed policy AdministratorAccess (arn:aws:iam::aws:policy/AdministratorAccess)"
    ]
    assert (
        check(lambda: program("arn:aws:iam::aws:policy/job-function/PowerUserAccess"), "iam-no-admin-managed-policies")
        != []
    )


def admin_document(**statement):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})


def test_scoped_policy_passes(check):
    document = admin_document(Action=["s3:GetObject"], Resource="arn:aws:s3:::data/*")
    assert check(lambda: aws.iam.Policy("app", policy=document), "iam-no-wildcard-admin") == []


def test_star_on_star_policy_fails(check):
    document = admin_document(Sid="Everything", Action="*", Resource="*")
    assert check(lambda: aws.iam.Policy("app", policy=document), "iam-no-wildcard-admin") == [
        "app: statement 'Everything' allows every action ('*') on every resource ('*')"
    ]


def test_star_on_star_in_a_role_inline_policy_fails(check):
    document = admin_document(Action="*", Resource="*")
    inline = [aws.iam.RoleInlinePolicyArgs(name="all", policy=document)]
    assert check(role(inline_policies=inline), "iam-no-wildcard-admin") == [
        "app: inline policy 'all': statement #1 allows every action ('*') on every resource ('*')"
    ]


def test_a_policy_used_only_as_permission_boundary_may_allow_star(check):
    # The standard boundary shape: allow everything, then deny what no workload may do.
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": ["iam:CreateUser", "organizations:*"], "Resource": "*"},
            ],
        }
    )

    def program(attach):
        boundary = aws.iam.Policy("boundary", policy=document)
        aws.iam.Role("app", assume_role_policy=SERVICE_TRUST, permissions_boundary=boundary.arn)
        if attach:
            aws.iam.RolePolicyAttachment("app-boundary-as-policy", role="app", policy_arn=boundary.arn)

    assert check(lambda: program(False), "iam-no-wildcard-admin") == []
    assert check(lambda: program(True), "iam-no-wildcard-admin") == [
        "boundary: statement #1 allows every action ('*') on every resource ('*')"
    ]


# ---- SageMaker -----------------------------------------------------------------------------------------------


def model(isolation=True, vpc=True):
    return lambda: aws.sagemaker.Model(
        "model",
        execution_role_arn="arn:aws:iam::123456789012:role/sm",
        primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
            image="123456789012.dkr.ecr.us-west-2.amazonaws.com/m:1"
        ),
        enable_network_isolation=isolation,
        vpc_config=aws.sagemaker.ModelVpcConfigArgs(subnets=["subnet-1", "subnet-2"], security_group_ids=["sg-1"])
        if vpc
        else None,
    )


def test_isolated_model_in_the_vpc_passes(check):
    assert check(model(), "sagemaker-model-network-isolation") == []


def test_model_without_network_isolation_fails(check):
    assert check(model(isolation=False), "sagemaker-model-network-isolation") == [
        "model: enableNetworkIsolation is False: the model container can make outbound network calls"
    ]


def test_model_outside_the_vpc_fails(check):
    assert check(model(vpc=False), "sagemaker-model-network-isolation") == [
        "model: vpcConfig is not set: the model runs outside your VPC, past its security groups and endpoints"
    ]


def test_unknown_policy_document_reports_that_the_rule_cannot_run_during_preview():
    from policies.rules.conftest import PACK
    from preflight.model import UNKNOWN
    from preflight.policy import evaluate
    from preflight.testing import render

    result = render(role())
    record = result.one("aws:iam/role:Role")
    record.inputs["assumeRolePolicy"] = UNKNOWN
    (found,) = [v for v in evaluate(result, PACK) if v.policy == "iam-trust-policy-restricted"]
    assert (found.enforcement, found.urn) == ("advisory", record.urn)
    assert found.message == (
        "can't run policy 'iam-trust-policy-restricted' from policy pack 'ml-platform-guardrails@v0.0.1' during "
        "preview: string value at .assumeRolePolicy can't be known during preview"
    )


def test_a_new_buckets_unknown_inline_policy_output_does_not_hide_the_tls_finding():
    # In a preview, a v7 bucket's computed `policy` output is unknown: no bucket policy is declared for it.
    from policies.rules.conftest import PACK
    from preflight.model import UNKNOWN
    from preflight.policy import evaluate
    from preflight.testing import render

    result = render(lambda: s3.Bucket("data"))
    result.one("aws:s3/bucket:Bucket").outputs["policy"] = UNKNOWN
    assert [v.message for v in evaluate(result, PACK) if v.policy == "s3-bucket-tls-only"] == [
        "no bucket policy denies requests made without TLS (s3:* with aws:SecureTransport = false)"
    ]


# ---- sagemaker-data-capture ----------------------------------------------------------------------------------


def captured_endpoint(capture=True, enabled=True, modes=("Input", "Output"), percentage=20, serverless=False):
    def program():
        size = (
            {
                "serverless_config": aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                    max_concurrency=5, memory_size_in_mb=2048
                )
            }
            if serverless
            else {"instance_type": "ml.m5.large", "initial_instance_count": 2}
        )
        aws.sagemaker.EndpointConfiguration(
            "serving",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name="primary", model_name="model", **size
                )
            ],
            kms_key_arn=KEY,
            data_capture_config=aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=enabled,
                initial_sampling_percentage=percentage,
                destination_s3_uri="s3://capture/serving/",
                kms_key_id=KEY,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=m) for m in modes
                ],
            )
            if capture
            else None,
        )

    return program


def test_endpoint_config_capturing_requests_and_responses_passes(check):
    assert check(captured_endpoint(), "sagemaker-data-capture") == []


def test_input_and_output_in_one_capture_option_passes(check):
    assert check(captured_endpoint(modes=("InputAndOutput",)), "sagemaker-data-capture") == []


def test_endpoint_config_without_data_capture_fails(check):
    assert check(captured_endpoint(capture=False), "sagemaker-data-capture") == [
        (
            "serving: dataCaptureConfig is not set: no record is kept of what the model was asked and what it answered "
            "(audit, model monitoring)"
        )
    ]


def test_serverless_endpoint_config_without_data_capture_fails_and_says_why(check):
    assert check(captured_endpoint(capture=False, serverless=True), "sagemaker-data-capture") == [
        (
            "serving: dataCaptureConfig is not set: no record is kept of what the model was asked and what it answered "
            "(audit, model monitoring); serverless variants cannot capture, serve from instances where capture is required"
        )
    ]


def test_disabled_data_capture_fails(check):
    assert check(captured_endpoint(enabled=False), "sagemaker-data-capture") == [
        (
            "serving: dataCaptureConfig.enableCapture is False: no record is kept of what the model was asked and what it "
            "answered (audit, model monitoring)"
        )
    ]


def test_capturing_requests_only_fails(check):
    assert check(captured_endpoint(modes=("Input",)), "sagemaker-data-capture") == [
        "serving: dataCaptureConfig.captureOptions capture no Output: the model's responses are not recorded"
    ]


def test_capturing_responses_only_fails(check):
    assert check(captured_endpoint(modes=("Output",)), "sagemaker-data-capture") == [
        "serving: dataCaptureConfig.captureOptions capture no Input: the requests sent to the model are not recorded"
    ]


def test_zero_sampling_percentage_fails(check):
    assert check(captured_endpoint(percentage=0), "sagemaker-data-capture") == [
        "serving: dataCaptureConfig.initialSamplingPercentage is 0: at least 1% of invocations must be captured"
    ]


def test_minimum_sampling_percentage_is_a_setting(check):
    config = {"sagemaker-data-capture": {"minSamplingPercentage": 25}}
    assert check(captured_endpoint(percentage=20), "sagemaker-data-capture", config) == [
        "serving: dataCaptureConfig.initialSamplingPercentage is 20: at least 25% of invocations must be captured"
    ]
    assert check(captured_endpoint(percentage=25), "sagemaker-data-capture", config) == []
