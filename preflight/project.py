"""Reading a Pulumi project the way the CLI does: `Pulumi.yaml`, its stacks, and each stack's config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preflight.model import SECRET


class ProjectError(Exception):
    """A project or stack that cannot be run (exit code 2); the message names the file."""


@dataclass(frozen=True)
class StackConfig:
    values: dict[str, str]
    """Flat `namespace:key -> value` as the language host hands it to the program (structured values as JSON)."""
    secret_keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Project:
    dir: Path
    name: str
    main: Path
    """The program: a directory holding `__main__.py`, or a `.py` file."""
    defaults: dict[str, Any]
    virtualenv: Path | None = None
    """The project's own virtualenv (`runtime.options.virtualenv`, or uv's/poetry's in-project `.venv`): the
    program runs in its interpreter, with its packages. None: in preflight's own interpreter."""
    toolchain: str = "pip"
    """`runtime.options.toolchain`: pip, uv or poetry; says how the virtualenv is made."""

    @property
    def entry(self) -> Path:
        return self.main / "__main__.py" if self.main.is_dir() else self.main

    def stacks(self) -> list[str]:
        found = {p.name[len("Pulumi.") :].rsplit(".", 1)[0] for p in self.dir.glob("Pulumi.*.y*ml")}
        return sorted(found)

    def stack_file(self, stack: str) -> Path:
        for suffix in ("yaml", "yml"):
            path = self.dir / f"Pulumi.{stack}.{suffix}"
            if path.exists():
                return path
        raise ProjectError(
            f"{self.dir / f'Pulumi.{stack}.yaml'}: no such stack file (stacks here: {', '.join(self.stacks()) or 'none'})"
        )

    def stack_config(self, stack: str) -> StackConfig:
        path = self.stack_file(stack)
        doc = _read_yaml(path)
        raw = doc.get("config") or {}
        if not isinstance(raw, dict):
            raise ProjectError(f"{path.name}: `config` must be a mapping of keys to values, got {type(raw).__name__}")
        values: dict[str, str] = {}
        secrets: list[str] = []
        for key, value in {**self.defaults, **raw}.items():
            full = key if ":" in str(key) else f"{self.name}:{key}"
            if _has_secure(value):
                secrets.append(full)
            values[full] = _encode(_hide_secure(value))
        warnings = []
        if doc.get("environment"):
            warnings.append(f"{path.name}: `environment` (Pulumi ESC) is not resolved offline; its values are not set")
        return StackConfig(values=values, secret_keys=sorted(secrets), warnings=warnings)


class _StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a key repeated in one mapping, as the Pulumi CLI's YAML parser does.

    PyYAML keeps the last value: a second `ml-platform:cluster:` block would silently replace the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} at line {line} (first at line {seen[key]}); the second would silently "
                    "replace the first, so merge them into one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_strict_yaml(path: Path) -> Any:
    """The YAML document at `path`; `ProjectError` naming the file, line and column for a syntax error or a
    duplicate key."""
    try:
        return yaml.load(path.read_text(), Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = "; ".join(p for p in (exc.context, exc.problem) if p)
        raise ProjectError(f"{where}: not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    doc = read_strict_yaml(path) or {}
    if not isinstance(doc, dict):
        raise ProjectError(f"{path}: expected a mapping at the top level")
    return doc


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _hide_secure(value: Any) -> Any:
    """Secure values cannot be decrypted offline (no passphrase, no service): the program gets "[secret]"."""
    if isinstance(value, dict):
        return SECRET if set(value) == {"secure"} else {k: _hide_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_secure(v) for v in value]
    return value


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_project(directory: Path) -> Project:
    directory = directory.resolve()
    path = next((directory / n for n in ("Pulumi.yaml", "Pulumi.yml") if (directory / n).exists()), None)
    if path is None:
        raise ProjectError(f"{directory}: no Pulumi.yaml here (pass --cwd to a Pulumi project directory)")
    doc = _read_yaml(path)
    name = doc.get("name")
    if not name:
        raise ProjectError(f"{path}: `name` is required")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ProjectError(f"{path}: runtime is {runtime_name!r}; preflight runs Python programs (runtime: python)")
    main = (directory / doc.get("main", ".")).resolve()
    if not (main / "__main__.py").exists() and not (main.is_file() and main.suffix == ".py"):
        raise ProjectError(f"{path}: main {doc.get('main', '.')!r} has no __main__.py")
    virtualenv, toolchain = _virtualenv(path, directory, runtime)
    defaults = {}
    for key, spec in (doc.get("config") or {}).items():
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            defaults[key] = spec.get("value", spec.get("default"))
        elif not isinstance(spec, dict):
            defaults[key] = spec
    return Project(
        dir=directory, name=str(name), main=main, defaults=defaults, virtualenv=virtualenv, toolchain=toolchain
    )


TOOLCHAINS = ("pip", "uv", "poetry")


def _virtualenv(path: Path, directory: Path, runtime: Any) -> tuple[Path | None, str]:
    """The virtualenv and toolchain `runtime.options` name, as the Python language host reads them: `virtualenv`
    relative to the project; with `toolchain: uv` or `poetry` and no `virtualenv`, their in-project `.venv`."""
    options = runtime.get("options") if isinstance(runtime, dict) else None
    options = options or {}
    if not isinstance(options, dict):
        raise ProjectError(f"{path}: runtime.options must be a mapping, got {type(options).__name__}")
    toolchain = options.get("toolchain", "pip")
    if toolchain not in TOOLCHAINS:
        raise ProjectError(f"{path}: runtime.options.toolchain = {toolchain!r}: must be one of {', '.join(TOOLCHAINS)}")
    venv = options.get("virtualenv")
    if venv is not None and (not isinstance(venv, str) or not venv):
        raise ProjectError(f"{path}: runtime.options.virtualenv = {venv!r}: must be a directory path")
    if venv:
        return (directory / venv).resolve(), toolchain
    if toolchain in ("uv", "poetry"):
        return (directory / ".venv").resolve(), toolchain
    return None, toolchain


def venv_python(project: Project) -> Path:
    """The project's interpreter, or a ProjectError naming the missing path and the command that creates it."""
    assert project.virtualenv is not None
    python = project.virtualenv / ("Scripts/python.exe" if (project.virtualenv / "Scripts").is_dir() else "bin/python")
    if python.exists():
        return python
    create = {
        "pip": f"python -m venv {project.virtualenv} && {project.virtualenv}/bin/pip install -r requirements.txt",
        "uv": "uv sync",
        "poetry": "poetry config virtualenvs.in-project true && poetry install",
    }[project.toolchain]
    raise ProjectError(
        f"{project.dir / 'Pulumi.yaml'}: the project's virtualenv {project.virtualenv} has no interpreter "
        f"({python} does not exist); create it in {project.dir} with: {create}"
    )
