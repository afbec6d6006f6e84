"""The code's shape, checked statically: public rule modules across packages, no import cycles, and no imports
pushed into functions to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

from preflight.testing import REPO

PACKAGES = ("components", "infra", "policies", "preflight", "tests", "benchmarks", "bootstrap", "tools")
FIRST_PARTY = ("components", "infra", "policies", "preflight")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "fixtures" in path.parts or "schemas" in path.parts:
                continue
            found[module_name(path)] = path
    return found


SOURCES = sources()


def imported_modules(node: ast.Import | ast.ImportFrom, here: str, is_package: bool) -> list[str]:
    """First-party modules an import statement loads (a `from package import submodule` names the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in FIRST_PARTY]
    base = node.module or ""
    if node.level:
        anchor = here.split(".") if is_package else here.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    if base.split(".")[0] not in FIRST_PARTY and not node.level:
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in SOURCES else base for a in node.names]


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports at module level, including those under `if` (TYPE_CHECKING) or `try`."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.append(stmt)
        elif isinstance(stmt, (ast.If, ast.Try)):
            pending.extend(stmt.body + stmt.orelse + getattr(stmt, "finalbody", []))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in SOURCES.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        edges[name] = {
            target
            for node in module_level_imports(tree)
            for target in imported_modules(node, name, is_package)
            if target in SOURCES and target != name
        }
    return edges


def test_no_module_imports_another_packages_private_module():
    offenders = []
    for name, path in SOURCES.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported_modules(node, name, path.name == "__init__.py"):
                    owner, _, leaf = target.rpartition(".")
                    if leaf.startswith("_") and not leaf.startswith("__") and owner != package:
                        offenders.append(f"{name} imports {target}")
    assert offenders == []


def test_first_party_imports_sit_at_module_level():
    # An import inside a function is how a cycle gets hidden; third-party imports may be lazy (optional, slow).
    # The program's packages only: preflight loads its report writers on demand.
    offenders = []
    for name, path in SOURCES.items():
        if path.name.startswith(("test_", "conftest")) or not name.startswith(("components", "infra", "policies")):
            continue
        tree = ast.parse(path.read_text())
        top = set(map(id, module_level_imports(tree)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                targets = imported_modules(node, name, path.name == "__init__.py")
                if targets:
                    offenders.append(f"{name}:{node.lineno} imports {', '.join(targets)} inside a function")
    assert offenders == []


def test_no_import_cycles():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_structure_checks_see_the_repository():
    # Guards the checks above against passing because they found nothing to read.
    edges = graph()
    assert "components.cluster_rules" in edges["infra.config.cluster"]
    assert "infra.config.schema" in edges["infra.config.loader"]
    assert len(SOURCES) > 100
