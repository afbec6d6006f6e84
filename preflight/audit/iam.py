"""IAM roles: permission boundary, trust policy, attached managed policies and inline policies.

Attachments and inline policies are separate resources in the state (`RolePolicyAttachment`, `RolePolicy`); each is
checked on its own (deleted, or its document changed), and the role reports what was added live that no resource
of the state declares — an `AdministratorAccess` attached in the console is drift of the role."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, as_set, policy_document, statement_difference

ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INLINE = "aws:iam/rolePolicy:RolePolicy"
NO_ENTITY = "NoSuchEntity"


def _document(value: Any) -> Any:
    # boto3 hands IAM documents back already URL-decoded and parsed.
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _declared_attachments(ctx: Context, role: str) -> tuple[list[str], list[str]]:
    """(managed policy ARNs, inline policy names) the state declares for `role`, on the role or as resources."""
    record = ctx.record
    arns = list(record.inputs.get("managedPolicyArns") or [])
    names = [p.get("name") for p in record.inputs.get("inlinePolicies") or [] if isinstance(p, Mapping)]
    for other in ctx.state.result.resources:
        if other.inputs.get("role") != role:
            continue
        if other.type == ATTACHMENT:
            arns.append(other.inputs.get("policyArn"))
        elif other.type == INLINE:
            names.append(other.inputs.get("name") or str(other.id or "").partition(":")[2])
    return [a for a in arns if a], [n for n in names if n]


def _declared_role(ctx: Context) -> Mapping[str, Any]:
    arns, names = _declared_attachments(ctx, str(ctx.record.id))
    return {**ctx.record.inputs, "_attached": arns, "_inline": names}


def _read_role(ctx: Context) -> Any:
    name = ctx.record.id
    found = ctx.call("iam", "GetRole", missing=(NO_ENTITY,), RoleName=name)
    if found is ABSENT:
        return ABSENT
    role = found.get("Role", {})
    attached = [p["PolicyArn"] for p in ctx.pages("iam", "ListAttachedRolePolicies", "AttachedPolicies", RoleName=name)]
    inline = list(ctx.pages("iam", "ListRolePolicies", "PolicyNames", RoleName=name))
    declared_arns, declared_names = _declared_attachments(ctx, str(name))
    # Only what was added live differs here; a declared attachment missing live is its own resource's finding.
    return {
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "assumeRolePolicy": _document(role.get("AssumeRolePolicyDocument")),
        "_attached": sorted(set(attached) | set(declared_arns)),
        "_inline": sorted(set(inline) | set(declared_names)),
        "_tags": {t["Key"]: t["Value"] for t in role.get("Tags", [])},
    }


def _read_attachment(ctx: Context) -> Any:
    role, arn = ctx.record.inputs.get("role"), ctx.record.inputs.get("policyArn")
    attached = ctx.pages("iam", "ListAttachedRolePolicies", "AttachedPolicies", RoleName=role, missing=(NO_ENTITY,))
    if attached is ABSENT:
        return ABSENT
    return {"policyArn": arn} if arn in [p["PolicyArn"] for p in attached] else ABSENT


def _read_inline(ctx: Context) -> Any:
    role = ctx.record.inputs.get("role")
    name = ctx.record.inputs.get("name") or str(ctx.record.id or "").partition(":")[2]
    found = ctx.call("iam", "GetRolePolicy", missing=(NO_ENTITY,), RoleName=role, PolicyName=name)
    return ABSENT if found is ABSENT else {"policy": _document(found.get("PolicyDocument"))}


READERS = (
    Reader(
        ROLE,
        "IAM role",
        _read_role,
        (
            Field("permissionsBoundary"),
            Field("assumeRolePolicy", policy_document, show=statement_difference),
            Field("_attached", as_set, label="attached managed policies"),
            Field("_inline", as_set, label="inline policies"),
        ),
        declared=_declared_role,
    ),
    Reader(ATTACHMENT, "IAM role policy attachment", _read_attachment),
    Reader(
        INLINE, "IAM role inline policy", _read_inline, (Field("policy", policy_document, show=statement_difference),)
    ),
)
