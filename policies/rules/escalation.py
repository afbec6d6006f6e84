"""Known IAM privilege-escalation methods, and where a policy document grants one.

The methods are the ones Rhino Security Labs published and cloudsplaining checks (`PRIVILEGE_ESCALATION_METHODS`),
plus the boundary escapes (`Put/DeleteRolePermissionsBoundary`, creating a role without a boundary). A statement
grants a method when it allows every action of it on a resource wider than one IAM path or name prefix (`*`,
`role/*`, `arn:aws:iam::*:...`), and, for actions that accept `iam:PermissionsBoundary`, without a condition on that
key. Pure functions over plain JSON documents: the pack rule and the stack tests call the same code.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Method -> the actions that together make it (lower-case, as IAM compares action names).
METHODS: Mapping[str, tuple[str, ...]] = {
    # Credentials of other users.
    "CreateAccessKey": ("iam:createaccesskey",),
    "CreateLoginProfile": ("iam:createloginprofile",),
    "UpdateLoginProfile": ("iam:updateloginprofile",),
    "AddUserToGroup": ("iam:addusertogroup",),
    # What a policy grants.
    "CreateNewPolicyVersion": ("iam:createpolicyversion",),
    "SetExistingDefaultPolicyVersion": ("iam:setdefaultpolicyversion",),
    "AttachUserPolicy": ("iam:attachuserpolicy",),
    "AttachGroupPolicy": ("iam:attachgrouppolicy",),
    "AttachRolePolicy": ("iam:attachrolepolicy",),
    "PutUserPolicy": ("iam:putuserpolicy",),
    "PutGroupPolicy": ("iam:putgrouppolicy",),
    "PutRolePolicy": ("iam:putrolepolicy",),
    # Who may assume a role.
    "UpdateRolePolicyToAssumeIt": ("iam:updateassumerolepolicy",),
    # Boundaries.
    "PutRolePermissionsBoundary": ("iam:putrolepermissionsboundary",),
    "DeleteRolePermissionsBoundary": ("iam:deleterolepermissionsboundary",),
    "PutUserPermissionsBoundary": ("iam:putuserpermissionsboundary",),
    "DeleteUserPermissionsBoundary": ("iam:deleteuserpermissionsboundary",),
    "CreateRoleWithoutBoundary": ("iam:createrole",),
    # Passing an existing role to a service that runs code the caller controls.
    "CreateEC2WithExistingIP": ("iam:passrole", "ec2:runinstances"),
    "PassExistingRoleToNewLambdaThenInvoke": ("iam:passrole", "lambda:createfunction", "lambda:invokefunction"),
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo": (
        "iam:passrole",
        "lambda:createfunction",
        "lambda:createeventsourcemapping",
    ),
    "PassExistingRoleToNewGlueDevEndpoint": ("iam:passrole", "glue:createdevendpoint"),
    "PassExistingRoleToCloudFormation": ("iam:passrole", "cloudformation:createstack"),
    "PassExistingRoleToNewDataPipeline": ("iam:passrole", "datapipeline:createpipeline"),
    "PassExistingRoleToNewSageMakerNotebook": ("iam:passrole", "sagemaker:createnotebookinstance"),
    "PassExistingRoleToNewSageMakerTrainingJob": ("iam:passrole", "sagemaker:createtrainingjob"),
    "PassExistingRoleToNewSageMakerProcessingJob": ("iam:passrole", "sagemaker:createprocessingjob"),
    "PassExistingRoleToNewCodeBuildProject": ("iam:passrole", "codebuild:createproject", "codebuild:startbuild"),
    "PassExistingRoleToNewEcsTask": ("iam:passrole", "ecs:registertaskdefinition", "ecs:runtask"),
    # Changing code that already runs as a role.
    "UpdateExistingGlueDevEndpoint": ("glue:updatedevendpoint",),
    "EditExistingLambdaFunctionWithRole": ("lambda:updatefunctioncode",),
}

# The only actions whose resource is an IAM identity or policy: the ones scoped by a path or a name prefix. The
# others in METHODS (ec2:RunInstances, lambda:CreateFunction, ...) only complete a PassRole method.
_IAM_SCOPED = {a for actions in METHODS.values() for a in actions if a.startswith("iam:")}
_CODE_CHANGES = {"glue:updatedevendpoint", "lambda:updatefunctioncode"}

BOUNDARY_KEYED = frozenset(
    {
        "iam:attachrolepolicy",
        "iam:attachuserpolicy",
        "iam:createrole",
        "iam:createuser",
        "iam:deleterolepermissionsboundary",
        "iam:deleterolepolicy",
        "iam:deleteuserpermissionsboundary",
        "iam:deleteuserpolicy",
        "iam:detachrolepolicy",
        "iam:detachuserpolicy",
        "iam:putrolepermissionsboundary",
        "iam:putrolepolicy",
        "iam:putuserpermissionsboundary",
        "iam:putuserpolicy",
    }
)
"""Actions the Service Authorization Reference lists with the `iam:PermissionsBoundary` condition key (a test checks
this against the IAM definition parliament ships)."""

_USER_ACTIONS = (
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:attachuserpolicy",
    "iam:putuserpolicy",
    "iam:putuserpermissionsboundary",
    "iam:deleteuserpermissionsboundary",
)
_GROUP_ACTIONS = ("iam:addusertogroup", "iam:attachgrouppolicy", "iam:putgrouppolicy")
_POLICY_ACTIONS = ("iam:createpolicyversion", "iam:setdefaultpolicyversion")


def resource_kind(action: str) -> str:
    """The IAM resource type an escalation action acts on (`role`, `user`, `group`, `policy`); `*` for others."""
    if not action.startswith("iam:"):
        return "*"
    if action in _USER_ACTIONS:
        return "user"
    if action in _GROUP_ACTIONS:
        return "group"
    if action in _POLICY_ACTIONS:
        return "policy"
    return "role"


_POSITIVE_OPERATORS = ("stringequals", "stringlike", "arnequals", "arnlike")


@dataclass(frozen=True)
class Escalation:
    statement: str
    """`statement 'Sid'` or `statement #n`."""
    method: str
    action: str
    """The action that makes the statement unsafe (the PassRole or IAM write, or the code change)."""
    resource: str

    def message(self, label: str = "") -> str:
        why = " without an iam:PermissionsBoundary condition" if self.action.lower() in BOUNDARY_KEYED else ""
        return (
            f"{label}{self.statement} allows {self.action} on {self.resource!r}, wider than one IAM path or name "
            f"prefix{why}: privilege escalation ({self.method})"
        )


def messages(found: list[Escalation], label: str = "") -> list[str]:
    """One message per statement: the method itself when it grants one, else how many and which (a `*` grants
    them all, and one finding per method would bury the others)."""
    by_statement: dict[str, list[Escalation]] = {}
    for e in found:
        by_statement.setdefault(e.statement, []).append(e)
    out = []
    for statement, items in by_statement.items():
        if len(items) == 1:
            out.append(items[0].message(label))
            continue
        first = items[0]
        out.append(
            f"{label}{statement} allows {len(items)} privilege-escalation methods on resources wider than one IAM "
            f"path or name prefix (e.g. {first.action} on {first.resource!r}): " + ", ".join(e.method for e in items)
        )
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _grants(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(fnmatch.fnmatchcase(action, str(p).lower()) for p in _as_list(statement["NotAction"]))
    return any(fnmatch.fnmatchcase(action, str(p).lower()) for p in _as_list(statement.get("Action")))


_ARN = re.compile(r"^arn:[^:]*:(?P<service>[^:]*):[^:]*:(?P<account>[^:]*):(?P<resource>.*)$")


def wide_resource(statement: Mapping[str, Any], kind: str = "*") -> str | None:
    """The first resource of the statement, of the given IAM resource type, wider than one IAM path or name prefix;
    None when all are scoped or of another type (`PutRolePolicy` on `oidc-provider/*` matches nothing).

    Scoped: `role/ml-platform/dev/*`, `role/ci-*`, `policy/team-*`, one named ARN. Wide: `*`, `role/*`,
    `*/*`, any account (`arn:aws:iam::*:...`), a `NotResource`."""
    if "NotResource" in statement:
        return f"NotResource {_as_list(statement['NotResource'])}"
    for resource in (str(r) for r in _as_list(statement.get("Resource"))):
        match = _ARN.match(resource)
        if match is None:
            return resource  # '*' or something IAM would not match to one identity
        if match.group("service") not in ("iam", "*", ""):
            continue
        typed, _, rest = match.group("resource").partition("/")
        wild_type = "*" in typed or "?" in typed
        if not wild_type and kind != "*" and typed != kind:
            continue
        if match.group("account") in ("", "*") or not rest or rest[0] in "*?" or wild_type:
            return resource
    return None


def has_boundary_condition(statement: Mapping[str, Any]) -> bool:
    """A condition that the target carries a given boundary (`StringEquals iam:PermissionsBoundary <arn>`)."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        op = str(operator).lower().removesuffix("ifexists")
        if ":" in op or op not in _POSITIVE_OPERATORS or not isinstance(tests, dict):
            continue  # ForAnyValue:/ForAllValues: and negated operators do not pin a boundary
        if str(operator).lower().endswith("ifexists"):
            continue  # absent key (no boundary) would pass
        for key, values in tests.items():
            if str(key).lower() == "iam:permissionsboundary" and all("*" not in str(v) for v in _as_list(values)):
                return True
    return False


