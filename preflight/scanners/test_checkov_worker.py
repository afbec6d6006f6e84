"""The checkov worker reports exactly what the checkov command reports, on the same inputs, job after job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from preflight.scanners import checkov, load_config
from preflight.scanners.conftest import scanner_program
from preflight.testing import REPO, render, render_stack

pytestmark = pytest.mark.skipif(
    not (REPO / checkov.VENV_NAME).exists(), reason=f"{checkov.VENV_NAME} is not built (`make install` builds it)"
)


def outcomes(reports: list[dict]) -> set[tuple[str, str, str, str, tuple[int, ...]]]:
    """(framework, check, resource or file, passed/failed, lines) for every check result in the reports."""
    out = set()
    for report in reports:
        for state in ("passed_checks", "failed_checks"):
            for check in report["results"].get(state) or []:
                where = check.get("resource_address") or check.get("resource") or Path(check.get("file_path", "")).name
                lines = tuple(check.get("file_line_range") or ())
                out.add((report.get("check_type", ""), check["check_id"], where, state, lines))
    return out


# The worker is given its inputs' paths relative to its directory, which checkov reports differently for a
# directory of manifests; `outcomes` compares each file's name.
_PATHS = {"file_path", "file_abs_path", "repo_file_path"}


def normalised(reports: list[dict], root: Path) -> list[Any]:
    """The reports with `root` written as <root>, results' paths left out and every list sorted: checkov lists
    results, and the keys a check evaluated, in an order that changes from run to run."""

    def sort(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: sort(item) for key, item in value.items() if key not in _PATHS}
        if isinstance(value, list):
            return sorted((sort(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
        return value

    return sort(json.loads(json.dumps(reports).replace(str(root), "<root>")))


@pytest.mark.slow
def test_worker_reports_what_the_checkov_command_reports(tmp_path):
    exe = checkov.locate(REPO)
    stacks = {"fixture": render(scanner_program), "dev": render_stack("dev")}
    for name, result in stacks.items():
        command_dir, worker_dir = tmp_path / name / "command", tmp_path / name / "worker"
        command_dir.mkdir(parents=True)
        plan_file, k8s_dir = checkov.write_inputs(checkov._prepare(result), command_dir)
        shutil.copytree(command_dir, worker_dir, dirs_exist_ok=True)
        cmd = checkov.command(exe, plan_file, k8s_dir)
        command_reports = checkov.run_checkov(cmd, command_dir)
        by_command = outcomes(command_reports)
        # The worker is given the same arguments, relative to its own copy of the inputs.
        relative = [str(Path(a).relative_to(command_dir)) if a.startswith(str(command_dir)) else a for a in cmd]
        worker_reports = checkov.Running(relative, worker_dir).reports()
        by_worker = outcomes(worker_reports)
        assert by_command, f"{name}: checkov reported nothing to compare"
        assert by_worker == by_command, name
        # Everything else in the reports too: each result's resource, evaluated keys, lines, summaries.
        assert normalised(worker_reports, worker_dir) == normalised(command_reports, command_dir), name


def test_worker_failure_is_reported_not_taken_for_a_clean_scan(tmp_path):
    exe = checkov.locate(REPO)
    running = checkov.Running([str(exe), "--framework", "no-such-framework"], tmp_path)
    with pytest.raises(checkov.CheckovFailed, match="checkov exited with 2"):
        running.reports()


def test_unreadable_plan_is_a_failed_scan_not_a_clean_one(tmp_path):
    result = render(scanner_program)
    inputs = checkov._prepare(result)
    (tmp_path / "plan.json").write_text("not a plan")
    running = checkov.Running(checkov.command(checkov.locate(REPO), tmp_path / "plan.json", None), tmp_path)
    pending = checkov.PendingScan(result, load_config(), inputs, running)
    with pytest.raises(
        checkov.CheckovFailed, match=r"reported on none of the resources it was given \(\d+ terraform_plan"
    ):
        pending.violations()


def test_a_scan_after_an_unreadable_plan_still_reads_its_own(tmp_path):
    # checkov's runners keep what they parsed; the worker gives every job new ones.
    result = render(scanner_program)
    inputs = checkov._prepare(result)
    exe = checkov.locate(REPO)
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    (bad / "plan.json").write_text("not a plan")
    good.mkdir()
    plan_file, _ = checkov.write_inputs(inputs, good)
    checkov.Running(checkov.command(exe, bad / "plan.json", None), bad).reports()
    reports = checkov.Running(checkov.command(exe, plan_file, None), good).reports()
    assert outcomes(reports), "the second scan reported nothing: it saw the first scan's (empty) definitions"


# Run by checkov's interpreter: the worker's plan loader against checkov's own, node by node, the marks of mappings
# and lists included; strings carry the shared mark with no position (checkov's plan runner reads no string's).
_SAME_AS_CHECKOV = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("checkov_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
from checkov.cloudformation.parser.cfn_yaml import ContentType
from checkov.common.parsers.node import StrNode

def same(a, b, path):
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(b, StrNode) and not a.__dict__:  # the worker's: no marks of its own
        assert "start_mark" in b.__dict__, f"{path}: checkov's loader left a string unmarked"
        assert a.start_mark is a.end_mark is worker.UNMARKED, f"{path}: not the shared mark"
        unmarked[0] += 1
    for mark in ("start_mark", "end_mark"):
        if mark in getattr(a, "__dict__", {}) or (mark in getattr(b, "__dict__", {}) and not isinstance(b, StrNode)):
            got, want = getattr(a, mark), getattr(b, mark)
            assert (got.line, got.column) == (want.line, want.column), f"{path} {mark}"
    if isinstance(b, dict):
        assert list(a) == list(b), f"{path}: keys"
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            same(ka, kb, f"{path} key {kb}")
            same(va, vb, f"{path}.{kb}")
    elif isinstance(b, list):
        assert len(a) == len(b), f"{path}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"

unmarked = [0]
for name in sys.argv[2:]:
    mine, theirs = worker.load_plan(name, ContentType.TFPLAN), worker._checkov_load(name, ContentType.TFPLAN)
    assert theirs[0], f"checkov read nothing from {name}"
    assert mine[1] == theirs[1], f"{name}: lines"
    same(mine[0], theirs[0], name)
    print("same", name, "unmarked strings:", unmarked[0])
    unmarked[0] = 0
"""


