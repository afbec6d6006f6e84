"""What the installed provider SDKs say about a resource type: its input and output property names.

The Python SDKs are generated from the providers' schemas, so the class behind a type token knows which
properties exist (camelCase, as the engine keys them). That is enough to decide auto-naming and which
computed outputs (`arn`, `tagsAll`, ...) a resource has, without the provider plugin.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass

from pulumi._types import _py_properties

_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}


@dataclass(frozen=True)
class TypeInfo:
    token: str
    inputs: frozenset[str]
    outputs: frozenset[str]

    @property
    def autoname_property(self) -> str | None:
        """The property the provider fills with `<logical name>-<7 hex>` when the program sets none.

        The bridged AWS provider auto-names the property that has a `<property>Prefix` sibling (`bucket`,
        `nodeGroupName`, `name`), or else `name` when the resource has one.
        """
        for prop in sorted(self.inputs):
            if prop.endswith("Prefix") and prop[: -len("Prefix")] in self.inputs:
                return prop[: -len("Prefix")]
        return "name" if "name" in self.inputs else None


def _python_module(package: str, module: str) -> str | None:
    root = _PACKAGES.get(package)
    if root is None:
        return None
    head = module.split("/")[0]
    if head == "index":
        return root
    if package == "kubernetes":
        # kubernetes:rbac.authorization.k8s.io/v1:Role -> pulumi_kubernetes.rbac.v1
        group = head.split(".")[0]
        version = module.split("/")[1] if "/" in module else ""
        return f"{root}.{group}.{version}" if version else f"{root}.{group}"
    return f"{root}.{head}"


_known: dict[str, TypeInfo | None] = {}
_lock = threading.Lock()
_RETRIES, _PAUSE = 40, 0.05
"""How long to wait for a module another thread is loading (the SDKs load their modules lazily)."""


def type_info(token: str) -> TypeInfo | None:
    """Input/output property names for a resource type token, or None for a type no installed SDK knows.

    pulumi-aws loads its modules lazily (`importlib.util.LazyLoader`), which is not thread-safe before Python 3.12:
    while the program's thread loads `pulumi_aws.s3`, this thread (the monitor's) can see it without its classes.
    So a class missing from a module that exists is looked up again for a while before it counts as missing."""
    if token in _known:
        return _known[token]
    with _lock:
        for _ in range(_RETRIES):
            info, definite = _lookup(token)
            if definite:
                _known[token] = info
                return info
            time.sleep(_PAUSE)
        _known[token] = None  # still missing after a loader had time to finish: not in this SDK
    return None


def _lookup(token: str) -> tuple[TypeInfo | None, bool]:
    """(the type's info, whether that answer is definite)."""
    try:
        package, module, name = token.split(":")
    except ValueError:
        return None, True
    module_name = _python_module(package, module)
    if module_name is None:
        return None, True
    try:
        mod = importlib.import_module(module_name)
    except ImportError:
        return None, True
    cls = getattr(mod, name, None)
    if cls is None:
        return None, False
    args_cls = getattr(mod, f"{name}Args", None)
    outputs = frozenset(pulumi_name for _, pulumi_name, _ in _py_properties(cls))
    inputs = frozenset(pulumi_name for _, pulumi_name, _ in _py_properties(args_cls)) if args_cls else frozenset()
    return TypeInfo(token=token, inputs=inputs, outputs=outputs), True
