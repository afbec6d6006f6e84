"""Turn a stack's raw config into a `PlatformConfig`, or into one clear line per problem.

The same function serves `pulumi up` (values from the Pulumi runtime) and `preflight` (values read from
`Pulumi.<stack>.yaml`): both hand it the flat `namespace:key -> string` map the language host receives, where
structured values are JSON text.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from components.settings import FieldError
from infra.config.errors import NAMESPACE, ConfigError
from infra.config.profiles import PROFILES, with_profile
from infra.config.schema import PlatformConfig

SECRET = "[secret]"
_TOP_LEVEL_FROM_AWS = {"region": "aws:region"}
PROVIDER_NAMESPACES = ("aws", "kubernetes", "pulumi")
"""Namespaces of the providers the program uses (and Pulumi's own): a namespace close to one of these, or to the
project's, is a typo whose keys would otherwise be silently ignored."""


@lru_cache(maxsize=1)
def aws_provider_keys() -> tuple[str, ...]:
    """The `aws:*` keys the AWS provider reads, from the installed SDK's config module."""
    spec = importlib.util.find_spec("pulumi_aws")
    assert spec is not None and spec.submodule_search_locations, "pulumi_aws is a dependency of this program"
    # Read, not imported: importing the module reads the running stack's config.
    source = (Path(spec.submodule_search_locations[0]) / "config" / "vars.py").read_text()
    return tuple(sorted(set(re.findall(r"__config__\.get\w*\('(\w+)'\)", source))))


def _squash(namespace: str) -> str:
    return re.sub(r"[-_.\s]", "", namespace.lower())


def namespace_problems(keys: Iterable[str], stack_file: str) -> list[str]:
    """Keys the program would never read because their namespace or, for `aws:*`, their name is misspelt."""
    known = (NAMESPACE, *PROVIDER_NAMESPACES)
    problems = []
    for full_key in keys:
        namespace, sep, key = full_key.partition(":")
        if not sep:
            continue
        if namespace == "aws":
            if key not in aws_provider_keys():
                guess = difflib.get_close_matches(key, aws_provider_keys(), n=1)
                hint = f"did you mean 'aws:{guess[0]}'?" if guess else "see the AWS provider's configuration keys"
                problems.append(f"{stack_file}: {full_key}: not a setting of the AWS provider; {hint}")
            continue
        if namespace in known:
            continue
        # Same letters (`ml_platform`, `asw`) or a close spelling (`mlplatfrom`, `kubernets`).
        squashed = {"".join(sorted(_squash(n))): n for n in known}
        close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.75)
        intended = squashed.get("".join(sorted(_squash(namespace)))) or (close[0] if close else None)
        if intended is not None:
            problems.append(
                f"{stack_file}: {full_key}: unknown namespace '{namespace}', so nothing reads this key; "
                f"did you mean '{intended}:{key}'?"
            )
    return problems


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_at(model: type[BaseModel] | None, loc: Iterable[Any]) -> type[BaseModel] | None:
    """The pydantic model a location points into (to suggest key names), or None."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, str) and part in {f.alias or n for n, f in model.model_fields.items()}:
            field = next(f for n, f in model.model_fields.items() if (f.alias or n) == part)
            model = _unwrap(field.annotation)
        elif isinstance(part, (int, str)):
            continue  # list index or dict key inside a container annotation, already unwrapped
    return model


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, dict, typing.Union, types.UnionType) or origin is not None:
        for arg in reversed(typing.get_args(annotation)):
            found = _unwrap(arg)
            if found is not None:
                return found
    return None


def _key(loc: tuple[Any, ...]) -> str:
    if not loc:
        return f"{NAMESPACE}"
    head, rest = str(loc[0]), loc[1:]
    text = _TOP_LEVEL_FROM_AWS.get(head, f"{NAMESPACE}:{head}")
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _problems(exc: ValidationError, stack_file: str, secret_keys: set[str]) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        value: Any = err.get("input")
        message = err["msg"].removeprefix("Value error, ")
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = loc + tuple(int(p) if p.isdigit() else p for p in cause.key.split("."))
            value, message = cause.value, cause.message
        key = _key(loc)
        if err["type"] == "missing":
            problems.append(f"{stack_file}: {key}: missing; this key is required")
            continue
        if err["type"] == "extra_forbidden":
            allowed = _field_names(_model_at(PlatformConfig, loc[:-1]) or PlatformConfig)
            if len(loc) == 1:
                allowed = [_key((a,)) for a in allowed]
                name = key
            else:
                name = str(loc[-1])
            guess = difflib.get_close_matches(name, allowed, n=1)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            problems.append(f"{stack_file}: {key}: unknown key{hint} (allowed: {', '.join(allowed)})")
            continue
        if value is None:
            problems.append(f"{stack_file}: {key}: {message}")
            continue
        shown = SECRET if _key(loc[:1]) in secret_keys else _show(value)
        problems.append(f"{stack_file}: {key} = {shown}: {message}")
    return problems


def load(values: Mapping[str, Any], *, stack: str, secret_keys: Iterable[str] = ()) -> PlatformConfig:
    """Validate a stack's flat config map. Raises `ConfigError` with one line per problem."""
    stack_file = f"Pulumi.{stack}.yaml"
    secrets = set(secret_keys)
    misspelt = namespace_problems(values, stack_file)
    settings: dict[str, Any] = {}
    for full_key, raw in values.items():
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE:
            settings[key] = _decode(raw)
    if "aws:region" in values:
        settings["region"] = values["aws:region"]
    if "region" not in settings:
        raise ConfigError(
            misspelt
            + [f"{stack_file}: aws:region: missing; set the stack's AWS region (`pulumi config set aws:region ...`)"]
        )
    environment = settings.get("environment")
    # An unknown environment is reported once; the dev profile stands in so the rest still gets checked.
    profile = environment if environment in PROFILES else "dev"
    try:
        config = PlatformConfig.model_validate(with_profile(profile, settings))
    except ValidationError as exc:
        raise ConfigError(misspelt + _problems(exc, stack_file, secrets)) from None
    if misspelt:
        raise ConfigError(misspelt)
    return config


def load_from_pulumi() -> PlatformConfig:
    """Validate the running stack's config (under `pulumi up`/`preview`, or `preflight`)."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return load(values, stack=pulumi.get_stack(), secret_keys=secret_keys)
