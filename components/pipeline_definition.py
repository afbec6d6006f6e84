"""Offline checks of a SageMaker Pipelines definition, before SageMaker sees it.

Three layers: the JSON schema of the definition format (`schemas/sagemaker-pipeline-definition.schema.json`), each
job step's arguments against the SageMaker request shape botocore ships (`CreateTrainingJob`, ...), and the
references between steps (`Get` paths name declared parameters, earlier steps and their property files).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sagemaker-pipeline-definition.schema.json"

STEP_REQUESTS = {
    "Training": ("CreateTrainingJob", {"TrainingJobName": "pipelines-check"}),
    "Processing": ("CreateProcessingJob", {"ProcessingJobName": "pipelines-check"}),
    "RegisterModel": ("CreateModelPackage", {}),
}
"""Step type -> the SageMaker operation its arguments are the request of, plus what the service fills in."""
FUNCTIONS = ("Get", "Std:Join", "Std:JsonGet")
RUNTIME_VALUE = "s3://resolved-at-run-time/value"
"""Stands in for a pipeline function when a step's request is checked (every one here sits in a string field)."""


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def walk_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step, including those nested in condition branches."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from walk_steps(arguments.get("IfSteps", []))
            yield from walk_steps(arguments.get("ElseSteps", []))


def _functions(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in FUNCTIONS:
            yield value
        for item in value.values():
            yield from _functions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _functions(item)


def _resolved(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in FUNCTIONS:
            return RUNTIME_VALUE
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def schema_problems(definition: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(_validator().iter_errors(definition), key=lambda e: list(map(str, e.absolute_path)))
    ]


def request_problems(definition: dict[str, Any]) -> list[str]:
    """Each job step's arguments validated as the SageMaker request they become (botocore's service model)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    problems = []
    for step in walk_steps(definition.get("Steps", [])):
        if step.get("Type") not in STEP_REQUESTS:
            continue
        operation, filled_in = STEP_REQUESTS[step["Type"]]
        request = {**_resolved(step.get("Arguments", {})), **filled_in}
        report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
        if report.has_errors():
            problems.append(f"step {step.get('Name')} ({operation}): {report.generate_report()}")
    return problems


def reference_problems(definition: dict[str, Any]) -> list[str]:
    """`Get` paths and `DependsOn` name what exists: parameters, other steps, their property files."""
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    steps = list(walk_steps(definition.get("Steps", [])))
    names = [s.get("Name") for s in steps]
    problems = [f"step name {n!r} is used twice" for n in sorted({str(n) for n in names if names.count(n) > 1})]
    property_files = {s.get("Name"): {p["PropertyFileName"] for p in s.get("PropertyFiles", [])} for s in steps}
    for step in steps:
        for dependency in step.get("DependsOn", []):
            if dependency not in property_files or dependency == step.get("Name"):
                problems.append(f"step {step.get('Name')}: DependsOn {dependency!r} is not another step")
        for function in _functions(step.get("Arguments", {})):
            if "Get" not in function:
                continue
            parts = function["Get"].split(".")
            if parts[0] == "Parameters" and parts[1] not in parameters:
                problems.append(f"step {step.get('Name')}: Get {function['Get']!r}: no parameter {parts[1]!r}")
            elif parts[0] == "Steps":
                target = parts[1]
                if target not in property_files or target == step.get("Name"):
                    problems.append(f"step {step.get('Name')}: Get {function['Get']!r}: no other step {target!r}")
                elif len(parts) > 3 and parts[2] == "PropertyFiles" and parts[3] not in property_files[target]:
                    problems.append(
                        f"step {step.get('Name')}: Get {function['Get']!r}: step {target} has no property file "
                        f"{parts[3]!r}"
                    )
    return problems


def definition_problems(definition: dict[str, Any]) -> list[str]:
    """Every problem the three checks find; empty when the definition is sound."""
    problems = schema_problems(definition)
    if problems:
        return problems
    return request_problems(definition) + reference_problems(definition)
