"""A project with its own virtualenv runs in that interpreter, over the Pulumi resource-monitor protocol, and gets
the same graph it would get in-process; its own pulumi-aws version is the one used and recorded."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from preflight.engine import ProgramError, RunOptions, run_program, run_stack
from preflight.model import stack_json
from preflight.project import ProjectError, load_project
from preflight.testing import REPO

OWN_VENV = REPO / "tests" / "fixtures" / "own_venv"
AWS_6 = "pulumi-aws==6.83.0"


def _project(tmp_path: Path, main: str | None = None) -> Path:
    """The fixture project in `tmp_path`, with a virtualenv that sees the shared environment's packages."""
    project = tmp_path / "own_venv"
    shutil.copytree(OWN_VENV, project)
    if main is not None:
        (project / "__main__.py").write_text(main)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / "venv")], check=True)
    site = Path(
        subprocess.run(
            [
                str(project / "venv" / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "shared-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return project


def _comparable(result) -> dict:
    doc = stack_json(result)
    doc["outputs"].pop("interpreter")  # the one difference: which interpreter ran it
    for record in doc["resources"]:
        record["outputs"].pop("interpreter", None)
    return {k: doc[k] for k in ("resources", "outputs", "violations", "notChecked")}


def test_the_program_runs_in_the_projects_interpreter_and_records_the_same_graph(tmp_path):
    project = load_project(_project(tmp_path))
    result = run_stack(project, "dev")
    assert result.outputs["interpreter"] == str(project.virtualenv)
    assert result.runtime["python"] == str(project.virtualenv / "bin" / "python")
    assert result.runtime["packages"]["pulumi_aws"] == result.outputs["awsVersion"]
    assert stack_json(result)["runtime"]["packages"]["pulumi_aws"] == result.outputs["awsVersion"]

    config = project.stack_config("dev")
    in_process = run_program(
        lambda: __import__("runpy").run_path(str(project.entry), run_name="__main__"),
        project=project.name,
        stack="dev",
        config=config.values,
        cwd=project.dir,
    )
    assert _comparable(result) == _comparable(in_process)


def test_a_program_error_in_the_child_is_one_line_at_the_programs_line(tmp_path):
    main = "import pulumi_aws as aws\n\naws.s3.Bucket('logs', opts={'protect': True})\n"
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(_project(tmp_path, main)), "dev")
    assert info.value.lines == [
        "the program failed: TypeError: Expected opts2 to be a ResourceOptions instance at __main__.py:3"
    ]


def test_a_data_source_the_child_calls_that_cannot_be_answered_names_its_line_and_the_flag(tmp_path):
    main = "import pulumi_aws as aws\n\naws.ec2.get_instance_type(instance_type='t3.micro')\n"
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(_project(tmp_path, main)), "dev")
    (line,) = info.value.lines
    assert line.startswith(
        "preflight cannot answer the data source 'aws:ec2/getInstanceType:getInstanceType' (called at __main__.py:3)"
    )


def test_a_hanging_child_is_killed_at_the_timeout(tmp_path):
    main = "import time\n\ntime.sleep(3600)\n"
    with pytest.raises(ProgramError) as info:
        run_stack(load_project(_project(tmp_path, main)), "dev", options=RunOptions(timeout=2))
    assert info.value.lines == ["the program did not finish within 2 s (--timeout); stopped"]


def test_fails_when_the_virtualenv_is_missing_naming_the_path_and_the_command(tmp_path):
    project = tmp_path / "own_venv"
    shutil.copytree(OWN_VENV, project)
    with pytest.raises(ProjectError) as info:
        run_stack(load_project(project), "dev")
    assert str(info.value) == (
        f"{project / 'Pulumi.yaml'}: the project's virtualenv {project / 'venv'} has no interpreter "
        f"({project / 'venv' / 'bin' / 'python'} does not exist); create it in {project} with: "
        f"python -m venv {project / 'venv'} && {project / 'venv'}/bin/pip install -r requirements.txt"
    )


def test_uv_and_poetry_projects_use_their_in_project_venv_and_others_run_in_process(tmp_path):
    (tmp_path / "__main__.py").write_text("")
    for toolchain in ("uv", "poetry"):
        (tmp_path / "Pulumi.yaml").write_text(
            f"name: p\nruntime:\n  name: python\n  options:\n    toolchain: {toolchain}\n"
        )
        assert load_project(tmp_path).virtualenv == tmp_path / ".venv"
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    assert load_project(tmp_path).virtualenv is None


def test_fails_when_the_toolchain_is_not_one_pulumi_knows(tmp_path):
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime:\n  name: python\n  options:\n    toolchain: conda\n")
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path)
    assert (
        str(info.value)
        == f"{tmp_path / 'Pulumi.yaml'}: runtime.options.toolchain = 'conda': must be one of pip, uv, poetry"
    )


@pytest.mark.slow
def test_a_project_pinned_to_pulumi_aws_6_renders_with_its_own_version(tmp_path):
    wheels = tmp_path / "wheels"
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels), AWS_6],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if download.returncode != 0:
        pytest.skip(f"cannot download {AWS_6} from the package registry: {download.stderr.strip()[-200:]}")
    project = _project(tmp_path)
    site = next((project / "venv" / "lib").glob("python3*/site-packages"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            *map(str, wheels.iterdir()),
        ],
        check=True,
        timeout=900,
    )
    result = run_stack(load_project(project), "dev")
    assert result.outputs["awsVersion"] == "6.83.0"
    assert result.runtime["packages"]["pulumi_aws"] == "6.83.0"
    assert result.one("pulumi:providers:aws").name == "default_6_83_0"


def test_a_virtualenv_that_is_preflights_own_runs_in_process(monkeypatch):
    calls = []
    monkeypatch.setattr("preflight.venv_host.run_in_virtualenv", lambda *a, **k: calls.append(a))
    project = load_project(REPO)
    assert project.virtualenv == (REPO / ".venv").resolve()
    assert run_stack(project, "dev").runtime["python"] == sys.executable
    assert calls == []