def _compare_loaders(*files: Path) -> list[int]:
    """Compares the loaders on each file; returns how many strings of each the worker's loader left unmarked."""
    python = checkov.locate(REPO).parent / "python"
    worker = Path(checkov.__file__).with_name("checkov_worker.py")
    proc = subprocess.run(
        [str(python), "-P", "-c", _SAME_AS_CHECKOV, str(worker), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **checkov._OFFLINE_ENV},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("same ") == len(files)
    return [int(line.rsplit(" ", 1)[1]) for line in proc.stdout.splitlines()]


def test_plan_loader_builds_what_checkovs_yaml_loader_builds_on_awkward_values(tmp_path):
    # Numbers YAML reads as strings (no decimal point), empty and nested containers, escapes, a key YAML would
    # take for a merge if it were not quoted, and an unknown-looking key layout.
    document = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {"resources": []},
            "numbers": [1, -3, 10**30, 2.5, 1e-05, 1.5e20, -0.0, float("nan"), float("inf"), True, False, None],
            "strings": ["", "plain", 'quote " and \\ backslash', "caf\u00e9", "tab\tnewline\n", "{not a dict}"],
            "empty": [{}, [], {"a": []}, [[{}]], {"b": {}}],
        },
        "<<": {"c": "d"},
        "__file__": "a key checkov also sets",
    }
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document, indent=1))
    assert _compare_loaders(plan)[0] > 0, "the worker's own loader did not read it"


@pytest.mark.slow
def test_plan_loader_builds_what_checkovs_yaml_loader_builds_on_rendered_stacks(tmp_path):
    plans = []
    for name, result in {"fixture": render(scanner_program), "dev": render_stack("dev")}.items():
        (tmp_path / name).mkdir()
        plan_file, _ = checkov.write_inputs(checkov._prepare(result), tmp_path / name)
        assert plan_file is not None
        plans.append(plan_file)
    assert all(_compare_loaders(*plans)), "the worker's own loader did not read every plan"


def test_plan_laid_out_otherwise_is_read_by_checkovs_own_loader(tmp_path):
    # One line, not preflight's layout: the fast path must not guess the lines, checkov's loader reads it.
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "planned_values": {"root_module": {"resources": []}}}))
    assert _compare_loaders(plan) == [0], "checkov's loader's strings have marks of their own"


_COPIES = r"""
import copy, importlib.util, pickle, sys
spec = importlib.util.spec_from_file_location("checkov_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
from checkov.common.parsers.json.decoder import Mark
from checkov.common.parsers.node import DictNode, StrNode

unmarked = worker._str("value")
marked = StrNode("value", Mark(3, 4), Mark(3, 11))
tree = DictNode({worker._str("key"): unmarked, "other": marked}, Mark(0, 0), Mark(5, 1))
copied = copy.deepcopy(tree)
key = next(iter(copied))
assert type(key) is StrNode and key.start_mark is worker.UNMARKED, "an unmarked key lost its type or mark"
assert copied[key] is unmarked, "an unmarked string was copied"
assert type(copied["other"]) is StrNode and copied["other"] is not marked, "a marked string was not copied"
assert (copied["other"].start_mark.line, copied["other"].end_mark.column) == (3, 11), "a marked string lost its marks"
assert (copied.start_mark.line, copied.end_mark.line) == (0, 5), "the mapping lost its marks"
restored = pickle.loads(pickle.dumps(tree))
assert type(restored["other"]) is StrNode and restored["other"].start_mark.line == 3
assert all(type(k) is StrNode and k.start_mark is worker.UNMARKED for k in restored if k != "other")
assert type(restored[next(iter(restored))]) is StrNode and restored[next(iter(restored))].end_mark is worker.UNMARKED
try:
    worker.UNMARKED.line
except AttributeError:
    print("ok")
"""


