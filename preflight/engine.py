"""Run a Pulumi Python program offline, the way the language host would, and record its resource graph."""

from __future__ import annotations

import asyncio
import logging
import os
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack

from preflight import collector
from preflight.child_exec import versions
from preflight.emulator.aws import UnsupportedInvoke
from preflight.frames import program_frame
from preflight.model import SECRET, StackResult
from preflight.monitor import RecordingMonitor, cannot_answer
from preflight.project import Project


class ProgramError(Exception):
    """The program could not run to completion (exit code 2). `lines` are what to print; `detail` the traceback."""

    def __init__(self, lines: list[str], detail: str = ""):
        super().__init__("\n".join(lines))
        self.lines = lines
        self.detail = detail


DEFAULT_TIMEOUT = 600.0
"""Seconds a program may run before it is stopped: generous (a whole shipped stack renders in seconds), so only a
program that hangs (waiting on a lock, a socket, a `sleep`) reaches it."""


@dataclass(frozen=True)
class RunOptions:
    """What the user tells preflight about the world outside the program (all optional)."""

    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Stack name -> its `pulumi stack output --json` document, for StackReferences (`--stack-outputs`)."""
    invoke_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Data source token -> its result (`--invoke-answers`), used before any emulator."""
    timeout: float | None = DEFAULT_TIMEOUT
    """Seconds before a program is stopped (`--timeout`); None: never."""


class ProgramTimeout(BaseException):
    """Raised in the program's thread when it overruns `--timeout`. A BaseException, so the program's own
    `except Exception` does not swallow it."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Stop the program after `seconds` (main thread only: a signal is how a running Python frame is interrupted)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ProgramTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Diagnostics(logging.Handler):
    """Collects what the program logs through `pulumi.log`; an error there fails `pulumi up`, so it fails here."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
        elif record.levelno >= logging.WARNING:
            self.warnings.append(record.getMessage())


@contextmanager
def _program_environment(cwd: Path | None, argv0: str) -> Iterator[None]:
    old_cwd, old_argv, old_path = os.getcwd(), sys.argv, list(sys.path)
    before = set(sys.modules)
    try:
        if cwd is not None:
            os.chdir(cwd)
            sys.path.insert(0, str(cwd))
        sys.argv = [argv0]
        yield
    finally:
        os.chdir(old_cwd)
        sys.argv, sys.path[:] = old_argv, old_path
        # Modules the program brought in from its own folder are dropped so the next stack (or project)
        # imports them afresh, as a new language host process would.
        if cwd is not None:
            for name in set(sys.modules) - before:
                file = getattr(sys.modules[name], "__file__", None) or ""
                if file.startswith(str(cwd)) and "site-packages" not in file:
                    del sys.modules[name]


@collector.paused()
def run_program(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    cwd: Path | None = None,
    argv0: str = "__main__.py",
    options: RunOptions | None = None,
) -> StackResult:
    """Run `program` under the mock runtime with provider emulation; return what the engine would have seen."""
    config = dict(config or {})
    options = options or RunOptions()
    monitor = RecordingMonitor(
        stack_config=config,
        project=project,
        stack=stack,
        references=options.references,
        invoke_answers=options.invoke_answers,
    )
    logger, diagnostics = program_logger(project, stack)

    pulumi_settings.ROOT.set(None)
    pulumi_settings.configure(
        pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=pulumi_mocks.MockEngine(logger),
            project=project,
            stack=stack,
            dry_run=True,
            organization="organization",
            root_directory=str(cwd or os.getcwd()),
            callbacks=None,
        )
    )
    set_all_config(config, secret_keys or [])
    # `MockSettings` gives each run a new RPC manager but not a new output set: that set is the SDK's one global,
    # where a failed program's cancelled output tasks stay behind. The next run would wait on them and fail with
    # "Event loop is closed" (they belong to the previous run's loop), so every run starts with an empty set.
    pulumi_settings.SETTINGS.outputs.clear()

    loop = asyncio.new_event_loop()
    # A failed program leaves futures whose exceptions nobody reads (every output of every resource that depended on
    # the failure). asyncio would print a traceback for each as it is collected, burying the one-line reason; they
    # are consequences of the error already reported, kept only for --debug.
    lost: list[str] = []
    loop.set_exception_handler(lambda _loop, context: lost.append(_context_line(context)))
    asyncio.set_event_loop(loop)
    try:
        with _program_environment(cwd, argv0), _deadline(options.timeout):
            loop.run_until_complete(run_in_stack(program))
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a one-line reason
        raise _explain(exc, monitor, cwd, lost) from None
    finally:
        # A failed program leaves output tasks waiting on values that will never come: cancel them quietly.
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        pulumi_settings.SETTINGS.outputs.clear()
        asyncio.set_event_loop(None)
        pulumi_settings.ROOT.set(None)

    runtime = {"python": sys.executable, "packages": versions()}
    return recorded(monitor, diagnostics, config, secret_keys or [], runtime)


