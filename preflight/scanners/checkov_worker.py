"""checkov as a long-lived worker: one process, started once per preflight run, scans every stack.

Run by checkov's own interpreter (`.venv-checkov/bin/python`), never imported by preflight: it must not import
anything but the standard library and checkov. checkov's start-up — importing its frameworks and loading a
thousand checks — costs seconds of CPU; paid once here instead of once per stack.

Protocol, one JSON object a line: preflight writes `{"id": N, "argv": [...], "cwd": DIR}` on stdin; the worker
runs checkov with exactly those command-line arguments in DIR, its report (what the checkov command would
print) going to DIR/checkov-report.json and its diagnostics to DIR/checkov-stderr.txt, then answers
`{"id": N, "code": EXIT_CODE}` on stdout. End of input ends the worker.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import traceback
import warnings

warnings.simplefilter("ignore", category=SyntaxWarning)

import checkov.main
from checkov.main import Checkov

# checkov's modules and its thousand registered checks live as long as the worker: out of the collector's sight,
# so no collection walks them again, in the worker or in the processes checkov forks for each framework.
gc.collect()
gc.freeze()


def scan(argv: list[str], cwd: str) -> int:
    os.chdir(cwd)  # first: some runners read the working directory when they are made
    with (
        open(os.path.join(cwd, "checkov-report.json"), "w") as out,
        open(os.path.join(cwd, "checkov-stderr.txt"), "w") as err,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            # checkov's runners are module-level instances that keep what they parsed (the plan runner skips
            # parsing when it already holds definitions): every scan gets new ones, so no job sees an earlier one's.
            checkov.main.DEFAULT_RUNNERS[:] = [type(runner)() for runner in checkov.main.DEFAULT_RUNNERS]
            code = Checkov(argv).run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception:  # noqa: BLE001 - any failure is the job's exit code 2, with its traceback
            traceback.print_exc()
            code = 2
    return code or 0


def main() -> None:
    answers = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        code = scan(job["argv"], job["cwd"])
        answers.write(json.dumps({"id": job["id"], "code": code}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