def test_unmarked_plan_strings_copy_as_themselves_and_marked_ones_keep_their_marks():
    # checkov deep-copies (and pickles) resources; the worker's strings stay StrNodes with the shared mark, whose
    # line cannot be read, and strings from checkov's own loaders are copied with their own marks.
    assert _in_checkov(_COPIES) == "ok"


def _in_checkov(script: str) -> str:
    """Runs `script` with checkov's interpreter, given the worker's path; returns what it prints."""
    python = checkov.locate(REPO).parent / "python"
    worker = Path(checkov.__file__).with_name("checkov_worker.py")
    proc = subprocess.run(
        [str(python), "-P", "-c", script, str(worker)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **checkov._OFFLINE_ENV},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


_CONNECTED_NODES = r"""
import copy, importlib.util, sys
spec = importlib.util.spec_from_file_location("checkov_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
import checkov.common.runners.base_runner as base_runner
from checkov.common.runners.base_runner import BaseRunner
from checkov.common.util.data_structures_utils import pickle_deepcopy

class Check:
    def __init__(self, *types):
        self.sub_checks = [Sub(list(types))]

class Sub:
    def __init__(self, types):
        self.connected_resources_types, self.sub_checks = types, []

def run(copier):
    base_runner.pickle_deepcopy = copier
    entity = {
        "config_": {"bucket": ["b"], "tags": [{"Team": "t"}]},
        "connected_node": {("aws_s3_bucket_logging",): {"id": "log"}, ("aws_s3_bucket_versioning",): {"id": "ver"}},
    }
    before = copy.deepcopy(entity)
    checks = [Check("aws_s3_bucket_logging"), Check("aws_s3_bucket_versioning"), Check("aws_kms_key")]
    results = {check: [{"entity": entity, "result": "FAILED"}] for check in checks}
    BaseRunner._update_check_correct_connected_node(results)
    assert entity == before, "the graph's resource was changed"
    return [results[check][0] for check in checks]

mine, theirs = run(worker._entity_copy), run(pickle_deepcopy)
assert mine == theirs, (mine, theirs)
assert [r["entity"]["connected_node"] for r in mine] == [{"id": "log"}, {"id": "ver"}, None], mine
print("ok")
"""


def test_graph_check_results_each_keep_their_own_connected_node_without_copying_the_resource():
    # checkov pickles a graph check result's resource so that setting its connected node for one check does not
    # change another's; the worker copies the top-level mapping only: the same results, the resource unchanged.
    assert _in_checkov(_CONNECTED_NODES) == "ok"


_REPORT_TEXT = r"""
import contextlib, importlib.util, io, json, sys, tempfile
from pathlib import Path
from checkov.common.util.json_utils import CustomJSONEncoder
spec = importlib.util.spec_from_file_location("checkov_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
from checkov.common.runners import runner_registry
from checkov.common.runners.runner_registry import RunnerRegistry

report = {
    "check_type": "terraform_plan",
    ("a", "tuple"): "a key checkov joins",
    "results": {"failed_checks": [{"check_id": "CKV_AWS_1", "evaluated_keys": {"x"}, "lines": [1, 2]}]},
    "summary": {"passed": 1, "failed": 1, "text": "caf\u00e9, \"quoted\", tab\t"},
}
indented = json.dumps(report, indent=4, cls=runner_registry.CustomJSONEncoder)
plain = json.dumps(report, cls=runner_registry.CustomJSONEncoder)
assert not isinstance(indented, str) and not isinstance(plain, str), "encoded before it is written"
out = io.StringIO()
with contextlib.redirect_stdout(out):
    RunnerRegistry._print_to_console(None, {"json": "console"}, "json", indented)
assert out.getvalue() == json.dumps(report, indent=4, cls=CustomJSONEncoder) + "\n", out.getvalue()
with tempfile.TemporaryDirectory() as tmp:
    RunnerRegistry.save_output_to_file(None, f"{tmp}/results_json.json", plain, "json")
    assert Path(tmp, "results_json.json").read_text() == json.dumps(report, cls=CustomJSONEncoder)
print("ok")
"""


def test_reports_are_written_as_checkovs_encoder_writes_them():
    # The worker writes checkov's JSON report while encoding it, and encodes the unindented one only for a file:
    # the same text as checkov's encoder makes, printed or saved.
    assert _in_checkov(_REPORT_TEXT) == "ok"
