"""Reading stack files strictly: a repeated key or a YAML syntax error names the file, the line and the column."""

from pathlib import Path

import pytest

from preflight.project import ProjectError, load_project, read_strict_yaml
from preflight.testing import REPO


def project_with_stack(tmp_path: Path, stack_text: str):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text(stack_text)
    return load_project(tmp_path)


def test_fails_when_a_stack_file_repeats_a_key_naming_both_lines(tmp_path: Path):
    project = project_with_stack(
        tmp_path,
        "config:\n  aws:region: us-west-2\n  p:cluster:\n    a: 1\n  p:cluster:\n    b: 2\n",
    )
    with pytest.raises(ProjectError) as info:
        project.stack_config("dev")
    assert str(info.value) == (
        f"{tmp_path / 'Pulumi.dev.yaml'}:5:3: not valid YAML: duplicate key 'p:cluster' at line 5 (first at line 3); "
        "the second would silently replace the first, so merge them into one"
    )


def test_fails_when_a_nested_key_repeats(tmp_path: Path):
    project = project_with_stack(tmp_path, "config:\n  p:tags:\n    Owner: a\n    Owner: b\n")
    with pytest.raises(
        ProjectError, match=r"Pulumi\.dev\.yaml:4:5: .*duplicate key 'Owner' at line 4 \(first at line 3\)"
    ):
        project.stack_config("dev")


def test_fails_when_a_stack_file_is_not_yaml_naming_line_and_column(tmp_path: Path):
    project = project_with_stack(tmp_path, "config:\n  aws:region: us-west-2\n   p:tags: 3\n")
    with pytest.raises(ProjectError) as info:
        project.stack_config("dev")
    assert (
        str(info.value) == f"{tmp_path / 'Pulumi.dev.yaml'}:3:10: not valid YAML: mapping values are not allowed here"
    )


def test_merge_keys_may_repeat_what_they_merge(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {x: 1, y: 1}\nd:\n  <<: *b\n  x: 2\n")
    assert read_strict_yaml(path) == {"base": {"x": 1, "y": 1}, "d": {"x": 2, "y": 1}}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_shipped_stack_files_are_strictly_valid(stack: str):
    assert load_project(REPO).stack_config(stack).values["aws:region"]
