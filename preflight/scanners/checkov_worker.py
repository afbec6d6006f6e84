"""checkov as a long-lived worker: one process, started once per preflight run, scans every stack.

Run by checkov's own interpreter (`.venv-checkov/bin/python`), never imported by preflight: it must not import
anything but the standard library and checkov. checkov's start-up — importing its frameworks and loading a
thousand checks — costs seconds of CPU; paid once here instead of once per stack.

These make a scan cheaper, in CPU and memory, than the checkov command's without changing what it finds:
- the plan preflight wrote (`json.dumps(..., indent=1)`) is read by `json.loads` and marked with the lines and
  columns the layout puts each value on (`load_plan`), instead of checkov's pure-Python YAML construction of it:
  the same nodes, the same line numbers, a tenth of the CPU and far fewer objects (a plan laid out any other way
  goes to checkov's own loader). Its strings carry no marks of their own: checkov's plan runner reads the lines
  of mappings only, and a string without marks is its own deep copy, where checkov copies each resource again
  for its graph;
- a graph check's result gets a copy of its resource's top-level mapping, the only level checkov changes, not a
  pickled copy of all of it (`_entity_copy`);
- the JSON report is written to its file as checkov's encoder makes it, not joined into one string first, and the
  second, unindented encoding checkov makes of it only when a file is asked for (`_Report`);
- the collector is off during a job and collects its garbage once at the end: checkov builds and deep-copies
  hundreds of thousands of objects per plan, and every full collection walked them all again;
- debug log records are not made: checkov keeps every one in memory for a platform upload preflight never does.

Protocol, one JSON object a line: preflight writes `{"id": N, "argv": [...], "cwd": DIR}` on stdin; the worker
runs checkov with exactly those command-line arguments in DIR, its report (what the checkov command would
print) going to DIR/checkov-report.json and its diagnostics to DIR/checkov-stderr.txt, then answers
`{"id": N, "code": EXIT_CODE}` on stdout. End of input ends the worker.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sys
import traceback
import warnings
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore", category=SyntaxWarning)

import checkov.common.runners.base_runner
import checkov.common.runners.runner_registry
import checkov.main
from checkov.cloudformation.parser import cfn_yaml
from checkov.common.parsers.json.decoder import Mark
from checkov.common.parsers.node import DictNode, ListNode, StrNode
from checkov.common.runners.runner_registry import CONSOLE_OUTPUT, RunnerRegistry
from checkov.common.util.consts import MAX_IAC_FILE_SIZE
from checkov.common.util.data_structures_utils import pickle_deepcopy
from checkov.common.util.file_utils import read_file_with_any_encoding
from checkov.common.util.json_utils import CustomJSONEncoder
from checkov.logging_init import log_stream
from checkov.main import Checkov

# checkov logs at DEBUG into an in-memory stream (for its platform upload); only errors are shown, to stderr.
_root = logging.getLogger()
_root.handlers = [h for h in _root.handlers if getattr(h, "stream", None) is not log_stream]
_root.setLevel(os.environ.get("LOG_LEVEL", "WARNING").upper())

# checkov's modules and its thousand registered checks live as long as the worker: out of the collector's sight,
# so no collection walks them again, in the worker or in the processes checkov forks for each framework.
gc.collect()
gc.freeze()


class _Layout(Exception):
    """The file is not laid out as `json.dumps(..., indent=1)` lays it out."""


# checkov's plan runner reads the lines of mappings (`__startline__`, `__endline__`, and the marks `_hclify` turns
# into `start_line`/`end_line`), never a string's: it only copies them. So the plan's strings carry no marks of
# their own: StrNode's class gives them one shared mark with no position (reading its line raises instead of
# answering a wrong one). A string with no marks of its own is immutable, so its deep copy is itself, as a `str`'s
# is — and checkov deep-copies every resource for its graph and again for every graph check's result. Strings
# checkov's own loaders make (Kubernetes manifests, a plan laid out otherwise) keep theirs, and copy as before.
UNMARKED = Mark.__new__(Mark)
StrNode.start_mark = StrNode.end_mark = UNMARKED
_strnode_deepcopy = StrNode.__deepcopy__


def _deepcopy_str(self: StrNode, memo: dict[int, Any]) -> StrNode:
    return self if self.start_mark is UNMARKED else _strnode_deepcopy(self, memo)


StrNode.__deepcopy__ = _deepcopy_str


def _entity_copy(entity: Any) -> Any:
    """The copy `BaseRunner._update_check_correct_connected_node` makes of a graph check result's resource ("to
    avoid changes between checks"): the one change it makes is setting the copy's `connected_node` to this
    check's, and nothing after it changes the resource, so a copy of the top-level mapping keeps each check's
    connected node its own. checkov pickles the whole resource instead, once per result (5,390 results at 2,000
    resources), and each report record kept its own copy of the resource's configuration; now they share the
    graph's. Anything but a plain dict is copied checkov's way."""
    return dict.copy(entity) if type(entity) is dict else pickle_deepcopy(entity)


# `pickle_deepcopy` has no other use in that module.
checkov.common.runners.base_runner.pickle_deepcopy = _entity_copy


class _Report:
    """A report checkov has encoded, as its text is written: the indented JSON report (≈14 MB at 2,000 resources)
    goes to the report file piece by piece as the encoder makes them, instead of as one string joined from
    millions of pieces, and the unindented one checkov makes beside it (for `--output-file-path` only) is made
    only if that file is written."""

    def __init__(self, encoder: CustomJSONEncoder, value: Any) -> None:
        self._encoder, self._value = encoder, value

    def write_to(self, stream: Any) -> None:
        # CustomJSONEncoder.encode: its top-level keys made strings, then JSONEncoder.encode's pieces.
        for chunk in self._encoder.iterencode(self._encoder._encode(self._value), _one_shot=True):
            stream.write(chunk)

    def text(self) -> str:
        return CustomJSONEncoder.encode(self._encoder, self._value)


class _ReportEncoder(CustomJSONEncoder):
    """checkov's encoder for the reports it prints (`runner_registry`'s only use of it): a `_Report` instead of its
    text, which `_print_to_console` and `save_output_to_file` below write as the text."""

    def encode(self, o: Any) -> Any:
        return _Report(self, o)


_print_to_console = RunnerRegistry._print_to_console
_save_output_to_file = RunnerRegistry.save_output_to_file


def _print_report(
    self: RunnerRegistry, output_formats: dict[str, str], output_format: str, output: Any, *args: Any, **kwargs: Any
) -> None:
    if isinstance(output, _Report):
        if output_formats[output_format] == CONSOLE_OUTPUT:
            output.write_to(sys.stdout)
            output = ""  # what is left to print: the newline after the report
        else:
            output = output.text()
    _print_to_console(self, output_formats, output_format, output, *args, **kwargs)


def _save_report(self: RunnerRegistry, file_name: str, data: Any, data_format: str) -> None:
    _save_output_to_file(self, file_name, data.text() if isinstance(data, _Report) else data, data_format)


checkov.common.runners.runner_registry.CustomJSONEncoder = _ReportEncoder
RunnerRegistry._print_to_console = _print_report
RunnerRegistry.save_output_to_file = _save_report


def _str(value: str) -> StrNode:
    """A StrNode with no marks of its own, without its Python-level __new__/__init__."""
    return str.__new__(StrNode, value)


def _node(value: Any, line: int, column: int, depth: int, lines: list[str], filename: str) -> tuple[Any, int]:
    """`value` as checkov's YAML loader builds it, placed where `json.dumps(indent=1)` puts it: starting at
    (`line`, `column`), nested `depth` deep. Returns the node and the line it ends on."""
    if isinstance(value, str):
        return _str(value), line
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value, line
    if isinstance(value, float):
        text = json.dumps(value)
        # YAML 1.1 reads a number without a decimal point (1e-05, NaN, Infinity) as a string.
        return (value if "." in text else _str(text)), line
    indent = depth + 1
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        end = line
        for key, item in value.items():
            end += 1
            encoded = len(encode_basestring_ascii(key))
            key_node = _str(key)
            out[key_node], end = _node(item, end, indent + encoded + 2, indent, lines, filename)
        if value:
            end += 1
        _check_close(lines, line, end, depth, ("{", "}"), bool(value))
        out["__file__"] = filename
        out["__startline__"] = line + 1
        out["__endline__"] = end + 1
        return DictNode(out, Mark(line, column), Mark(end, depth + 1 if value else column + 2)), end
    if isinstance(value, list):
        items: list[Any] = []
        end = line
        for item in value:
            node, end = _node(item, end + 1, indent, indent, lines, filename)
            items.append(node)
        if value:
            end += 1
        _check_close(lines, line, end, depth, ("[", "]"), bool(value))
        return ListNode(items, Mark(line, column), Mark(end, depth + 1 if value else column + 2)), end
    raise _Layout(f"unexpected JSON value {type(value).__name__}")


def _check_close(lines: list[str], start: int, end: int, depth: int, brackets: tuple[str, str], items: bool) -> None:
    """The value opened on line `start` closes on line `end`, at `depth`, as `json.dumps(indent=1)` closes it."""
    opening, closing = brackets
    if end >= len(lines):
        raise _Layout("the file ends before the value does")
    if items:
        if not lines[start].rstrip().endswith(opening) or lines[end].rstrip().rstrip(",") != " " * depth + closing:
            raise _Layout(f"line {end + 1} does not close a value opened on line {start + 1} at depth {depth}")
    elif opening + closing not in lines[start]:
        raise _Layout(f"line {start + 1} has no empty {opening}{closing}")


_checkov_load = cfn_yaml.load


def load_plan(filename: str | Path, content_type: cfn_yaml.ContentType | None) -> tuple[Any, list[tuple[int, str]]]:
    """`cfn_yaml.load` for a Terraform plan: the same template (DictNode, ListNode and StrNode with the same
    marks, `__file__`, `__startline__` and `__endline__` on every mapping) and the same lines, from `json.loads`
    when the file is laid out as preflight writes it; anything else is checkov's own loader's to read."""
    path = Path(filename)
    if content_type != cfn_yaml.ContentType.TFPLAN or path.suffix != ".json":
        return _checkov_load(filename, content_type)
    content = read_file_with_any_encoding(path)
    if "planned_values" not in content or len(content) > MAX_IAC_FILE_SIZE or not content.isascii():
        return _checkov_load(filename, content_type)
    lines = content.splitlines()
    try:
        template, end = _node(json.loads(content), 0, 0, 0, lines, str(filename))
        if end != len(lines) - 1:
            raise _Layout("text after the value")
    except (ValueError, _Layout):  # not JSON, or not this layout: checkov's loader reports or reads it
        return _checkov_load(filename, content_type)
    return template, [(idx + 1, line) for idx, line in enumerate(content.splitlines(keepends=True))]


cfn_yaml.load = load_plan


def scan(argv: list[str], cwd: str) -> int:
    os.chdir(cwd)  # first: some runners read the working directory when they are made
    with (
        open(os.path.join(cwd, "checkov-report.json"), "w") as out,
        open(os.path.join(cwd, "checkov-stderr.txt"), "w") as err,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            gc.disable()
            code = Checkov(argv).run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception:  # noqa: BLE001 - any failure is the job's exit code 2, with its traceback
            traceback.print_exc()
            code = 2
        finally:
            # checkov's runners are module-level instances that keep what they parsed (the plan runner skips
            # parsing when it already holds definitions): each job's are replaced when it ends, so no job sees an
            # earlier one's, and its plan and graph are freed before the next stack's arrive.
            checkov.main.DEFAULT_RUNNERS[:] = [type(runner)() for runner in checkov.main.DEFAULT_RUNNERS]
            gc.enable()
            gc.collect()
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
