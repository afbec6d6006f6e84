"""`python -m preflight`: run a Pulumi Python program offline for each stack, and check what it would create.

Checks: the CrossGuard policy pack(s), evaluated as `pulumi preview --policy-pack` would, and the scanners
(checkov, parliament, AWS API values, Kubernetes schemas). Exit codes: 0 clean, 1 a mandatory violation, 2 usage,
project, config or program errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from preflight import cost, scanners
from preflight.coverage import unrendered_findings
from preflight.engine import DEFAULT_TIMEOUT, ProgramError, RunOptions, run_stack
from preflight.model import StackResult, Violation, stack_json
from preflight.policy import (
    PolicyConfigError,
    PolicyEvaluationError,
    evaluate,
    load_pack_definition,
    read_config_file,
    reconcile,
)
from preflight.project import Project, ProjectError, load_project
from preflight.report import print_stack

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PACK = REPO / "policies"
"""The guardrail pack: the default for this repository's program, and for projects that have no pack of their own."""


class UsageError(Exception):
    """Flags that do not fit together (exit code 2)."""


@dataclass(frozen=True)
class PackRun:
    pack: Path
    config: Path | None
    """The `--policy-pack-config` file; None: the pack's defaults (every rule at its own or the pack's level)."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number of seconds, e.g. 600")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Run a Pulumi Python program offline (no CLI, no plugins, no credentials), "
        "record its resource graph and check it with policy packs and scanners.",
    )
    p.add_argument("--cwd", type=Path, default=Path.cwd(), help="the Pulumi project directory (default: here)")
    p.add_argument(
        "--stack",
        "-s",
        action="append",
        default=[],
        metavar="NAME",
        help="stack to run (repeatable; default: every Pulumi.<stack>.yaml)",
    )
    p.add_argument(
        "--policy-pack",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a CrossGuard policy pack directory (repeatable). Default: the project's own policies/ if it "
        "has one, else this repository's guardrail pack",
    )
    p.add_argument(
        "--policy-pack-config",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="the JSON config for the --policy-pack at the same position (repeatable; one per pack or "
        "none). Default: <pack>/config/<stack>.json when it exists, except for a project borrowing this "
        "repository's pack, which runs at the pack's defaults",
    )
    p.add_argument(
        "--no-scanners",
        action="store_true",
        help="skip checkov, parliament, the AWS API value checks and the Kubernetes schema checks",
    )
    p.add_argument(
        "--scanner-config",
        type=Path,
        metavar="FILE",
        help="the scanner configuration (enforcement per check, justified skips) laid over preflight's defaults. "
        "Default: the project's .preflight/checkov.yaml, or [tool.preflight.checkov] in its pyproject.toml",
    )
    p.add_argument("--sarif", type=Path, metavar="FILE", help="also write every finding as SARIF 2.1.0 to FILE")
    p.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write a pull-request summary in Markdown to FILE"
    )
    p.add_argument("--no-cost", action="store_true", help="skip the monthly cost estimate (see docs/cost.md)")
    p.add_argument(
        "--compare",
        type=Path,
        metavar="BASE.json",
        help="also show each stack's cost change against a previous --json document",
    )
    p.add_argument("--json", action="store_true", help="print the documented JSON document on stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks for program errors")
    p.add_argument(
        "--stack-outputs",
        action="append",
        default=[],
        metavar="STACK=FILE",
        help="the outputs of a stack the program reads with a StackReference, as `pulumi stack output --json` "
        "writes them (repeatable); without it that stack's outputs are unknown",
    )
    p.add_argument(
        "--invoke-answers",
        type=Path,
        metavar="FILE",
        help="a JSON object of data source token -> result, for data sources preflight cannot answer offline "
        "(and to replace an emulated answer)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"stop a program that runs longer than this, with an error (default: {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="make what preflight could not render (multi-language components, Helm charts) a mandatory finding",
    )
    return p


def policy_runs(
    project: Project, stack: str, packs: list[Path], configs: list[Path]
) -> tuple[list[PackRun], list[str]]:
    """Which packs judge `stack`, each with its config file, and notes on what was defaulted.

    Explicit packs pair with configs by position, as the Pulumi CLI pairs them. Without `--policy-pack`: the
    project's own `policies/` pack when it has one, else the guardrail pack; with `<pack>/config/<stack>.json`
    when it exists (this repository's stacks all have one). A project using the guardrail pack only because it has
    none of its own gets the pack's defaults: it is judged by the rules, not by our stacks' budgets."""
    if configs and len(configs) != len(packs):
        raise UsageError(
            f"--policy-pack-config was given {len(configs)} time(s) and --policy-pack {len(packs)}: each config file "
            "goes with the --policy-pack at the same position, so give one per pack (or none)"
        )
    if packs:
        paired = zip(packs, configs, strict=True) if configs else ((p, None) for p in packs)
        return [PackRun(Path(p).resolve(), Path(c).resolve() if c else None) for p, c in paired], []
    own = project.dir / "policies"
    is_repo = project.dir.resolve() == REPO
    if is_repo or (own / "PulumiPolicy.yaml").is_file():
        pack = DEFAULT_PACK if is_repo else own
        config = pack / "config" / f"{stack}.json"
        if config.is_file():
            return [PackRun(pack, config)], []
        note = (
            f"no {config.relative_to(project.dir)} for stack {stack}: the policy pack's defaults apply (every rule at "
            "its default enforcement level)"
        )
        return [PackRun(pack, None)], [note]
    return [PackRun(DEFAULT_PACK, None)], []


def _check_policy_configs(runs: dict[str, list[PackRun]]) -> list[str]:
    """Every pack loaded and every config file validated before any program runs: one line per problem."""
    problems: list[str] = []
    seen: set[PackRun] = set()
    for run in (r for rs in runs.values() for r in rs):
        if run in seen:
            continue
        seen.add(run)
        try:
            pack = load_pack_definition(run.pack)
            if run.config is not None:
                reconcile(pack, read_config_file(run.config), str(run.config))
            else:
                reconcile(pack, {})
        except PolicyConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]
        except Exception as exc:  # noqa: BLE001 - the pack's own code failed to import or build its policies
            problems.append(f"{run.pack}: the policy pack did not load: {type(exc).__name__}: {exc}")
    return problems


@dataclass
class _Plan:
    """What to run, validated before any program runs."""

    project: Project
    stacks: list[str]
    runs: dict[str, list[PackRun]]
    notes: dict[str, list[str]]
    scanner_config: scanners.ScannerConfig | None
    options: RunOptions
    cost_base: Any = None
    """The `--compare` document's cost estimates, when given."""


def _json_file(flag: str, spec: str, file: str, expected: str) -> dict[str, Any]:
    """A JSON object from a file given on the command line, or a one-line UsageError naming flag, file and problem."""
    try:
        document = json.loads(Path(file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{flag} {spec!r}: {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} {spec!r}: {file}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{flag} {spec!r}: {file}: expected {expected}, got {type(document).__name__}")
    return document


def invoke_answers(file: Path | None) -> dict[str, dict[str, Any]]:
    """`--invoke-answers FILE`: a JSON object of data source token -> the result the program gets."""
    if file is None:
        return {}
    answers = _json_file("--invoke-answers", str(file), str(file), "an object of data source tokens to results")
    for token, result in answers.items():
        if token.count(":") != 2 or not isinstance(result, dict):
            raise UsageError(
                f"--invoke-answers {str(file)!r}: {token!r}: expected a data source token "
                "(e.g. aws:ec2/getInstanceType:getInstanceType) mapped to an object of its result's properties"
            )
    return answers


def stack_outputs(specs: list[str]) -> dict[str, dict[str, Any]]:
    """`--stack-outputs STACK=FILE` values: stack name -> its `pulumi stack output --json` document."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"--stack-outputs {spec!r}: expected STACK=FILE, e.g. acme/network/prod=network.json")
        out[name] = _json_file(
            "--stack-outputs", spec, file, "an object of output names to values (`pulumi stack output --json`)"
        )
    return out


class _Out:
    """The two consoles: results on stdout, progress and errors on stderr."""

    def __init__(self, debug: bool) -> None:
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=True)
        self.debug = debug

    def error(self, message: str, detail: str = "") -> None:
        self.err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
        if self.debug and detail:
            self.err.print(detail, markup=False, highlight=False)


def _plan(args: argparse.Namespace) -> _Plan:
    project = load_project(args.cwd)
    stacks = args.stack or project.stacks()
    if not stacks:
        raise ProjectError(f"{project.dir}: no Pulumi.<stack>.yaml files; pass --stack or create one")
    for stack in stacks:
        project.stack_file(stack)
    runs: dict[str, list[PackRun]] = {}
    notes: dict[str, list[str]] = {}
    for stack in stacks:
        runs[stack], notes[stack] = policy_runs(project, stack, args.policy_pack, args.policy_pack_config)
    scanner_config = None if args.no_scanners else scanners.project_config(project.dir, args.scanner_config)
    options = RunOptions(
        references=stack_outputs(args.stack_outputs),
        invoke_answers=invoke_answers(args.invoke_answers),
        timeout=args.timeout,
    )
    if args.compare and args.no_cost:
        raise UsageError("--compare compares cost estimates: it cannot be used with --no-cost")
    cost_base = cost.load_base(args.compare) if args.compare else None
    return _Plan(project, stacks, runs, notes, scanner_config, options, cost_base)


def _failed(project: Project, stack: str, lines: list[str]) -> StackResult:
    """A stack that did not render, as a result whose one finding is the error: SARIF and Markdown still say why."""
    message = "; ".join(lines)
    return StackResult(
        project=project.name,
        stack=stack,
        violations=(
            Violation(
                source="preflight",
                policy="program-error",
                category="reliability",
                enforcement="mandatory",
                severity="critical",
                urn=None,
                name=None,
                message=f"the stack did not render, so nothing in it was checked: {message}",
                remediation="fix the error and run preflight again",
            ),
        ),
    )


def _render(plan: _Plan, stack: str, args: argparse.Namespace) -> tuple[StackResult, scanners.PendingScan | None]:
    """Run one stack's program and its policy packs; start its scanners in the background."""
    result = run_stack(plan.project, stack, options=plan.options).with_warnings(plan.notes[stack])
    result = result.with_violations(unrendered_findings(result, strict=args.strict))
    for run in plan.runs[stack]:
        result = result.with_violations(evaluate(result, run.pack, run.config))
    if not args.no_cost:
        result = replace(result, cost=cost.stack_cost(result, plan.project.dir, plan.cost_base, args.compare))
    if args.no_scanners:
        return result, None
    pending = scanners.start(result, project_dir=plan.project.dir, config=plan.scanner_config)
    return pending.with_unscanned(result), pending


def _render_all(
    plan: _Plan, args: argparse.Namespace, io: _Out
) -> tuple[list[tuple[StackResult, scanners.PendingScan | None]], int]:
    """Every stack rendered first; checkov keeps scanning one stack in its own process while the next renders.
    A stack that fails is kept as a result holding its error, for the report files."""
    rendered: list[tuple[StackResult, scanners.PendingScan | None]] = []
    code = EXIT_OK
    for stack in plan.stacks:
        try:
            with io.err.status(f"preflight: running {plan.project.name}/{stack} offline"):
                rendered.append(_render(plan, stack, args))
            continue
        except ProjectError as exc:
            lines = [str(exc)]
            io.error(lines[0])
        except ProgramError as exc:
            lines = exc.lines
            io.error(f"stack {stack}: program did not complete:")
            for line in lines:
                io.err.print(f"  {line}", markup=False, highlight=False)
            if args.debug and exc.detail:
                io.err.print(exc.detail, markup=False, highlight=False)
        except cost.UsageError as exc:
            lines = list(exc.problems)
            for problem in lines:
                io.error(problem)
        except (PolicyConfigError, PolicyEvaluationError, scanners.checkov.CheckovUnavailable) as exc:
            lines = [str(exc)]
            io.error(f"stack {stack}: {exc}")
        code = EXIT_ERROR
        rendered.append((_failed(plan.project, stack, lines), None))
    return rendered, code


def _scan(result: StackResult, pending: scanners.PendingScan | None, io: _Out) -> tuple[StackResult, bool]:
    """The stack with its scanners' findings, once they finish; False when they failed (an error of the run, named,
    not a traceback)."""
    if pending is None:
        return result, True
    try:
        with io.err.status(f"preflight: scanning {result.project}/{result.stack}"):
            return result.with_violations(pending.violations()), True
    except Exception as exc:  # noqa: BLE001
        io.error(f"stack {result.stack}: the scanners failed: {type(exc).__name__}: {exc}", traceback.format_exc())
        return result, False


def _write_reports(results: list[StackResult], args: argparse.Namespace, project_dir: Path, io: _Out) -> bool:
    try:
        if args.sarif:
            from preflight.report_sarif import write_sarif

            write_sarif(results, args.sarif, project_dir=project_dir)
        if args.markdown:
            from preflight.report_markdown import write_markdown

            write_markdown(results, args.markdown)
    except OSError as exc:
        io.error(f"{exc.filename}: cannot write the report: {exc.strerror}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["refresh-prices"]:
        from preflight.cost.refresh import main as refresh_prices

        return refresh_prices(argv[1:])
    if argv[:1] == ["audit"]:
        from preflight.audit.cli import main as audit

        return audit(argv[1:])
    args = _parser().parse_args(argv)
    io = _Out(args.debug)
    try:
        plan = _plan(args)
    except (ProjectError, UsageError, scanners.ScannerConfigError, cost.CompareError) as exc:
        io.error(str(exc))
        return EXIT_ERROR
    problems = _check_policy_configs(plan.runs)
    if problems:
        for problem in problems:
            io.error(problem)
        return EXIT_ERROR

    rendered, code = _render_all(plan, args, io)
    results: list[StackResult] = []
    for rendered_result, pending in rendered:
        result, scanned = _scan(rendered_result, pending, io)
        if not scanned:
            code = EXIT_ERROR
        results.append(result)
        if any(v.enforcement == "mandatory" for v in result.violations) and code == EXIT_OK:
            code = EXIT_VIOLATIONS
        if not args.json and result.resources:
            print_stack(io.out, result)

    if not _write_reports(results, args, plan.project.dir, io):
        code = EXIT_ERROR
    if args.json:
        json.dump({"stacks": [stack_json(r) for r in results]}, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    return code
