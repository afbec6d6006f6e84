"""parliament on every IAM policy document in a stack: misspelt actions, resources no action applies to,
conditions an action ignores, malformed statements.

A policy document is any input value (at any depth: `policy`, `assumeRolePolicy`, `inlinePolicies[].policy`,
a key or bucket policy) that is a JSON object with a `Statement`. AWS accepts many of these mistakes silently,
so the permission simply never works; parliament knows every action, resource type and condition key.

A few parliament findings are wrong for the kind of document they are raised on; those are dropped here, each
with its reason, rather than in the skip list, because they are wrong for every program, not accepted for one.
"""

from __future__ import annotations

import json
import re
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from preflight.model import SECRET, UNKNOWN, ResourceRecord, StackResult, Violation
from preflight.scanners.config import SEVERITIES, ScannerConfig

SOURCE = "parliament"
_RESOURCE_OPTIONAL_TYPES = {"aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:ecr/registryPolicy:RegistryPolicy"}
_KEY_POLICY_TYPES = {"aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy", "aws:kms/replicaKey:ReplicaKey"}
_NO_RESOURCE = "Statement contains neither Resource nor NotResource"
_NEWER_GLOBAL_KEYS = {
    "aws:ViaAWSService": "Bool",
    "aws:SourceVpcArn": "Arn",
    "aws:SourceOrgID": "String",
    "aws:SourceOrgPaths": "String",
    "aws:VpceAccount": "String",
    "aws:VpceOrgID": "String",
    "aws:VpceOrgPaths": "String",
    "aws:Ec2InstanceSourceVpc": "String",
    "aws:Ec2InstanceSourcePrivateIPv4": "Ip",
}
_OIDC_PROVIDER = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/")


@lru_cache(maxsize=1)
def _parliament() -> types.ModuleType:
    # parliament 1.6.4 finds its data files through `pkg_resources` (setuptools is pinned below 81 for it, in
    # requirements.lock); its import-time deprecation notice is about parliament, not about the program.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament
        from parliament import statement

    # Global condition keys AWS documents that parliament 1.6.4's list predates; without them every use is an
    # "unknown condition" (the network-perimeter pattern uses aws:ViaAWSService and the VPC keys).
    for key, type_ in _NEWER_GLOBAL_KEYS.items():
        statement.GLOBAL_CONDITION_KEYS.setdefault(key, type_)
    # parliament looks every action up by a linear scan of its IAM data, thousands of times per stack; the answer
    # for (service, action) never changes, so it is remembered (unknown actions still raise every time).
    if not hasattr(statement.get_privilege_info, "cache_info"):
        statement.get_privilege_info = lru_cache(maxsize=None)(statement.get_privilege_info)
    return parliament


@dataclass(frozen=True)
class Document:
    record: ResourceRecord
    field: str
    """Where in the resource's inputs, e.g. `inlinePolicies[0].policy`."""
    text: str

    @property
    def kind(self) -> str:
        """identity | trust | key | resource."""
        if self.field == "assumeRolePolicy":
            return "trust"
        if self.record.type in _KEY_POLICY_TYPES:
            return "key"
        if any("Principal" in s or "NotPrincipal" in s for s in _statements(self)):
            return "resource"
        return "identity"


def _as_policy(value: Any) -> str | None:
    if isinstance(value, dict) and "Statement" in value:
        return json.dumps(value)
    if isinstance(value, str) and value[:1] == "{" and '"Statement"' in value:
        try:
            parsed = json.loads(value)
        except ValueError:
            return value  # malformed JSON is parliament's first finding
        return value if isinstance(parsed, dict) and "Statement" in parsed else None
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict) and "Statement" not in value:
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _has_holes(value: Any) -> bool:
    if value is UNKNOWN or value == SECRET:
        return True
    if isinstance(value, dict):
        return any(_has_holes(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_holes(v) for v in value)
    return False


def documents(result: StackResult) -> list[Document]:
    """Every IAM policy document in the stack's AWS resources (documents not known until apply are left out)."""
    out: list[Document] = []
    for record in result.resources:
        if not record.custom or not record.type.startswith("aws:"):
            continue
        seen: set[str] = set()
        for key, value in record.inputs.items():
            for path, leaf in _walk(value, key):
                if _has_holes(leaf):
                    continue
                text = _as_policy(leaf)
                if text is not None and text not in seen:
                    seen.add(text)
                    out.append(Document(record, path, text))
    return out


_DECIMALS = re.compile(r"requires a value of type Numeric but given \[([^\]]*)\]")
_DECIMAL = re.compile(r"^'?-?\d+(\.\d+)?'?$")
_ARN_OPERATOR_ON_STRING = re.compile(
    r"Arn(Like|Equals|NotLike|NotEquals) requires a value of type Arn but given String"
)
_UNKNOWN_CONDITION = re.compile(r"Unknown condition (\S+) for action (\S+)")


def _statements(doc: Document) -> list[dict[str, Any]]:
    try:
        statements = json.loads(doc.text).get("Statement")
    except (ValueError, AttributeError):
        return []
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if isinstance(s, dict)]


def _condition_keys(statement: dict[str, Any], operators: tuple[str, ...] | None = None) -> set[str]:
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return set()
    return {
        key
        for operator, block in condition.items()
        if isinstance(block, dict)
        and (operators is None or operator.split(":")[-1].removesuffix("IfExists") in operators)
        for key in block
    }


