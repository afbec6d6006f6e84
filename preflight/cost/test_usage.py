"""Usage files: validated like stack config, one line per problem naming the file, key, value and what is allowed."""

import pytest

from preflight.cost.usage import UsageError, load, parse, unmatched
from preflight.model import ResourceRecord, StackResult

ORIGIN = "usage/dev.yaml"


def problems(document) -> list[str]:
    with pytest.raises(UsageError) as error:
        parse(document, ORIGIN)
    return error.value.problems


def test_usage_file_becomes_the_estimators_sections():
    usage = parse({"natGateways": {"nat": {"dataProcessedGb": 50}}, "nodeGroups": {"gpu": {}}}, ORIGIN)
    sections = usage.sections()
    assert sections["natGateways"] == {"nat": {"dataProcessedGb": 50.0}}
    assert sections["nodeGroups"] == {"gpu": {}}  # averageNodes unset: the desired size stands


def test_fails_when_a_section_is_unknown():
    assert problems({"natGateway": {}}) == [
        (
            "usage/dev.yaml: natGateway: unknown key; did you mean 'natGateways'? (allowed: nodeGroups, nodePools, "
            "natGateways, vpcEndpoints, endpoints, kmsKeys, logGroups, buckets, replications, "
            "repositories, topics, eventBuses, queues, buildProjects, pipelines)"
        )
    ]


def test_fails_when_a_field_is_unknown():
    assert problems({"logGroups": {"logs": {"ingestGb": 5}}}) == [
        "usage/dev.yaml: logGroups.logs.ingestGb: unknown key; did you mean 'ingestedGb'? (allowed: ingestedGb, storedGb)"
    ]


def test_fails_when_a_figure_is_negative():
    assert problems({"buckets": {"data": {"standardGb": -1}}}) == [
        "usage/dev.yaml: buckets.data.standardGb = -1: must be greater than or equal to 0"
    ]


def test_fails_when_a_figure_is_not_a_number():
    assert problems({"endpoints": {"ep": {"requests": "lots"}}}) == [
        "usage/dev.yaml: endpoints.ep.requests = 'lots': must be a valid number, unable to parse string as a number"
    ]


def test_fails_when_the_file_is_not_a_mapping():
    assert problems(["nodeGroups"])[0].startswith("usage/dev.yaml: must be a mapping of usage sections (allowed: ")


def test_fails_when_the_file_is_not_yaml(tmp_path):
    (tmp_path / "usage").mkdir()
    (tmp_path / "usage" / "dev.yaml").write_text("nodeGroups: [\n")
    with pytest.raises(UsageError) as error:
        load(tmp_path, "dev")
    assert error.value.problems[0].startswith("usage/dev.yaml: not valid YAML at line ")


def test_no_usage_file_means_no_usage(tmp_path):
    usage, origin = load(tmp_path, "dev")
    assert origin is None and not any(usage.sections().values())


def test_fails_when_an_entry_names_no_resource_of_its_type():
    result = StackResult(
        "p", "dev", resources=[ResourceRecord("urn:nat", "aws:ec2/natGateway:NatGateway", "nat-a", True)]
    )
    usage = parse({"natGateways": {"nat-b": {"dataProcessedGb": 1}}}, ORIGIN)
    assert unmatched(usage, result, ORIGIN) == [
        "usage/dev.yaml: natGateways.nat-b: no aws:ec2/natGateway:NatGateway named 'nat-b' in stack dev (have: nat-a)"
    ]
