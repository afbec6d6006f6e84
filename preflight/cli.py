"""`python -m preflight`: run a Pulumi Python program offline for each stack, and check what it would create.

Exit codes: 0 clean, 1 a mandatory violation, 2 usage, project, config or program errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from preflight.engine import ProgramError, run_stack
from preflight.model import StackResult, stack_json
from preflight.project import ProjectError, load_project
from preflight.report import print_stack

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Run a Pulumi Python program offline (no CLI, no plugins, no credentials), "
        "record its resource graph and check it.",
    )
    p.add_argument("--cwd", type=Path, default=Path.cwd(), help="the Pulumi project directory (default: here)")
    p.add_argument("--stack", "-s", action="append", default=[], metavar="NAME",
                   help="stack to run (repeatable; default: every Pulumi.<stack>.yaml)")
    p.add_argument("--json", action="store_true", help="print the documented JSON document on stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks for program errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)

    try:
        project = load_project(args.cwd)
        stacks = args.stack or project.stacks()
        if not stacks:
            raise ProjectError(f"{project.dir}: no Pulumi.<stack>.yaml files; pass --stack or create one")
    except ProjectError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return EXIT_ERROR

    results: list[StackResult] = []
    code = EXIT_OK
    for stack in stacks:
        try:
            with err.status(f"preflight: running {project.name}/{stack} offline"):
                result = run_stack(project, stack)
        except ProjectError as exc:
            err.print(f"[red]error:[/red] {exc}")
            code = EXIT_ERROR
            continue
        except ProgramError as exc:
            err.print(f"[red]error:[/red] stack {stack}: program did not complete:")
            for line in exc.lines:
                err.print(f"  {line}")
            if args.debug and exc.detail:
                err.print(exc.detail)
            code = EXIT_ERROR
            continue
        results.append(result)
        if any(v.enforcement == "mandatory" for v in result.violations) and code == EXIT_OK:
            code = EXIT_VIOLATIONS
        if not args.json:
            print_stack(out, result)

    if args.json:
        json.dump({"stacks": [stack_json(r) for r in results]}, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    return code
