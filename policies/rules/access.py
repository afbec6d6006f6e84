"""Access rules: nothing public by accident, least privilege in IAM, private control planes and no SSH."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    UNKNOWN,
    InvalidDocument,
    StackIndex,
    as_list,
    condition_keys,
    document,
    elements,
    get,
    is_false,
    is_public_principal,
    is_true,
    known,
    num,
    principal_values,
    resource_policy,
    setting,
    shown,
    stack_policy,
    statement_label,
    statements,
)
from ._s3 import BucketLinks
from ._types import (
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    BUCKET_ACL,
    BUCKET_OBJECTS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKETS,
    EC2_INSTANCE,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    FLOW_LOG,
    IAM_ATTACHMENTS,
    IAM_EXCLUSIVE_ATTACHMENTS,
    IAM_INLINE_POLICIES,
    IAM_POLICY,
    IAM_ROLE,
    IAM_USER,
    LAUNCH_TEMPLATE,
    LOAD_BALANCERS,
    SAGEMAKER_ENDPOINT_CONFIG,
    SAGEMAKER_MODEL,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    SECURITY_GROUPS,
    VPC,
)
from .escalation import escalations, messages

WORLD = ("0.0.0.0/0", "::/0")

# ---- S3 ------------------------------------------------------------------------------------------------------

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _check_public_access_block(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    # An account-wide block with all four settings covers every bucket in the account.
    if any(
        all(is_true(get(a.props, f)) for f in PUBLIC_ACCESS_FLAGS) for a in index.of_type(*ACCOUNT_PUBLIC_ACCESS_BLOCK)
    ):
        return
    links = BucketLinks.of(index)
    blocks = links.attached(BUCKET_PUBLIC_ACCESS_BLOCK)
    for bucket in links.buckets:
        found = blocks[bucket.urn]
        if not found:
            report(
                "no BucketPublicAccessBlock refers to this bucket: a later ACL or bucket policy can make it public",
                bucket.urn,
            )
            continue
        gaps: list[tuple[str, list[str]]] = []
        for block in found:
            values = [get(block.props, f) for f in PUBLIC_ACCESS_FLAGS]
            if UNKNOWN in values:
                gaps = []
                break
            gaps.append((block.name, [f for f, v in zip(PUBLIC_ACCESS_FLAGS, values, strict=True) if not is_true(v)]))
        if gaps and all(off for _, off in gaps):
            name, off = gaps[0]
            report(f"{name} leaves {', '.join(off)} off: all four settings must be true", bucket.urn)


S3_PUBLIC_ACCESS_BLOCK = stack_policy(
    "s3-bucket-public-access-block",
    category="access",
    severity=Severity.CRITICAL,
    description="Every S3 bucket has a public access block with all four settings on.",
    remediation=(
        "Declare an aws.s3.BucketPublicAccessBlock for the bucket (bucket=bucket.id) with block_public_acls, "
        "block_public_policy, ignore_public_acls and restrict_public_buckets all True (or one account-wide "
        "aws.s3.AccountPublicAccessBlock with all four)."
    ),
    check=_check_public_access_block,
)

PUBLIC_ACLS = {
    "public-read": "anyone on the internet can read it",
    "public-read-write": "anyone on the internet can read and write it",
    "authenticated-read": "every AWS account can read it",
}
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every AWS account (AuthenticatedUsers)",
}


def _check_public_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    acl = known(get(props, "acl"), "acl")
    if acl in PUBLIC_ACLS:
        report(f"acl is {acl!r}: {PUBLIC_ACLS[acl]}")
    grants = elements(get(props, "accessControlPolicy", "grants"))
    for grant in grants:
        uri = get(grant, "grantee", "uri")
        if uri in PUBLIC_GROUPS:
            report(f"accessControlPolicy grants {get(grant, 'permission')} to {PUBLIC_GROUPS[uri]}")
    for grant in elements(get(props, "grants")):
        uri = get(grant, "uri")
        if uri in PUBLIC_GROUPS:
            permissions = ", ".join(str(p) for p in elements(get(grant, "permissions")))
            report(f"grants {permissions} to {PUBLIC_GROUPS[uri]}")


S3_NO_PUBLIC_ACL = resource_policy(
    "s3-no-public-acl",
    category="access",
    severity=Severity.CRITICAL,
    description="No bucket or object ACL grants access to everyone or to every AWS account.",
    remediation=(
        "Remove the public canned ACL or grant; keep object ownership at BucketOwnerEnforced (ACLs off) and grant "
        "access with IAM or bucket policy statements naming the principals."
    ),
    types=[*BUCKET_ACL, *BUCKETS, *BUCKET_OBJECTS],
    check=_check_public_acl,
)


def _check_bucket_policy_principals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    try:
        doc = document(known(get(args.props, "policy"), "policy"))
    except InvalidDocument as exc:
        report(f"policy is {exc}")
        return
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow" or st.get("Condition"):
            continue
        if is_public_principal(st.get("Principal")) or "NotPrincipal" in st:
            actions = ", ".join(str(a) for a in as_list(st.get("Action") or st.get("NotAction")))
            report(f"{statement_label(st, i)} allows {actions} to every principal ('*') without a condition")


S3_POLICY_NO_PUBLIC_PRINCIPAL = resource_policy(
    "s3-bucket-policy-no-public-principal",
    category="access",
    severity=Severity.CRITICAL,
    description="Bucket policies never allow every principal ('*') without a condition.",
    remediation=(
        "Name the principals (account, role or service ARNs) in the Allow statement, or constrain '*' with a "
        "condition such as aws:PrincipalOrgID, aws:SourceVpce or aws:SourceArn."
    ),
    types=[*BUCKET_POLICY, *BUCKETS],
    check=_check_bucket_policy_principals,
)


def _denies_plain_http(doc) -> bool:
    for st in statements(doc):
        if st.get("Effect") != "Deny" or not is_public_principal(st.get("Principal")):
            continue
        if not {"s3:*", "*"} & {str(a) for a in as_list(st.get("Action"))}:
            continue
        if "false" in [str(v).lower() for v in condition_keys(st).get("aws:securetransport", [])]:
            return True
    return False


def _check_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    links = BucketLinks.of(StackIndex(args.resources))
    policies = links.attached(BUCKET_POLICY)
    for bucket in links.buckets:
        sources = [get(p.props, "policy") for p in policies[bucket.urn]]
        inline = get(bucket.props, "policy")
        # A new bucket's inline `policy` output is unknown in a preview: that is "not declared here".
        if inline is not UNKNOWN:
            sources.append(inline)
        docs = []
        for source in sources:
            try:
                docs.append(document(source))
            except InvalidDocument:
                docs.append(None)
        if UNKNOWN in docs:
            continue
        if not any(_denies_plain_http(d) for d in docs if d):
            report(
                "no bucket policy denies requests made without TLS (s3:* with aws:SecureTransport = false)", bucket.urn
            )


S3_TLS_ONLY = stack_policy(
    "s3-bucket-tls-only",
    category="access",
    severity=Severity.HIGH,
    description="Every S3 bucket's policy denies requests made without TLS.",
    remediation=(
        "Add a bucket policy (aws.s3.BucketPolicy) statement: Effect Deny, Principal '*', Action 's3:*', Resource "
        "the bucket and its objects, Condition {Bool: {aws:SecureTransport: 'false'}}."
    ),
    check=_check_tls_only,
)


# ---- EKS -----------------------------------------------------------------------------------------------------


def _check_eks_endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    vpc = known(get(args.props, "vpcConfig"), "vpcConfig")
    public = known(get(vpc, "endpointPublicAccess"), "vpcConfig.endpointPublicAccess")
    if public is False:
        return
    cidrs = [str(c) for c in elements(known(get(vpc, "publicAccessCidrs"), "vpcConfig.publicAccessCidrs"))]
    state = "not set (EKS turns it on)" if public is None else "true"
    if not cidrs:
        report(
            f"vpcConfig.endpointPublicAccess is {state} and publicAccessCidrs is not set: the Kubernetes API is "
            "reachable from 0.0.0.0/0"
        )
    for cidr in cidrs:
        if cidr in WORLD:
            report(
                f"vpcConfig.publicAccessCidrs includes {cidr}: the Kubernetes API is reachable from the whole internet"
            )


EKS_ENDPOINT = resource_policy(
    "eks-endpoint-not-public",
    category="access",
    severity=Severity.CRITICAL,
    description="EKS API endpoints are private, or public only to listed CIDR ranges (never 0.0.0.0/0).",
    remediation=(
        "Set vpc_config.endpoint_public_access=False and endpoint_private_access=True, or keep the public "
        "endpoint with public_access_cidrs limited to your VPN or office ranges."
    ),
    types=[EKS_CLUSTER],
    check=_check_eks_endpoint,
)


def _check_creator_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = known(
        get(args.props, "accessConfig", "bootstrapClusterCreatorAdminPermissions"),
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
    )
    if value is None or is_true(value):
        state = "not set (EKS defaults it to true)" if value is None else "true"
        report(
            f"accessConfig.bootstrapClusterCreatorAdminPermissions is {state}: whoever runs the deployment becomes a "
            "permanent cluster administrator"
        )


EKS_NO_CREATOR_ADMIN = resource_policy(
    "eks-no-creator-admin",
    category="access",
    severity=Severity.HIGH,
    description="EKS clusters do not make their creator a permanent cluster administrator.",
    remediation=(
        "Set access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode='API', "
        "bootstrap_cluster_creator_admin_permissions=False) and grant administrators through aws.eks.AccessEntry "
        "and AccessPolicyAssociation resources."
    ),
    types=[EKS_CLUSTER],
    check=_check_creator_admin,
)

EKS_LOG_TYPES_SCHEMA = {
    "requiredLogTypes": {
        "type": "array",
        "items": {"type": "string", "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
        "uniqueItems": True,
        "default": ["api", "audit", "authenticator"],
        "description": "Control-plane log types every cluster must send to CloudWatch Logs.",
    }
}


def _check_control_plane_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = setting(args.get_config(), "requiredLogTypes", EKS_LOG_TYPES_SCHEMA)
    enabled = {str(t) for t in elements(known(get(args.props, "enabledClusterLogTypes"), "enabledClusterLogTypes"))}
    missing = [t for t in required if t not in enabled]
    if missing:
        report(f"enabledClusterLogTypes lacks {', '.join(missing)}: who did what to the cluster is not recorded")


EKS_AUDIT_LOGS = resource_policy(
    "eks-control-plane-audit-logs",
    category="access",
    severity=Severity.MEDIUM,
    description="EKS clusters send their API, audit and authenticator logs to CloudWatch Logs.",
    remediation="Set enabled_cluster_log_types on the aws.eks.Cluster to include the required types (api, audit, authenticator).",
    types=[EKS_CLUSTER],
    check=_check_control_plane_logs,
    config=EKS_LOG_TYPES_SCHEMA,
)


def _check_node_group_ssh(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    for group in index.of_type(EKS_NODE_GROUP):
        remote = get(group.props, "remoteAccess")
        if remote is not None and remote is not UNKNOWN:
            key = get(remote, "ec2SshKey")
            report(f"remoteAccess is set (ec2SshKey {shown(key)}): the nodes accept SSH", group.urn)
        for template in index.launch_templates(group):
            key = get(template.props, "keyName")
            if key is not None and key is not UNKNOWN:
                report(f"its launch template {template.name} sets keyName {key!r}: the nodes accept SSH", group.urn)


EKS_NODE_GROUP_NO_SSH = stack_policy(
    "eks-node-group-no-ssh",
    category="access",
    severity=Severity.HIGH,
    description="EKS node groups do not accept SSH (no remote access, no key pair in their launch template).",
    remediation=(
        "Remove remote_access from the aws.eks.NodeGroup and key_name from its launch template; reach nodes with "
        "SSM Session Manager (AmazonSSMManagedInstanceCore on the node role) when needed."
    ),
    check=_check_node_group_ssh,
)


# ---- EC2 -----------------------------------------------------------------------------------------------------

IMDS_SCHEMA = {
    "maxHopLimit": {
        "type": "integer",
        "minimum": 1,
        "maximum": 64,
        "default": 1,
        "description": "Highest httpPutResponseHopLimit allowed. 1 keeps containers from reaching the node's IMDS.",
    }
}


def _check_imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    options = known(get(args.props, "metadataOptions"), "metadataOptions")
    if options is None and args.resource_type == EC2_INSTANCE and get(args.props, "launchTemplate") is not None:
        return  # judged on the launch template
    if get(options, "httpEndpoint") == "disabled":
        return
    tokens = known(get(options, "httpTokens"), "metadataOptions.httpTokens")
    if tokens != "required":
        report(
            f"metadataOptions.httpTokens is {shown(tokens)}: instances answer IMDSv1, which a server-side request "
            "forgery can use to steal the instance role's credentials"
        )
    hops = known(get(options, "httpPutResponseHopLimit"), "metadataOptions.httpPutResponseHopLimit")
    limit = setting(args.get_config(), "maxHopLimit", IMDS_SCHEMA)
    if isinstance(hops, (int, float)) and hops > limit:
        report(
            f"metadataOptions.httpPutResponseHopLimit is {num(hops)}: containers can reach the instance role's "
            f"credentials; at most {num(limit)} is allowed"
        )


IMDSV2 = resource_policy(
    "ec2-imdsv2-required",
    category="access",
    severity=Severity.HIGH,
    description="Launch templates and instances require IMDSv2 tokens, with a hop limit that keeps containers out.",
    remediation=(
        "Set metadata_options http_endpoint='enabled', http_tokens='required' and http_put_response_hop_limit=1 "
        "on the launch template or instance; pods get AWS credentials from EKS Pod Identity or IRSA instead."
    ),
    types=[LAUNCH_TEMPLATE, EC2_INSTANCE],
    check=_check_imdsv2,
    config=IMDS_SCHEMA,
)

SG_SCHEMA = {
    "loadBalancerPorts": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 65535},
        "uniqueItems": True,
        "default": [443],
        "description": "TCP ports a load balancer's security group may open to 0.0.0.0/0 and ::/0.",
    }
}


def _ports(protocol, low, high) -> str:
    if str(protocol) in ("-1", "all"):
        return "all traffic"
    if low == high:
        return f"{protocol} port {num(low)}"
    return f"{protocol} ports {num(low)}-{num(high)}"


def _check_world_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    groups = index.of_type(*SECURITY_GROUPS)
    on_load_balancers = {
        g.urn for lb in index.of_type(*LOAD_BALANCERS) for g in index.refers_to(lb, "securityGroups", groups, ("id",))
    }
    allowed_ports = set(setting(args.get_config(), "loadBalancerPorts", SG_SCHEMA))

    # (resource declaring the rule, the group it opens, protocol, from, to, cidrs)
    rules: list[tuple[PolicyResource, PolicyResource | None, Any, Any, Any, list[Any]]] = []
    for group in groups:
        for item in elements(get(group.props, "ingress")):
            cidrs = elements(get(item, "cidrBlocks")) + elements(get(item, "ipv6CidrBlocks"))
            rules.append((group, group, get(item, "protocol"), get(item, "fromPort"), get(item, "toPort"), cidrs))
    for rule in index.of_type(SECURITY_GROUP_RULE):
        if get(rule.props, "type") != "ingress":
            continue
        cidrs = elements(get(rule.props, "cidrBlocks")) + elements(get(rule.props, "ipv6CidrBlocks"))
        owner = next(iter(index.refers_to(rule, "securityGroupId", groups, ("id",))), None)
        rules.append(
            (rule, owner, get(rule.props, "protocol"), get(rule.props, "fromPort"), get(rule.props, "toPort"), cidrs)
        )
    for rule in index.of_type(SECURITY_GROUP_INGRESS_RULE):
        cidrs = [c for c in (get(rule.props, "cidrIpv4"), get(rule.props, "cidrIpv6")) if c is not None]
        owner = next(iter(index.refers_to(rule, "securityGroupId", groups, ("id",))), None)
        rules.append(
            (rule, owner, get(rule.props, "ipProtocol"), get(rule.props, "fromPort"), get(rule.props, "toPort"), cidrs)
        )

    for declared_by, owner, protocol, low, high, cidrs in rules:
        for cidr in (str(c) for c in cidrs if c is not UNKNOWN):
            if cidr not in WORLD:
                continue
            tcp = str(protocol).lower() in ("tcp", "6")
            exempt = (
                tcp and low == high and low in allowed_ports and owner is not None and owner.urn in on_load_balancers
            )
            if not exempt:
                report(
                    f"allows ingress from {cidr} to {_ports(protocol, low, high)}: only "
                    f"{', '.join(num(p) for p in sorted(allowed_ports)) or 'no port'} on a load balancer's security "
                    "group may be open to the world",
                    declared_by.urn,
                )


SG_NO_WORLD_INGRESS = stack_policy(
    "security-group-no-world-ingress",
    category="access",
    severity=Severity.CRITICAL,
    description="Security groups admit no traffic from 0.0.0.0/0 or ::/0, except HTTPS on a load balancer.",
    remediation=(
        "Limit the rule's source to the CIDR ranges or security groups that need it. Public HTTPS belongs on a "
        "load balancer whose security group opens only 443; instances and nodes admit traffic from that group."
    ),
    check=_check_world_ingress,
    config=SG_SCHEMA,
)


def _check_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    vpcs = index.of_type(VPC)
    covered = index.linked(index.of_type(FLOW_LOG), "vpcId", vpcs, ("id",))
    for vpc in vpcs:
        if not covered[vpc.urn]:
            report("no FlowLog records this VPC's traffic: connections cannot be investigated afterwards", vpc.urn)


VPC_FLOW_LOGS = stack_policy(
    "vpc-flow-logs",
    category="access",
    severity=Severity.MEDIUM,
    description="Every VPC records its traffic with flow logs.",
    remediation=(
        "Declare an aws.ec2.FlowLog with vpc_id=vpc.id and traffic_type='ALL', delivering to a KMS-encrypted "
        "CloudWatch log group (with a retention) or an S3 bucket."
    ),
    check=_check_flow_logs,
)


# ---- IAM -----------------------------------------------------------------------------------------------------


def _documents(resource):
    """(label, policy document) for every permission document a resource carries."""
    if resource.resource_type in (IAM_POLICY, *IAM_INLINE_POLICIES):
        yield "", get(resource.props, "policy")
    if resource.resource_type == IAM_ROLE:
        for item in elements(get(resource.props, "inlinePolicies")):
            yield f"inline policy {get(item, 'name', default='?')!r}: ", get(item, "policy")


def _attached_policy_arns(index: StackIndex) -> set[str]:
    arns = set()
    for a in index.of_type(*IAM_ATTACHMENTS):
        arns.add(str(get(a.props, "policyArn")))
    for a in index.of_type(*IAM_EXCLUSIVE_ATTACHMENTS):
        arns.update(str(v) for v in elements(get(a.props, "policyArns")))
    for role in index.of_type(IAM_ROLE):
        arns.update(str(v) for v in elements(get(role.props, "managedPolicyArns")))
    return arns


def _boundary_only_policies(index: StackIndex) -> set[str]:
    """Policies used only as permission boundaries: `Allow *` plus denies is the standard boundary shape, and a
    boundary grants nothing by itself."""
    policies = index.of_type(IAM_POLICY)
    boundaries = {
        p.urn
        for holder in index.of_type(IAM_ROLE, IAM_USER)
        for p in index.refers_to(holder, "permissionsBoundary", policies, ("arn",))
    }
    attached = _attached_policy_arns(index)
    by_dependency = {
        d.urn
        for a in index.of_type(*IAM_ATTACHMENTS, *IAM_EXCLUSIVE_ATTACHMENTS)
        for key in ("policyArn", "policyArns")
        for d in a.property_dependencies.get(key, [])
    }
    by_dependency |= {
        d.urn for r in index.of_type(IAM_ROLE) for d in r.property_dependencies.get("managedPolicyArns", [])
    }
    return {
        p.urn
        for p in policies
        if p.urn in boundaries and p.urn not in by_dependency and str(get(p.props, "arn")) not in attached
    }


def _check_wildcard_admin(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    exempt = _boundary_only_policies(index)
    for resource in index.of_type(IAM_POLICY, *IAM_INLINE_POLICIES, IAM_ROLE):
        if resource.urn in exempt:
            continue
        for label, source in _documents(resource):
            try:
                doc = document(source)
            except InvalidDocument:
                continue  # IAM rejects it on create; nothing to judge
            if doc is UNKNOWN:
                continue
            for i, st in enumerate(statements(doc)):
                if st.get("Effect") != "Allow" or "*" not in [str(r) for r in as_list(st.get("Resource"))]:
                    continue
                actions = [str(a) for a in as_list(st.get("Action"))]
                if "*" in actions or "*:*" in actions:
                    report(
                        f"{label}{statement_label(st, i)} allows every action ('*') on every resource ('*')",
                        resource.urn,
                    )
                elif "NotAction" in st:
                    excluded = ", ".join(str(a) for a in as_list(st.get("NotAction")))
                    report(
                        f"{label}{statement_label(st, i)} allows every action except {excluded} on every resource ('*')",
                        resource.urn,
                    )


IAM_NO_WILDCARD_ADMIN = stack_policy(
    "iam-no-wildcard-admin",
    category="access",
    severity=Severity.CRITICAL,
    description="No IAM policy allows every action on every resource (policies used only as permission boundaries aside).",
    remediation=(
        "List the actions the workload calls and the ARNs it calls them on. Grants to S3 data belong to the "
        "artifact store's grant_statements(); wildcard actions need a resource or condition that bounds them."
    ),
    check=_check_wildcard_admin,
)

ADMIN_POLICY_SCHEMA = {
    "deniedPolicies": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "default": ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"],
        "description": "AWS managed policy names (the part after policy/) that must never be attached.",
    }
}
_AWS_MANAGED = re.compile(r"^arn:[a-z-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")


def _check_admin_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type in IAM_ATTACHMENTS:
        arns = [known(get(props, "policyArn"), "policyArn")]
    elif args.resource_type in IAM_EXCLUSIVE_ATTACHMENTS:
        arns = elements(known(get(props, "policyArns"), "policyArns"))
    else:
        arns = elements(get(props, "managedPolicyArns"))
    denied = set(setting(args.get_config(), "deniedPolicies", ADMIN_POLICY_SCHEMA))
    for arn in arns:
        match = _AWS_MANAGED.match(str(arn))
        if match and match.group("name") in denied:
            report(f"attaches the AWS managed policy {match.group('name')} ({arn})")


IAM_NO_ADMIN_POLICIES = resource_policy(
    "iam-no-admin-managed-policies",
    category="access",
    severity=Severity.CRITICAL,
    description="AWS administrator policies (AdministratorAccess, PowerUserAccess, IAMFullAccess) are never attached.",
    remediation="Detach the managed policy and grant the specific actions the principal needs in its own policy.",
    types=[*IAM_ATTACHMENTS, *IAM_EXCLUSIVE_ATTACHMENTS, IAM_ROLE],
    check=_check_admin_policies,
    config=ADMIN_POLICY_SCHEMA,
)


def _check_privilege_escalation(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    for resource in index.of_type(IAM_POLICY, *IAM_INLINE_POLICIES, IAM_ROLE):
        for label, source in _documents(resource):
            try:
                doc = document(source)
            except InvalidDocument:
                continue  # IAM rejects it on create; nothing to judge
            if doc is UNKNOWN:
                continue
            for message in messages(list(escalations(doc)), label):
                report(message, resource.urn)


IAM_PRIVILEGE_ESCALATION = stack_policy(
    "iam-privilege-escalation",
    category="access",
    severity=Severity.CRITICAL,
    description=(
        "No identity or boundary policy grants a known privilege-escalation method (Rhino Security Labs' list, as "
        "cloudsplaining checks it) on resources wider than one IAM path or name prefix."
    ),
    remediation=(
        "Scope IAM writes and iam:PassRole to the stack's own IAM path (arn:aws:iam::<account>:role/<project>/<stack>/*), "
        "condition role writes on iam:PermissionsBoundary = the stack's boundary, and never grant user, group, access "
        "key, login profile or policy-version writes (components._iam_documents.ci_deploy_policy shows the shape)."
    ),
    check=_check_privilege_escalation,
)

_WEB_IDENTITY_ACTIONS = {"sts:assumerolewithwebidentity", "sts:*", "*"}


def _check_trust_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    try:
        doc = document(known(get(args.props, "assumeRolePolicy"), "assumeRolePolicy"))
    except InvalidDocument as exc:
        report(f"assumeRolePolicy is {exc}")
        return
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        label = statement_label(st, i)
        if is_public_principal(st.get("Principal")):
            report(f"{label} lets any principal ('*') assume the role")
            continue
        actions = {str(a).lower() for a in as_list(st.get("Action"))}
        principal = st.get("Principal")
        federated = principal_values(principal.get("Federated")) if isinstance(principal, dict) else []
        if not actions & _WEB_IDENTITY_ACTIONS:
            continue
        conditions = condition_keys(st)
        for provider in federated:
            if "oidc-provider/" not in provider:
                continue
            issuer = provider.split("oidc-provider/", 1)[1]
            values = [str(v) for v in conditions.get(f"{issuer}:sub".lower(), [])]
            if not values:
                report(
                    f"{label} trusts {issuer} without a condition on {issuer}:sub: every identity it issues tokens to can assume the role"
                )
            elif all(v == "*" for v in values):
                report(f"{label} trusts {issuer} with a {issuer}:sub condition that matches everything ('*')")


IAM_TRUST = resource_policy(
    "iam-trust-policy-restricted",
    category="access",
    severity=Severity.CRITICAL,
    description="Role trust policies name their principals (never '*') and OIDC trusts are bound to a subject.",
    remediation=(
        "Trust named accounts, roles or services. For EKS IRSA trust the cluster's OIDC provider with "
        "StringEquals on <issuer>:sub = system:serviceaccount:<namespace>:<name> and <issuer>:aud = "
        "sts.amazonaws.com (components.workload_role.irsa_trust builds it)."
    ),
    types=[IAM_ROLE],
    check=_check_trust_policy,
)


def _check_boundary(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Presence only: a boundary created in the same stack has an ARN known only after apply.
    if get(args.props, "permissionsBoundary") is None:
        report("permissionsBoundary is not set: the role's own policies are the only limit on what it can do")


IAM_BOUNDARY = resource_policy(
    "iam-role-permissions-boundary",
    category="access",
    severity=Severity.HIGH,
    description="Every IAM role carries a permissions boundary.",
    remediation=(
        "Set permissions_boundary on the aws.iam.Role to the platform boundary policy ARN "
        "(components.workload_role.WorkloadRole requires it)."
    ),
    types=[IAM_ROLE],
    check=_check_boundary,
)


# ---- SageMaker -----------------------------------------------------------------------------------------------


def _check_model_isolation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    isolation = get(props, "enableNetworkIsolation")
    if isolation is not UNKNOWN and not is_true(isolation):
        report(f"enableNetworkIsolation is {shown(isolation)}: the model container can make outbound network calls")
    vpc = get(props, "vpcConfig")
    if vpc is None:
        report("vpcConfig is not set: the model runs outside your VPC, past its security groups and endpoints")
    elif vpc is not UNKNOWN and get(vpc, "subnets") is not UNKNOWN and not elements(get(vpc, "subnets")):
        report("vpcConfig.subnets is empty")


SAGEMAKER_MODEL_ISOLATION = resource_policy(
    "sagemaker-model-network-isolation",
    category="access",
    severity=Severity.HIGH,
    description="SageMaker models run network-isolated inside the VPC. Serverless endpoints support neither.",
    remediation=(
        "Set enable_network_isolation=True and vpc_config (private subnets, a security group with egress to the "
        "VPC endpoints only) on the aws.sagemaker.Model; serve it from instance-based endpoints. Where serverless "
        "is accepted (dev), this rule is advisory."
    ),
    types=[SAGEMAKER_MODEL],
    check=_check_model_isolation,
)


DATA_CAPTURE_SCHEMA = {
    "minSamplingPercentage": {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 1,
        "description": "Smallest share of invocations (percent) an endpoint configuration may capture.",
    }
}

# CaptureMode values (CreateEndpointConfig): InputAndOutput records both in one option.
_CAPTURED_BY = {"Input": {"Input", "InputAndOutput"}, "Output": {"Output", "InputAndOutput"}}
_WHAT_IS_LOST = {
    "Input": "the requests sent to the model are not recorded",
    "Output": "the model's responses are not recorded",
}


def _check_data_capture(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    lost = "no record is kept of what the model was asked and what it answered (audit, model monitoring)"
    capture = known(get(props, "dataCaptureConfig"), "dataCaptureConfig")
    if capture is None:
        variants = elements(get(props, "productionVariants"))
        serverless = bool(variants) and all(get(v, "serverlessConfig") is not None for v in variants)
        # Serverless endpoints cannot capture at all: say so, the fix is a different kind of endpoint.
        hint = (
            "; serverless variants cannot capture, serve from instances where capture is required" if serverless else ""
        )
        report(f"dataCaptureConfig is not set: {lost}{hint}")
        return
    enabled = known(get(capture, "enableCapture"), "dataCaptureConfig.enableCapture")
    if is_false(enabled):
        report(f"dataCaptureConfig.enableCapture is {shown(enabled)}: {lost}")
        return
    options = elements(known(get(capture, "captureOptions"), "dataCaptureConfig.captureOptions"))
    modes = {known(get(o, "captureMode"), "dataCaptureConfig.captureOptions.captureMode") for o in options}
    for mode, covered_by in _CAPTURED_BY.items():
        if not modes & covered_by:
            report(f"dataCaptureConfig.captureOptions capture no {mode}: {_WHAT_IS_LOST[mode]}")
    minimum = setting(args.get_config(), "minSamplingPercentage", DATA_CAPTURE_SCHEMA)
    percentage = known(get(capture, "initialSamplingPercentage"), "dataCaptureConfig.initialSamplingPercentage")
    if isinstance(percentage, (int, float)) and percentage < minimum:
        report(
            f"dataCaptureConfig.initialSamplingPercentage is {num(percentage)}: at least {num(minimum)}% of "
            "invocations must be captured"
        )


SAGEMAKER_DATA_CAPTURE = resource_policy(
    "sagemaker-data-capture",
    category="access",
    severity=Severity.MEDIUM,
    description=(
        "SageMaker endpoint configurations capture requests and responses: the audit trail of what a model was "
        "asked and answered (like VPC flow logs and EKS audit logs) and the input of model monitoring. "
        "Serverless endpoints cannot capture."
    ),
    remediation=(
        "Set data_capture_config on the aws.sagemaker.EndpointConfiguration: enable_capture=True, "
        "capture_options for Input and Output, initial_sampling_percentage >= minSamplingPercentage, "
        "destination_s3_uri in the data-capture bucket and kms_key_id. Serverless variants cannot capture: serve "
        "from instances where this rule is mandatory (it is advisory in dev, where serverless is accepted)."
    ),
    types=[SAGEMAKER_ENDPOINT_CONFIG],
    check=_check_data_capture,
    config=DATA_CAPTURE_SCHEMA,
)


POLICIES = [
    S3_PUBLIC_ACCESS_BLOCK,
    S3_NO_PUBLIC_ACL,
    S3_POLICY_NO_PUBLIC_PRINCIPAL,
    S3_TLS_ONLY,
    EKS_ENDPOINT,
    EKS_NO_CREATOR_ADMIN,
    EKS_AUDIT_LOGS,
    EKS_NODE_GROUP_NO_SSH,
    IMDSV2,
    SG_NO_WORLD_INGRESS,
    VPC_FLOW_LOGS,
    IAM_NO_WILDCARD_ADMIN,
    IAM_NO_ADMIN_POLICIES,
    IAM_PRIVILEGE_ESCALATION,
    IAM_TRUST,
    IAM_BOUNDARY,
    SAGEMAKER_MODEL_ISOLATION,
    SAGEMAKER_DATA_CAPTURE,
]
