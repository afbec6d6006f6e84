"""The settings table (`docs/settings.md`), generated from the schema so it cannot drift from it.

Every `ml-platform:*` key: its type, its base default (declared with the setting), the effective value in each
environment (the base default overridden by `infra/config/profiles.py`), and the description written under the
field. Regenerate with `make docs`; `infra/config/test_settings_doc.py` fails when the file is out of date.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from infra.config.errors import NAMESPACE
from infra.config.loader import load
from infra.config.profiles import PROFILES
from infra.config.schema import REQUIRED_TAG_KEYS, PlatformConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
ENVIRONMENTS = ("dev", "staging", "prod")
_SAMPLE = {
    "aws:region": "us-west-2",
    f"{NAMESPACE}:tags": json.dumps({k: "…" for k in REQUIRED_TAG_KEYS}),
}


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds directly (`X` or `X | None`), to list its keys one by one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def entry_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """For a list or map of settings models (`tuple[X, ...]`, `dict[str, X]`): how an entry's keys are spelled
    (`[]`, `.<name>`) and the model, so each entry's keys are listed too."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (tuple, list) and args and section_model(args[0]) is not None:
        return "[]", args[0]
    if origin is dict and len(args) == 2 and section_model(args[1]) is not None:
        return ".<name>", args[1]
    return None


def _type(annotation: Any) -> str:
    """A readable type: `list[str]`, `int | None`, `'dev' | 'staging'`; validators and module paths left out."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is not None:
        shown = ", ".join("..." if a is Ellipsis else _type(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{shown}]"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    elif isinstance(value, (tuple, list)) and value and all(isinstance(v, BaseModel) for v in value):
        value = [v.model_dump(mode="json", by_alias=True, exclude_defaults=True) for v in value]
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    text = text.replace("|", "\\|")
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}…`"


def _default(field: FieldInfo) -> str:
    if field.default is not PydanticUndefined:
        return _show(field.default)
    if field.default_factory is not None:
        return _show(field.default_factory())  # type: ignore[call-arg]
    return "required"


def _rows(model: type[BaseModel], prefix: str, values: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        if key == f"{NAMESPACE}:region":
            key = "aws:region"
        per_env = {env: getattr(values[env], name) if values[env] is not None else None for env in ENVIRONMENTS}
        nested = section_model(field.annotation)
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        if nested is not None and all(isinstance(v, BaseModel) or v is None for v in per_env.values()):
            rows.append([f"`{key}`", _type(field.annotation), "section", "", "", "", description])
            rows += _rows(nested, f"{key}.", per_env)
            continue
        from_profiles = prefix == f"{NAMESPACE}:" and all((field.alias or name) in PROFILES[e] for e in ENVIRONMENTS)
        if field.is_required() and not from_profiles and key != f"{NAMESPACE}:environment":
            rows.append([f"`{key}`", _type(field.annotation), "required", "", "", "", description])
            continue
        shown = [_show(v) if values[env] is not None else "—" for env, v in per_env.items()]
        rows.append([f"`{key}`", _type(field.annotation), _default(field), *shown, description])
        entries = entry_model(field.annotation)
        if entries is not None:
            spelling, entry = entries
            rows += _rows(entry, f"{key}{spelling}.", dict.fromkeys(ENVIRONMENTS))
    return rows


def render() -> str:
    configs = {env: load({**_SAMPLE, f"{NAMESPACE}:environment": env}, stack=env) for env in ENVIRONMENTS}
    rows = _rows(PlatformConfig, f"{NAMESPACE}:", dict(configs))
    header = ["key", "type", "default", *ENVIRONMENTS, "description"]
    lines = [
        "# Stack settings",
        "",
        "Generated from the schema by `make docs` (`infra/config/settings_doc.py`); do not edit by hand. `default` is",
        "declared with the setting; `dev`, `staging` and `prod` are what a stack file that sets nothing gets there",
        "(the default overridden by `infra/config/profiles.py`); `—`: the enclosing optional section is not set, or",
        "the key is one of each list entry's (`[]`) or named entry's (`<name>`), set per entry.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOC.write_text(render())
