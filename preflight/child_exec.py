"""Run a Pulumi Python program against a resource monitor, in the project's own interpreter.

This is what Pulumi's Python language host starts (its `pulumi-language-python-exec`), reduced to what preflight
needs: the SDK of the project's virtualenv connects to preflight's monitor and engine over gRPC, runs `main` as
`__main__` through the SDK's own `run_in_stack`, and this script writes a small JSON report (package versions, and
the error with its frames if the program failed) to the file named by `--report`.

It runs in another interpreter, so it imports nothing from preflight: only the standard library and `pulumi`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import runpy
import sys
import traceback
from importlib import metadata

PACKAGES = ("pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_random", "pulumi_awsx", "pulumi_eks")


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _error(exc: BaseException) -> dict:
    frames = [[f.filename, f.lineno] for f in traceback.extract_tb(exc.__traceback__)]
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "module": getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None,
        "frames": frames,
        "traceback": "".join(traceback.format_exception(exc)),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    for flag in ("--monitor", "--engine", "--project", "--stack", "--pwd", "--organization", "--report", "--main"):
        p.add_argument(flag, required=True)
    p.add_argument("--dry-run", default="true")
    args = p.parse_args()

    report: dict = {"packages": versions(), "python": sys.executable}
    try:
        import pulumi
        from pulumi.runtime import settings as pulumi_settings
        from pulumi.runtime.stack import run_in_stack

        os.chdir(args.pwd)
        main_path = args.main
        program_dir = main_path if os.path.isdir(main_path) else os.path.dirname(main_path)
        sys.path.insert(0, program_dir)
        if os.path.isdir(main_path):
            main_path = os.path.join(main_path, "__main__.py")
        sys.argv = [main_path]
        settings = pulumi_settings.Settings(
            project=args.project,
            stack=args.stack,
            monitor=args.monitor,
            engine=args.engine,
            parallel=4,
            dry_run=args.dry_run == "true",
            organization=args.organization,
            root_directory=args.pwd,
        )
        pulumi_settings.configure(settings)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # Futures a failed program leaves behind would each print a traceback: the first error is what counts.
        loop.set_exception_handler(lambda _loop, _context: None)

        def program() -> None:
            runpy.run_path(main_path, run_name="__main__")

        loop.run_until_complete(run_in_stack(program))
        del pulumi
    except BaseException as exc:  # noqa: BLE001 - reported to preflight, which prints one line
        report["error"] = _error(exc)
    with open(args.report, "w", encoding="utf-8") as out:
        json.dump(report, out)
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
