"""Declared versus live, property by property: one finding per property that differs.

A reader (one per resource type, in the per-service modules) returns the resource's live properties in the shape
of the Pulumi inputs (camelCase) — so the policy pack can judge them — or ABSENT when the resource no longer
exists. `Field`s name the security-relevant properties compared, by path: `a.b` walks objects, `a[].b` maps over a
list. Keys starting with `_` in a reading are facts for the audit's own checks, not properties.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from preflight.audit.aws import ABSENT, Aws
from preflight.audit.state import State
from preflight.model import SECRET, ResourceRecord


@dataclass(frozen=True)
class Context:
    aws: Aws
    state: State
    record: ResourceRecord

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        return self.aws.call(service, operation, region=self.state.region_of(self.record), **kwargs)

    def pages(self, service: str, operation: str, key: str, **kwargs: Any) -> Any:
        return self.aws.pages(service, operation, key, region=self.state.region_of(self.record), **kwargs)


@dataclass(frozen=True)
class Field:
    path: str
    normalize: Callable[[Any], Any] | None = None
    """Applied to both sides before comparing (parse a policy document, ignore order...)."""
    default: Any = None
    """The value AWS uses when the property is not set (on either side)."""
    category: str = "access"
    label: str = ""
    """How a finding names the property; default: its path."""
    show: Callable[[Any, Any], tuple[Any, Any]] | None = None
    """What a finding shows of (declared, live); default: both values."""


@dataclass(frozen=True)
class Reader:
    type: str
    what: str
    """What is read, for "not checked" messages (e.g. "bucket default encryption")."""
    read: Callable[[Context], Any]
    fields: tuple[Field, ...] = ()
    declared: Callable[[Context], Mapping[str, Any]] | None = None
    """The declared side when it is more than the resource's inputs (e.g. a role's attachments, which are separate
    resources in the state); default: the inputs."""


def pick(value: Any, path: str) -> Any:
    head, _, rest = path.partition(".")
    listed = head.endswith("[]")
    key = head.removesuffix("[]")
    value = value.get(key) if isinstance(value, Mapping) else None
    if listed:
        items = value if isinstance(value, list) else []
        return [pick(item, rest) for item in items] if rest else items
    return pick(value, rest) if rest and value is not None else value


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _canonical(value: Any) -> Any:
    """Numbers as floats (30 and 30.0 are equal; the text "500.00" only through a Field's `number`), mappings
    sorted and without blank values, so two equal structures compare equal."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in sorted(value.items()) if not _blank(v)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def comparable(field: Field, value: Any) -> Any:
    if _blank(value):
        value = field.default
    if field.normalize is not None and value is not None:
        value = field.normalize(value)
    return _canonical(value)


def differences(reader: Reader, declared: Mapping[str, Any], live: Mapping[str, Any]) -> list[tuple[Field, Any, Any]]:
    """(field, declared, live) for each compared field that differs; secrets are never compared or shown."""
    found = []
    for field in reader.fields:
        want, have = pick(declared, field.path), pick(live, field.path)
        if want == SECRET or _contains_secret(want):
            continue
        if comparable(field, want) != comparable(field, have):
            found.append((field, want, have))
    return found


def _contains_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return value == SECRET


# ---- normalizers shared by the service modules -----------------------------------------------------------------


def as_set(value: Any) -> Any:
    """Order does not matter (instance types, log types, CIDRs)."""
    items = value if isinstance(value, list) else [value]
    return sorted((_canonical(v) for v in items), key=lambda v: json.dumps(v, sort_keys=True))


def policy_document(value: Any) -> Any:
    """An IAM/S3/KMS policy as AWS compares it: JSON text or object, a one-element list same as its element, lists
    of strings in any order, Statement always a list."""
    doc = value
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return value
    return _policy_value(doc, key="")


def _policy_value(value: Any, key: str) -> Any:
    if key == "Statement" and isinstance(value, Mapping):
        value = [value]
    if isinstance(value, Mapping):
        return {k: _policy_value(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_policy_value(v, "") for v in value]
        if key != "Statement" and len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def statement_difference(declared: Any, live: Any) -> tuple[Any, Any]:
    """A policy difference as the statements only one side has (a whole document is too long for one line)."""
    want, have = policy_document(declared or "{}"), policy_document(live or "{}")
    if not isinstance(want, Mapping) or not isinstance(have, Mapping):
        return declared, live
    mine, theirs = want.get("Statement", []), have.get("Statement", [])
    only_declared = [s for s in mine if s not in theirs]
    only_live = [s for s in theirs if s not in mine]
    if not only_declared and not only_live:
        return declared, live
    return {"statements only in the state": only_declared}, {"statements only live": only_live}


def key_id(value: Any) -> Any:
    """A KMS key named by ARN or by id is the same key (AWS answers with whichever it stored)."""
    return str(value).rsplit("/", 1)[-1] if isinstance(value, str) and ":key/" in value else value


def number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def present(reading: Any) -> bool:
    return reading is not ABSENT
