"""Point a stack's endpoints at a newly approved model version: `modelPackage: <model>/<version>` in
`Pulumi.<stack>.yaml`, and nothing else — comments, order and formatting stay as they are.

    python tools/bump_model_package.py --stack staging --model churn-classifier --version 4

The promotion workflow (.github/workflows/promote-model.yml) runs it on GitHub's `repository_dispatch` and opens a
pull request with the result. The file is edited line by line (a YAML round trip would drop comments), then parsed
again: the run fails unless the only difference is the bumped `modelPackage` values. A version at or below the
current one is refused (a replayed or stale approval must not downgrade; going back is reverting the promotion pull
request, docs/runbooks/model-rollback.md).

Exit status: 0 bumped or already there (one line says which), 1 refused (one line says why).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

PROMOTED_STACKS = ("staging", "prod")
"""Stacks whose endpoints deploy registry versions (`requireModelPackage`); dev deploys archives."""
_MODEL = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*$")
_LINE = r"^(?P<head>\s*(?:-\s+)?modelPackage:\s*)(?P<quote>[\"']?){model}/(?P<version>[1-9][0-9]*)(?P=quote)(?P<tail>\s*(?:#.*)?)$"


class Refused(Exception):
    """The bump cannot be made safely; the message is the one line to print."""


def endpoints_of(document: dict[str, Any], model: str) -> dict[str, int]:
    """Endpoint key -> current version, for the endpoints that serve `model` from the registry."""
    endpoints = ((document.get("config") or {}).get("ml-platform:endpoints") or {}).get("endpoints") or {}
    found = {}
    for key, spec in endpoints.items():
        package = (spec or {}).get("modelPackage")
        if isinstance(package, str) and package.split("/", 1)[0] == model:
            found[key] = int(package.split("/", 1)[1])
    return found


def bump(text: str, *, model: str, version: int, where: str = "stack file") -> tuple[str, dict[str, int]]:
    """`text` with every `modelPackage: <model>/<n>` set to `<model>/<version>`, and endpoint -> previous version.

    Raises `Refused` when the model is unknown, the version would not move forward, or the edit would change
    anything but those values."""
    if not _MODEL.match(model):
        raise Refused(f"model {model!r} is not a model key (lowercase letters, digits, single hyphens)")
    if version < 1:
        raise Refused(f"version {version} is not a model package version (1 or more)")
    before = yaml.safe_load(text)
    current = endpoints_of(before, model)
    if not current:
        raise Refused(f"{where}: no endpoint deploys a registry version of {model!r} (modelPackage: {model}/<n>)")
    newer = {k: v for k, v in current.items() if v > version}
    if newer:
        raise Refused(
            f"{where}: {', '.join(f'{k} is at {model}/{v}' for k, v in sorted(newer.items()))}; refusing to go back "
            f"to {version} (revert the promotion pull request instead)"
        )
    pattern = re.compile(_LINE.format(model=re.escape(model)))
    lines = text.splitlines(keepends=True)
    edited = 0
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = pattern.match(body)
        if match:
            ending = line[len(body) :]
            q = match.group("quote")
            lines[i] = f"{match.group('head')}{q}{model}/{version}{q}{match.group('tail')}{ending}"
            edited += 1
    if edited != len(current):
        raise Refused(
            f"{where}: found {len(current)} endpoint(s) serving {model} but {edited} plain `modelPackage:` line(s); "
            "edit the file by hand (flow-style or anchored values are not bumped automatically)"
        )
    result = "".join(lines)
    expected = copy.deepcopy(before)
    for key in current:
        expected["config"]["ml-platform:endpoints"]["endpoints"][key]["modelPackage"] = f"{model}/{version}"
    if yaml.safe_load(result) != expected:
        raise Refused(f"{where}: the edit changed more than modelPackage; edit the file by hand")
    return result, current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    try:
        if args.stack not in PROMOTED_STACKS:
            raise Refused(f"stack {args.stack!r}: promotions go to {', '.join(PROMOTED_STACKS)} only")
        if not re.fullmatch(r"[1-9][0-9]{0,8}", args.version):
            raise Refused(f"version {args.version!r} is not a model package version (a whole number from 1)")
        path = args.root / f"Pulumi.{args.stack}.yaml"
        if not path.is_file():
            raise Refused(f"{path.name}: no such stack file")
        text, previous = bump(path.read_text(), model=args.model, version=int(args.version), where=path.name)
    except Refused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    moved = {k: v for k, v in previous.items() if v != int(args.version)}
    if not moved:
        print(f"{path.name}: already at {args.model}/{args.version}")
        return 0
    path.write_text(text)
    for key, old in sorted(moved.items()):
        print(f"{path.name}: endpoint {key}: {args.model}/{old} -> {args.model}/{args.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
