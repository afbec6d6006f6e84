"""`python -m preflight audit --state FILE`: audit a deployed stack live. Exit codes as preflight's: 0 no mandatory
finding, 1 a mandatory finding, 2 bad input, no credentials or region, a pack that does not load, or a check that
could not run (a denied, throttled or unimplemented call)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from preflight.audit.aws import AuditSetupError, Aws
from preflight.audit.findings import NOT_CHECKED
from preflight.audit.run import audit
from preflight.audit.state import StateError, read_state
from preflight.cli import EXIT_ERROR, EXIT_OK, EXIT_VIOLATIONS, REPO, UsageError, _check_policy_configs, policy_runs
from preflight.model import StackResult, stack_json
from preflight.policy import PolicyConfigError, PolicyEvaluationError
from preflight.project import ProjectError, load_project
from preflight.report import _tree_lines, print_violations


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m preflight audit",
        description="Audit a deployed stack live, read-only: drift of security-relevant properties, resources "
        "deleted out of band, the policy pack on live properties, silent SageMaker rollbacks, tags, GPUs running.",
    )
    p.add_argument("--state", type=Path, required=True, metavar="FILE", help="the JSON `pulumi stack export` wrote")
    p.add_argument(
        "--policy-pack",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a CrossGuard policy pack directory (repeatable). Default: this repository's guardrail pack with "
        "its config/<stack>.json (the stack named in the state)",
    )
    p.add_argument(
        "--policy-pack-config",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="the JSON config for the --policy-pack at the same position (repeatable; one per pack or none)",
    )
    p.add_argument("--sarif", type=Path, metavar="FILE", help="also write every finding as SARIF 2.1.0 to FILE")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write a summary in Markdown to FILE")
    p.add_argument("--json", action="store_true", help="print the JSON document on stdout")
    return p


def print_audit(console: Console, result: StackResult, region: str) -> None:
    console.print(f"[bold]Auditing stack[/bold] {escape(result.project)}/{escape(result.stack)} (live, {region})\n")
    urns = {r.urn for r in result.resources}
    on_resources: dict[str, list] = {}
    for v in result.violations:
        if v.urn in urns:
            on_resources.setdefault(v.urn, []).append(v)
    console.print(f"     {'Type':<63} Name", style="bold")
    for line in _tree_lines(result, on_resources):
        # The tree marks resources to create; here every resource is deployed already.
        console.print(line.replace("[green]+[/green]", " ", 1), highlight=False, soft_wrap=True)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    print_violations(console, result)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def error(message: str) -> int:
        err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
        return EXIT_ERROR

    try:
        state = read_state(args.state)
        # The packs and configs preflight would use for the same stack of this repository's project.
        packs, notes = policy_runs(load_project(REPO), state.result.stack, args.policy_pack, args.policy_pack_config)
        aws = Aws(state.default_region)
    except (StateError, AuditSetupError, UsageError, ProjectError) as exc:
        return error(str(exc))
    problems = _check_policy_configs({state.result.stack: packs})
    if problems:
        for problem in problems:
            error(problem)
        return EXIT_ERROR
    try:
        with err.status(f"audit: reading {state.result.project}/{state.result.stack} live"):
            result = audit(state, aws, packs).with_warnings(notes)
    except (PolicyConfigError, PolicyEvaluationError) as exc:
        return error(f"stack {state.result.stack}: {exc}")

    code = EXIT_VIOLATIONS if any(v.enforcement == "mandatory" for v in result.violations) else EXIT_OK
    unchecked = sum(v.policy == NOT_CHECKED for v in result.violations)
    if unchecked:
        # As preflight treats a scanner that could not run: the run is incomplete, whatever else it found.
        code = error(f"{unchecked} check(s) could not run (the audit-not-checked findings say which and why)")
    try:
        if args.sarif:
            from preflight.report_sarif import write_sarif

            write_sarif([result], args.sarif, project_dir=Path.cwd())
        if args.markdown:
            from preflight.report_markdown import write_markdown

            write_markdown([result], args.markdown)
    except OSError as exc:
        code = error(f"{exc.filename}: cannot write the report: {exc.strerror}")
    if args.json:
        document = stack_json(result)
        document["warnings"] = list(result.warnings)
        json.dump({"stacks": [document]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_audit(Console(highlight=False, soft_wrap=True), result, aws.default_region)
    return code