def _unsafe(statement: Mapping[str, Any], action: str) -> str | None:
    """The wide resource that makes `action` (granted by the statement) an escalation, or None."""
    if action not in _IAM_SCOPED and action not in _CODE_CHANGES:
        return None
    if action in BOUNDARY_KEYED and has_boundary_condition(statement):
        return None
    return wide_resource(statement, resource_kind(action))


def escalations(document: Mapping[str, Any] | None) -> Iterator[Escalation]:
    """Every escalation method the document's Allow statements grant. A method of several actions counts when the
    document grants all of them and its IAM action (PassRole) is unsafe."""
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [statements] if isinstance(statements, dict) else [s for s in statements or [] if isinstance(s, dict)]
    allows = [(i, s) for i, s in enumerate(statements) if s.get("Effect") == "Allow"]
    for method, actions in METHODS.items():
        key = next((a for a in actions if a in _IAM_SCOPED or a in _CODE_CHANGES), actions[0])
        if not all(any(_grants(s, a) for _, s in allows) for a in actions):
            continue
        for i, st in allows:
            if not _grants(st, key):
                continue
            resource = _unsafe(st, key)
            if resource is not None:
                sid = st.get("Sid")
                label = f"statement {sid!r}" if sid else f"statement #{i + 1}"
                yield Escalation(statement=label, method=method, action=_spelled(key), resource=resource)
                break


_SPELLING = {
    "iam:passrole": "iam:PassRole",
    "glue:updatedevendpoint": "glue:UpdateDevEndpoint",
    "lambda:updatefunctioncode": "lambda:UpdateFunctionCode",
}


def _spelled(action: str) -> str:
    """`iam:PutRolePolicy` for `iam:putrolepolicy`: messages use AWS's spelling."""
    if action in _SPELLING:
        return _SPELLING[action]
    method = next(m for m, actions in METHODS.items() if actions == (action,))
    service = action.split(":", 1)[0]
    name = {
        "CreateNewPolicyVersion": "CreatePolicyVersion",
        "SetExistingDefaultPolicyVersion": "SetDefaultPolicyVersion",
        "UpdateRolePolicyToAssumeIt": "UpdateAssumeRolePolicy",
        "CreateRoleWithoutBoundary": "CreateRole",
    }.get(method, method)
    return f"{service}:{name}"
