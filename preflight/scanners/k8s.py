"""Kubernetes resources of a stack: as manifests (for checkov's `kubernetes` framework) and schema-checked.

pulumi-kubernetes registers a resource with the manifest itself as inputs (`apiVersion`, `kind`, `metadata`,
`spec`, camelCase as in YAML), so a manifest is the record's inputs plus the name the provider would give it.
Helm releases, YAML/kustomize groups and patches are not manifests of their own and are left out.

The schema check uses the JSON schemas kubernetes-validate ships, for the Kubernetes version of the cluster
the resource is deployed to (the EKS cluster behind its provider), in strict mode: a field the API does not
know is reported, because the API server drops or rejects it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from preflight.model import SECRET, UNKNOWN, ResourceRecord, StackResult, Violation
from preflight.scanners.config import ScannerConfig

POLICY = "kubernetes-schema"
_PLACEHOLDER = "[unknown]"
"""Stands in for a value known only after apply (or a secret): the schema check does not judge it."""
_NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")
_BUILTIN_GROUPS = {
    "core",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "extensions",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "events.k8s.io",
    "apiregistration.k8s.io",
    "resource.k8s.io",
}


def api_version_kind(token: str) -> tuple[str, str, str] | None:
    """(group, apiVersion, kind) for a pulumi-kubernetes type token, or None when it is not a manifest."""
    if not token.startswith("kubernetes:") or token.startswith(_NOT_MANIFESTS):
        return None
    try:
        _, module, kind = token.split(":")
    except ValueError:
        return None
    if "/" not in module or kind.endswith(("List", "Patch")):
        return None
    group, version = module.split("/", 1)
    return group, (version if group == "core" else f"{group}/{version}"), kind


def is_manifest(record: ResourceRecord) -> bool:
    return record.custom and api_version_kind(record.type) is not None and not record.options.get("read")


def _fill(value: Any, hole: Any) -> Any:
    """Replace unknown and secret values: with `hole`, or drop them when `hole` is `_DROP`."""
    if value is UNKNOWN or value == SECRET:
        return hole
    if isinstance(value, dict):
        out = {k: _fill(v, hole) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _DROP}
    if isinstance(value, list):
        return [v for v in (_fill(v, hole) for v in value) if v is not _DROP]
    return value


_DROP = object()


def manifest(record: ResourceRecord, *, hole: Any = _DROP) -> dict[str, Any]:
    """The manifest the provider would send for a record (unknown and secret values dropped by default)."""
    group_version_kind = api_version_kind(record.type)
    assert group_version_kind is not None, record.type
    _, api_version, kind = group_version_kind
    body = {k: v for k, v in record.inputs.items() if not k.startswith("__")}
    metadata = dict(body.get("metadata") or {})
    out_meta = record.outputs.get("metadata")
    if isinstance(out_meta, dict):
        for key in ("name", "namespace"):
            if not metadata.get(key) and out_meta.get(key):
                metadata[key] = out_meta[key]
    if not metadata.get("name"):
        metadata["name"] = record.name
    body["metadata"] = metadata
    body["apiVersion"] = body.get("apiVersion") or api_version
    body["kind"] = body.get("kind") or kind
    ordered = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind"), "metadata": body.pop("metadata"), **body}
    return _fill(ordered, hole)


def manifests(result: StackResult) -> dict[str, dict[str, Any]]:
    """URN -> manifest, for every Kubernetes resource of the stack that is a manifest."""
    return {r.urn: manifest(r) for r in result.resources if is_manifest(r)}


# ---- schema validation ---------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


def schema_version(requested: str | None) -> tuple[str, str | None]:
    """(schema version to use, note) for a cluster version: the newest shipped schema not newer than it."""
    shipped = sorted(kv.all_versions(), key=_version_key)
    if not requested:
        return shipped[-1], f"cluster version unknown: checked against Kubernetes {kv.major_minor(shipped[-1])}"
    usable = [v for v in shipped if _version_key(v) <= _version_key(requested)]
    if not usable:
        return shipped[
            0
        ], f"Kubernetes {requested} is older than any shipped schema: checked against {kv.major_minor(shipped[0])}"
    chosen = usable[-1]
    if _version_key(chosen) < _version_key(requested):
        return chosen, f"no schema for Kubernetes {requested} yet: checked against {kv.major_minor(chosen)}"
    return chosen, None


@cache
def _definitions(version: str) -> Resource:
    """Every kind's schema refers into one large definitions file: parsed once per version, not once per kind."""
    return Resource.from_contents(
        kv.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    )


@cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = kv.schema_contents(f"{directory}/{kind.lower()}-{api}.json", version)
    except FileNotFoundError:
        return None
    registry = _definitions(version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _cluster_versions(result: StackResult) -> dict[str, str]:
    """EKS cluster URN -> Kubernetes version, for clusters whose version is known."""
    out: dict[str, str] = {}
    for r in result.by_type("aws:eks/cluster:Cluster"):
        version = r.inputs.get("version") or r.outputs.get("version")
        if isinstance(version, str) and version not in ("", SECRET):
            out[r.urn] = version
    return out


def cluster_version(result: StackResult, record: ResourceRecord, clusters: dict[str, str] | None = None) -> str | None:
    """The Kubernetes version of the cluster a resource is deployed to.

    Followed from the resource's provider, whose kubeconfig was built from an EKS cluster's outputs; when the
    stack has exactly one EKS cluster of known version, that one."""
    clusters = _cluster_versions(result) if clusters is None else clusters
    by_urn = result.by_urn()
    provider = by_urn.get((record.provider or "").rsplit("::", 1)[0])
    if provider is not None:
        seen: set[str] = set()
        frontier = [u for urns in provider.property_dependencies.values() for u in urns]
        while frontier:
            urn = frontier.pop()
            if urn in seen:
                continue
            seen.add(urn)
            if urn in clusters:
                return clusters[urn]
            dep = by_urn.get(urn)
            if dep is not None:
                frontier += [u for urns in dep.property_dependencies.values() for u in urns]
    return next(iter(clusters.values())) if len(clusters) == 1 else None


def _at(document: Any, path: Any) -> Any:
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def schema_errors(document: dict[str, Any], version: str) -> list[str] | None:
    """Schema problems of one manifest (placeholders not judged); None when no schema exists for its kind."""
    validator = _validator(version, document["kind"], document["apiVersion"])
    if validator is None:
        return None
    problems: list[str] = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        if error.instance == _PLACEHOLDER or _at(document, error.absolute_path) == _PLACEHOLDER:
            continue
        path = ".".join(str(p) for p in error.absolute_path) or "<document>"
        problems.append(f"{path}: {error.message}")
    return problems


def schema_violations(result: StackResult, config: ScannerConfig) -> list[Violation]:
    clusters = _cluster_versions(result)
    out: list[Violation] = []
    for record in result.resources:
        if not is_manifest(record) or config.skip_for(POLICY, record):
            continue
        group, api_version, kind = api_version_kind(record.type) or ("", "", "")
        document = manifest(record, hole=_PLACEHOLDER)
        requested = cluster_version(result, record, clusters)
        version, note = schema_version(requested)
        problems = schema_errors(document, version)
        if problems is None:
            if group not in _BUILTIN_GROUPS:
                continue  # a custom resource: its schema lives in its CRD, not in Kubernetes
            problems = [f"Kubernetes {kv.major_minor(version)} has no {kind} in {api_version}"]
        meta = document.get("metadata") or {}
        namespace = meta.get("namespace")
        where = f"{kind} {f'{namespace}/' if namespace else ''}{meta.get('name')}"
        policy = config.policy(POLICY)
        for problem in problems:
            out.append(
                Violation(
                    source="kubernetes-schema",
                    policy=POLICY,
                    category=policy.category or "reliability",
                    enforcement=policy.enforcement,
                    severity=policy.severity or "high",
                    urn=record.urn,
                    name=record.name,
                    message=f"{where}: {problem} (Kubernetes {kv.major_minor(version)} API schema{'; ' + note if note else ''})",
                    remediation="Fix the field to match the Kubernetes API of the cluster's version; the API server rejects or drops it.",
                )
            )
    return out