def recorded(
    monitor: RecordingMonitor,
    diagnostics: _Diagnostics,
    config: dict[str, str],
    secret_keys: list[str],
    runtime: dict[str, Any],
) -> StackResult:
    """What a completed program left in the monitor, as a stack result; an error it logged fails it. `runtime`: the
    interpreter the program ran in and its package versions."""
    if diagnostics.errors:
        raise ProgramError([f"program logged an error: {m}" for m in diagnostics.errors])
    unresolved = sorted(set(monitor.unresolved_references))
    unknown_references = [
        f"StackReference {name!r}: its outputs are unknown offline (pass --stack-outputs {name}=FILE with its "
        "`pulumi stack output --json`)"
        for name in unresolved
    ]
    return StackResult(
        project=monitor.project,
        stack=monitor.stack,
        resources=tuple(sorted(monitor.records, key=lambda r: r.urn)),
        outputs=monitor.stack_outputs,
        config={k: (SECRET if k in secret_keys else v) for k, v in config.items()},
        warnings=(*diagnostics.warnings, *unknown_references, *monitor.emulated),
        # In URN order, as the resources are: the RPCs that record them arrive in no fixed order.
        not_checked=tuple(sorted(monitor.not_checked, key=lambda g: (g.urn or "", g.type, g.name or ""))),
        runtime=runtime,
        unresolved_references=tuple(unresolved),
    )


def program_logger(project: str, stack: str) -> tuple[logging.Logger, _Diagnostics]:
    """The logger the program's `pulumi.log` messages reach, and what collects them."""
    logger = logging.getLogger(f"preflight.program.{project}.{stack}")
    logger.propagate = False
    diagnostics = _Diagnostics()
    logger.handlers[:] = [diagnostics]
    logger.setLevel(logging.INFO)
    return logger, diagnostics


def _context_line(context: dict[str, Any]) -> str:
    exc = context.get("exception")
    return f"{context.get('message', 'asyncio')}: {type(exc).__name__}: {exc}" if exc else str(context.get("message"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _where(exc: BaseException, root: Path | None, frame: traceback.FrameSummary | None = None) -> str:
    """` at <file>:<line>` of the program's own line an exception went through, or "" when it is not known."""
    if frame is None:
        frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
        frame = program_frame(frames, root.resolve() if root else None)
    return at_line(frame, root)


def at_line(frame: traceback.FrameSummary | None, root: Path | None) -> str:
    """` at <file>:<line>`, the file relative to the project when it is in it; "" without a frame."""
    if frame is None:
        return ""
    path = Path(frame.filename)
    if root is not None and path.resolve().is_relative_to(root.resolve()):
        path = path.resolve().relative_to(root.resolve())
    return f" at {path}:{frame.lineno}"


def _explain(
    exc: BaseException, monitor: RecordingMonitor, root: Path | None = None, lost: list[str] | None = None
) -> ProgramError:
    detail = "".join(traceback.format_exception(exc))
    if lost:
        detail += f"\n{len(lost)} more failure(s) that followed from it:\n" + "\n".join(lost)
    if isinstance(exc, ProgramError):
        return exc
    if isinstance(exc, ProgramTimeout):
        return ProgramError(
            [f"the program did not finish within {exc.args[0]:g} s (--timeout); stopped{_where(exc, root)}"], detail
        )
    if monitor.invoke_errors:
        token, caller = monitor.invoke_errors[0]
        return ProgramError([cannot_answer(token, _where(exc, root, caller))], detail)
    if isinstance(exc, UnsupportedInvoke):
        return ProgramError([str(exc)], detail)
    problems = getattr(exc, "problems", None)
    if problems:
        return ProgramError(list(problems), detail)
    if isinstance(exc, pulumi.RunError):
        return ProgramError(str(exc).splitlines() or [type(exc).__name__], detail)
    if isinstance(exc, (pulumi.InputPropertyError, pulumi.InputPropertiesError)):
        return ProgramError([f"invalid resource input: {exc}"], detail)
    if isinstance(exc, ModuleNotFoundError):
        hint = "(a project with its own virtualenv names it in Pulumi.yaml: runtime.options.virtualenv)"
        missing = f"the program imports '{exc.name}', which is not installed in preflight's virtualenv"
        return ProgramError([f"{missing}{_where(exc, root)} {hint}"], detail)
    if isinstance(exc, KeyboardInterrupt):
        return ProgramError(["interrupted"], detail)
    return ProgramError([f"the program failed: {type(exc).__name__}: {_one_line(str(exc))}{_where(exc, root)}"], detail)


def _is_this_interpreter(virtualenv: Path) -> bool:
    """The project's virtualenv is the one preflight runs in (this repository's `.venv`): no child needed."""
    return virtualenv.resolve() == Path(sys.prefix).resolve()


def run_stack(
    project: Project,
    stack: str,
    overrides: dict[str, str] | None = None,
    options: RunOptions | None = None,
) -> StackResult:
    """Run a project's program for one of its stacks, with that stack's config (and `overrides` on top)."""
    config = project.stack_config(stack)
    values = {**config.values, **(overrides or {})}

    if project.virtualenv is not None and not _is_this_interpreter(project.virtualenv):
        from preflight.venv_host import run_in_virtualenv

        result = run_in_virtualenv(project, stack, values, config.secret_keys, options or RunOptions())
    else:
        result = run_program(
            lambda: runpy.run_path(str(project.main), run_name="__main__"),
            project=project.name,
            stack=stack,
            config=values,
            secret_keys=config.secret_keys,
            cwd=project.dir,
            argv0=str(project.entry),
            options=options,
        )
    return replace(result, warnings=(*config.warnings, *result.warnings))