def _expanded_actions(statement: dict[str, Any]) -> set[str]:
    parliament = _parliament()
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    out: set[str] = set()
    for action in actions:
        if not isinstance(action, str):
            continue
        try:
            out |= {
                f"{a['service']}:{a['action']}".lower()
                for a in parliament.expand_action(action, raise_exceptions=False)
            }
        except Exception:  # noqa: BLE001, S112 - an unknown prefix is parliament's own finding
            continue
    return out


def _not_applicable(doc: Document, issue: str, detail: str) -> bool:
    """Findings that are wrong for the kind of document they are raised on, or parliament 1.6.4's own bugs."""
    kind = doc.kind
    # Trust policies and ECR repository policies apply to the resource they are attached to: AWS forbids
    # (trust) or ignores (ECR) a Resource element there.
    if (
        issue == "MALFORMED"
        and _NO_RESOURCE in detail
        and (kind == "trust" or doc.record.type in _RESOURCE_OPTIONAL_TYPES)
    ):
        return True
    # parliament 1.6.4 recognises Cognito and SAML federation only; an IAM OIDC provider ARN (EKS IRSA,
    # GitHub Actions) is a valid federated principal.
    if issue == "UNKNOWN_FEDERATION_SOURCE" and _OIDC_PROVIDER.search(detail):
        return True
    # In a key policy "Resource": "*" means "this key"; AWS requires exactly that.
    if issue in ("RESOURCE_STAR", "RESOURCE_EFFECTIVELY_STAR") and kind == "key":
        return True
    if issue == "MISMATCHED_TYPE":
        # parliament's Numeric pattern is `^\d+$`; AWS compares decimals (`s3:TlsVersion` < "1.2").
        decimals = _DECIMALS.search(detail)
        if decimals and all(_DECIMAL.match(v.strip()) for v in decimals.group(1).split(",")):
            return True
        # parliament types every `kms:EncryptionContext:*` key as a String; AWS documents ArnLike on
        # `kms:EncryptionContext:aws:logs:arn` for CloudWatch Logs (and the like for other services).
        if _ARN_OPERATOR_ON_STRING.search(detail):
            arn_keys = set().union(
                *(_condition_keys(s, ("ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals")) for s in _statements(doc))
            )
            if any(k.lower().startswith("kms:encryptioncontext:") for k in arn_keys):
                return True
    return False


def _swept_in_by_wildcard(doc: Document, findings: list[tuple[str, str, str, str]]) -> set[int]:
    """UNKNOWN_CONDITION_FOR_ACTION findings about actions a wildcard swept in (`s3:*`) while the condition key
    applies to the other actions it stands for: a gap in parliament's action data, not a mistake in the
    document. A misspelt key matches none of the actions, so it is still reported."""
    flagged: dict[str, set[str]] = {}
    for issue, _, _, detail in findings:
        match = _UNKNOWN_CONDITION.search(detail) if issue == "UNKNOWN_CONDITION_FOR_ACTION" else None
        if match:
            flagged.setdefault(match.group(1).lower(), set()).add(match.group(2).lower())
    drop_keys = set()
    for key, actions in flagged.items():
        for statement in _statements(doc):
            written = statement.get("Action")
            written = written if isinstance(written, list) else [written]
            if not any(isinstance(a, str) and "*" in a for a in written):
                continue
            if key in {k.lower() for k in _condition_keys(statement)} and len(actions) < len(
                _expanded_actions(statement)
            ):
                drop_keys.add(key)
    out = set()
    for i, (issue, _, _, detail) in enumerate(findings):
        match = _UNKNOWN_CONDITION.search(detail) if issue == "UNKNOWN_CONDITION_FOR_ACTION" else None
        if match and match.group(1).lower() in drop_keys:
            out.add(i)
    return out


def lint(doc: Document) -> list[tuple[str, str, str, str, int]]:
    """(issue, severity, title, detail, count) for one document, one entry per issue: parliament raises one
    finding per expanded action (`s3:*` is hundreds), which says nothing more than the first."""
    parliament = _parliament()
    policy = parliament.analyze_policy_string(doc.text)
    raw: list[tuple[str, str, str, str]] = []
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        detail = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail, default=str)
        if not _not_applicable(doc, finding.issue, detail):
            raw.append((finding.issue, str(finding.severity).lower(), finding.title.strip(), detail))
    swept = _swept_in_by_wildcard(doc, raw)
    grouped: dict[str, list[tuple[str, str, str, str]]] = {}
    for i, item in enumerate(raw):
        if i not in swept:
            grouped.setdefault(item[0], []).append(item)
    out = []
    for issue, items in grouped.items():
        details = list(dict.fromkeys(d for _, _, _, d in items))
        shown = "; ".join(d if len(d) <= 160 else d[:157] + "..." for d in details[:3])
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        out.append((issue, items[0][1], items[0][2], shown + more, len(items)))
    return out


def scan(result: StackResult, config: ScannerConfig) -> list[Violation]:
    out: list[Violation] = []
    for doc in documents(result):
        for issue, severity, title, detail, _count in lint(doc):
            policy_id = f"{SOURCE}/{issue}"
            if config.skip_for(policy_id, doc.record):
                continue
            policy = config.policy(policy_id)
            out.append(
                Violation(
                    source=SOURCE,
                    policy=policy_id,
                    category=policy.category or "access",
                    enforcement=policy.enforcement,
                    severity=policy.severity or (severity if severity in SEVERITIES else "medium"),
                    urn=doc.record.urn,
                    name=doc.record.name,
                    message=f"{doc.field} of {doc.record.type} '{doc.record.name}': {title}: {detail}",
                    remediation="Fix the policy document: AWS accepts it, but the statement does not grant or restrict what it says.",
                )
            )
    return out
