"""Which line of the program is to blame: the innermost frame that is the program's own code, not the SDK's, a
library's or preflight's."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

_LIBRARY_ROOTS = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix)})
_PREFLIGHT = str(Path(__file__).resolve().parent)


def is_program_file(filename: str) -> bool:
    """Not in a virtualenv, site-packages or the standard library, and not preflight itself (its tests excepted)."""
    path = str(Path(filename).resolve())
    if path.startswith(_PREFLIGHT) and not Path(path).name.startswith("test_"):
        return False
    return "site-packages" not in path and not path.startswith(_LIBRARY_ROOTS) and not filename.startswith("<")


def program_frame(frames: list[traceback.FrameSummary], root: Path | None) -> traceback.FrameSummary | None:
    """The innermost of `frames` in the project (outside any site-packages), else the innermost outside the
    libraries; None when there is none (an exception the SDK re-raised without the program's frames), rather than a
    line in site-packages."""
    ours = [f for f in frames if is_program_file(f.filename)]
    in_project = [f for f in ours if root is not None and Path(f.filename).resolve().is_relative_to(root)]
    found = in_project or ours
    return found[-1] if found else None


def main_thread_program_frame() -> traceback.FrameSummary | None:
    """Where the program's thread is now, when it is blocked in a call into the SDK (a data source called
    synchronously): the RPC itself is served on another thread, whose stack does not include the program."""
    frame = sys._current_frames().get(threading.main_thread().ident or -1)
    if frame is None or threading.current_thread() is threading.main_thread():
        return None
    return program_frame(traceback.extract_stack(frame), None)
