"""Offline policy evaluation behaves like the engine's analyzer: what rules are handed, how enforcement is
resolved, how config is checked; and it agrees with the pack's real analyzer server on the same stack."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from preflight.model import StackResult
from preflight.policy import (
    PolicyConfigError,
    evaluate,
    load_pack,
    load_pack_definition,
    parse_config,
    read_config_file,
    reconcile,
)
from preflight.policy_server import serve
from preflight.testing import render

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "policies"

# A pack whose rules report what they are handed, to see it from the outside.
PROBE_PACK = """
from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity,
                           StackValidationPolicy)

PACK_NAME = "probe"
ENFORCEMENT_LEVEL = {pack_level}


def _resource(args, report):
    if args.resource_type != "aws:sns/topic:Topic":
        return
    props = args.props
    report("props " + ",".join(sorted(props)))
    report("tagsAll " + repr(dict(props["tagsAll"])))
    report("protect " + repr(args.opts.protect) + " parent " + str(args.opts.parent).split("::")[-1])
    report("provider " + args.provider.resource_type + " region " + str(args.provider.props["region"]))
    report("stack tags " + repr(dict(args.stack_tags)))
    report("config " + repr(dict(args.get_config())))


def _stack(args, report):
    for r in args.resources:
        if r.resource_type == "aws:sns/topicSubscription:TopicSubscription":
            report("parent " + (r.parent.name if r.parent else "-"))
            report("dependencies " + ",".join(sorted(d.name for d in r.dependencies)))
            report("topicArn from " + ",".join(d.name for d in r.property_dependencies["topic"]))
        if r.resource_type == "aws:sns/topic:Topic":
            report("outputs id " + str(r.props["id"]) + " arn " + str(r.props["arn"]), r.urn)


POLICIES = [
    ResourceValidationPolicy(name="probe-resource", description="Reports what a resource rule sees.", validate=_resource,
                             severity=Severity.LOW, tags=["access"], remediation_steps="none",
                             config_schema=PolicyConfigSchema(properties={{"limit": {{"type": "integer", "minimum": 1, "default": 3}}}}),
                             enforcement_level={policy_level}),
    StackValidationPolicy(name="probe-stack", description="Reports what a stack rule sees.", validate=_stack,
                          severity=Severity.HIGH, tags=["cost"], remediation_steps="none"),
]


def build_policies():
    return list(POLICIES)
"""


def probe_pack(tmp_path: Path, pack_level: str = "EnforcementLevel.MANDATORY", policy_level: str = "None") -> Path:
    directory = tmp_path / "probe"
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 1.2.3\n")
    (directory / "pack.py").write_text(PROBE_PACK.format(pack_level=pack_level, policy_level=policy_level))
    return directory


def probe_program() -> None:
    provider = aws.Provider("aws", region="eu-west-1", default_tags=aws.ProviderDefaultTagsArgs(tags={"Owner": "team"}))
    group = pulumi.ComponentResource("test:index:Alerts", "alerts")
    topic = aws.sns.Topic(
        "alarms", tags={"Project": "p"}, opts=pulumi.ResourceOptions(provider=provider, parent=group, protect=True)
    )
    queue = aws.sqs.Queue("q", opts=pulumi.ResourceOptions(provider=provider))
    aws.sns.TopicSubscription(
        "sub",
        topic=topic.arn,
        protocol="sqs",
        endpoint=queue.arn,
        opts=pulumi.ResourceOptions(provider=provider, parent=group, depends_on=[queue]),
    )


@pytest.fixture(scope="module")
def probe_result() -> StackResult:
    return render(probe_program)


def messages(violations, policy):
    return [v.message for v in violations if v.policy == policy]


# ---- what rules are handed -----------------------------------------------------------------------------------


def test_resource_rules_get_checked_inputs_options_provider_stack_tags_and_settings(tmp_path, probe_result):
    found = evaluate(probe_result, probe_pack(tmp_path), config={"probe-resource": {"limit": 5}})
    topic = probe_result.one("aws:sns/topic:Topic")
    assert messages(found, "probe-resource") == [
        # The provider's Check adds the auto-name and tagsAll (default tags merged in) to the inputs.
        "props name,tags,tagsAll",
        "tagsAll {'Owner': 'team', 'Project': 'p'}",
        "protect True parent alerts",
        "provider pulumi:providers:aws region eu-west-1",
        "stack tags {'pulumi:project': 'test', 'pulumi:runtime': 'python'}",
        # Settings arrive as the engine's Struct carries them: numbers as floats.
        "config {'limit': 5.0}",
    ]
    assert {v.urn for v in found if v.policy == "probe-resource"} == {topic.urn}


def test_stack_rules_get_outputs_with_parent_and_dependencies(tmp_path, probe_result):
    found = evaluate(probe_result, probe_pack(tmp_path))
    topic = probe_result.one("aws:sns/topic:Topic")
    assert messages(found, "probe-stack") == [
        f"outputs id {topic.id} arn {topic.outputs['arn']}",
        "parent alerts",
        "dependencies alarms,q",
        "topicArn from alarms",
    ]


ISOLATION_PACK = """
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

PACK_NAME = "isolation"


def _write(args, report):
    if args.resource_type == "aws:sns/topic:Topic":
        args.props["name"] = "written"
        args.props["tags"]["Project"] = "written"
        args.opts.protect = False
        report("wrote " + args.props["name"] + " " + args.props["tags"]["Project"])


def _read(args, report):
    if args.resource_type == "aws:sns/topic:Topic":
        report("sees " + args.props["name"].split("-")[0] + " " + args.props["tags"]["Project"] + " protect " + repr(args.opts.protect))


def _write_stack(args, report):
    for r in args.resources:
        if r.resource_type == "aws:sns/topic:Topic":
            r.props["arn"] = "written"
            r.props["tags"]["Project"] = "written"


def _read_stack(args, report):
    for r in args.resources:
        if r.resource_type == "aws:sns/topic:Topic":
            report("sees " + r.props["arn"].split(":")[2] + " " + r.props["tags"]["Project"] + " parent " + r.parent.name)


def build_policies():
    return [
        ResourceValidationPolicy(name="a-write", description="Writes through its proxy.", validate=_write),
        ResourceValidationPolicy(name="b-read", description="Reads after a-write.", validate=_read),
        StackValidationPolicy(name="c-write", description="Writes through its proxies.", validate=_write_stack),
        StackValidationPolicy(name="d-read", description="Reads after c-write.", validate=_read_stack),
    ]
"""


def test_each_policy_gets_its_own_properties_and_options(tmp_path, probe_result):
    # The analyzer deserialises a resource afresh for every policy; what one policy writes, the next never sees.
    pack = tmp_path / "isolation"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (pack / "pack.py").write_text(ISOLATION_PACK)
    found = evaluate(probe_result, pack)
    assert messages(found, "a-write") == ["wrote written written"]
    assert messages(found, "b-read") == ["sees alarms p protect True"]
    assert messages(found, "d-read") == ["sees sns p parent alerts"]
    topic = probe_result.one("aws:sns/topic:Topic")
    assert topic.inputs["tags"] == {"Project": "p"} and topic.outputs["tags"] == {"Project": "p"}


def test_violations_carry_policy_metadata(tmp_path, probe_result):
    found = [v for v in evaluate(probe_result, probe_pack(tmp_path)) if v.policy == "probe-stack" and v.urn]
    (v,) = found
    assert (v.source, v.category, v.severity, v.enforcement, v.name, v.remediation) == (
        "policy-pack",
        "cost",
        "high",
        "mandatory",
        "alarms",
        "none",
    )


# ---- enforcement levels --------------------------------------------------------------------------------------


def levels(violations) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for v in violations:
        out.setdefault(v.policy, set()).add(v.enforcement)
    return out


def test_pack_default_applies_to_policies_without_a_level(tmp_path, probe_result):
    pack = probe_pack(tmp_path, pack_level="EnforcementLevel.ADVISORY")
    assert levels(evaluate(probe_result, pack)) == {"probe-resource": {"advisory"}, "probe-stack": {"advisory"}}


def test_policy_level_wins_over_pack_default(tmp_path, probe_result):
    pack = probe_pack(tmp_path, pack_level="EnforcementLevel.ADVISORY", policy_level="EnforcementLevel.MANDATORY")
    assert levels(evaluate(probe_result, pack)) == {"probe-resource": {"mandatory"}, "probe-stack": {"advisory"}}


def test_config_level_wins_over_policy_level(tmp_path, probe_result):
    pack = probe_pack(tmp_path, policy_level="EnforcementLevel.MANDATORY")
    found = evaluate(probe_result, pack, config={"probe-resource": {"enforcementLevel": "advisory"}})
    assert levels(found) == {"probe-resource": {"advisory"}, "probe-stack": {"mandatory"}}


def test_all_sets_every_policy_and_named_entries_override_it(tmp_path, probe_result):
    pack = probe_pack(tmp_path)
    found = evaluate(probe_result, pack, config={"all": "advisory", "probe-stack": "mandatory"})
    assert levels(found) == {"probe-resource": {"advisory"}, "probe-stack": {"mandatory"}}


def test_disabled_policies_do_not_run_and_remediate_reports_as_mandatory(tmp_path, probe_result):
    pack = probe_pack(tmp_path, pack_level="EnforcementLevel.ADVISORY")
    found = evaluate(probe_result, pack, config={"probe-resource": "disabled", "probe-stack": "remediate"})
    assert levels(found) == {"probe-stack": {"mandatory"}}


def test_config_file_is_read_like_the_cli_reads_it(tmp_path, probe_result):
    config = tmp_path / "dev.json"
    config.write_text(json.dumps({"probe-stack": {"enforcementLevel": "disabled"}}))
    assert levels(evaluate(probe_result, probe_pack(tmp_path), config)) == {"probe-resource": {"mandatory"}}


# ---- config errors -------------------------------------------------------------------------------------------


def config_problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "stack.json"
    path.write_text(text)
    with pytest.raises(PolicyConfigError) as info:
        evaluate(StackResult(project="p", stack="s"), PACK, path)
    return [line.replace(str(path), "stack.json") for line in info.value.problems]


def test_fails_when_config_is_not_json(tmp_path):
    assert config_problems(tmp_path, '{"nat-gateway-cap": }') == [
        "stack.json: not valid JSON: Expecting value at line 1 column 21"
    ]


def test_fails_when_enforcement_level_is_not_known(tmp_path):
    assert config_problems(tmp_path, '{"nat-gateway-cap": "blocking"}') == [
        "stack.json: nat-gateway-cap = 'blocking': not an enforcement level; allowed: advisory, mandatory, remediate, disabled"
    ]
    assert config_problems(tmp_path, '{"nat-gateway-cap": {"enforcementLevel": 1}}') == [
        "stack.json: nat-gateway-cap.enforcementLevel = 1: not an enforcement level; allowed: advisory, mandatory, remediate, disabled"
    ]


def test_fails_when_an_entry_is_neither_a_level_nor_settings(tmp_path):
    assert config_problems(tmp_path, '{"nat-gateway-cap": 3}') == [
        (
            "stack.json: nat-gateway-cap = 3: must be an enforcement level (advisory, mandatory, remediate, disabled) or "
            "an object of settings with an optional enforcementLevel"
        )
    ]


def test_fails_when_a_setting_breaks_the_rule_schema(tmp_path):
    assert config_problems(
        tmp_path, '{"nat-gateway-cap": {"maxNatGateways": "two"}, "gpu-total-cap": {"maxTotalGpus": -1}}'
    ) == [
        "stack.json: gpu-total-cap.maxTotalGpus = -1: must be at least 0",
        'stack.json: nat-gateway-cap.maxNatGateways = "two": must be an integer',
    ]


def test_fails_on_a_policy_name_the_pack_does_not_have(tmp_path):
    assert config_problems(tmp_path, '{"nat-gateway-caps": {"maxNatGateways": 2}}') == [
        "stack.json: nat-gateway-caps: no policy of that name in pack ml-platform-guardrails; did you mean 'nat-gateway-cap'?"
    ]


def test_fails_on_a_setting_the_policy_does_not_have(tmp_path):
    assert config_problems(tmp_path, '{"nat-gateway-cap": {"maxNats": 2}, "kms-key-rotation": {"days": 90}}') == [
        "stack.json: nat-gateway-cap.maxNats: unknown setting (settings: maxNatGateways)",
        "stack.json: kms-key-rotation.days: unknown setting (it has no settings, only enforcementLevel)",
    ]


def test_fails_when_all_carries_settings(tmp_path):
    assert config_problems(tmp_path, '{"all": {"enforcementLevel": "advisory", "maxNatGateways": 2}}') == [
        "stack.json: all: takes only an enforcement level; settings belong to a named policy"
    ]


def test_fails_when_the_directory_is_not_a_policy_pack(tmp_path):
    with pytest.raises(PolicyConfigError) as info:
        load_pack(tmp_path)
    assert info.value.problems == [f"{tmp_path}: no PulumiPolicy.yaml here; pass the policy pack's directory"]


def test_shipped_configs_are_valid_and_relax_cost_rules_only_in_dev():
    pack = load_pack_definition(PACK)
    effective = {
        stack: reconcile(pack, read_config_file(PACK / "config" / f"{stack}.json"), stack)
        for stack in ("dev", "staging", "prod")
    }
    category = {p.name: p.tags[0] for p in pack.policies}
    # The rules serverless endpoints cannot meet are advisory in dev, where serverless is accepted.
    serverless_gaps = {"sagemaker-model-network-isolation", "sagemaker-data-capture"}
    for stack, settings in effective.items():
        for name, entry in settings.items():
            if category[name] == "encryption" or (
                category[name] == "access" and (stack != "dev" or name not in serverless_gaps)
            ):
                assert entry.enforcement_level.value == "mandatory", (stack, name)
    assert {
        n for n, e in effective["dev"].items() if category[n] == "cost" and e.enforcement_level.value != "advisory"
    } == set()
    # Rules on teams' workload manifests (GPU Jobs) advise everywhere: teams apply those, not the deployment.
    workload_rules = {"gpu-job-queue-label", "gpu-job-do-not-disrupt"}
    for stack in ("staging", "prod"):
        assert {
            n
            for n, e in effective[stack].items()
            if category[n] == "cost" and e.enforcement_level.value not in ("mandatory", "disabled")
        } == workload_rules
    assert effective["prod"]["gpu-pool-scale-to-zero"].enforcement_level.value == "disabled"
    assert {
        n for n, e in effective["dev"].items() if category[n] == "access" and e.enforcement_level.value == "advisory"
    } == serverless_gaps


def test_parse_config_keeps_levels_and_settings_apart():
    parsed = parse_config({"a": "advisory", "b": {"enforcementLevel": "disabled", "x": 1}, "c": {"y": 2}}, "f")
    assert [(k, v.enforcement_level and v.enforcement_level.value, v.properties) for k, v in parsed.items()] == [
        ("a", "advisory", None),
        ("b", "disabled", {"x": 1}),
        ("c", None, {"y": 2}),
    ]


# ---- the real analyzer agrees --------------------------------------------------------------------------------


def misconfigured() -> None:
    bucket = aws.s3.Bucket("data", tags={"Owner": "x"})
    aws.s3.BucketServerSideEncryptionConfiguration(
        "data-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
    )
    aws.kms.Key("key")
    aws.cloudwatch.LogGroup("logs", retention_in_days=0)
    for az in "ab":
        aws.ec2.NatGateway(f"nat-{az}", subnet_id=f"subnet-{az}", allocation_id=f"eipalloc-{az}")
    aws.ec2.LaunchTemplate(
        "nodes",
        instance_type="p5.48xlarge",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_tokens="optional", http_put_response_hop_limit=3
        ),
    )


def test_offline_evaluation_matches_the_packs_analyzer_server():
    result = render(misconfigured)
    record = result.one("aws:ec2/launchTemplate:LaunchTemplate")
    from preflight.model import UNKNOWN

    record.inputs["instanceType"] = UNKNOWN  # the analyzer's answer to a value only known after apply
    config = {
        "nat-gateway-cap": {"maxNatGateways": 1},
        "kms-key-rotation": "advisory",
        "log-group-retention": "disabled",
    }
    offline = evaluate(result, PACK, config=config)
    tags = {"pulumi:project": result.project, "pulumi:runtime": "python"}
    with serve(PACK) as analyzer:
        served = [p.name for p in analyzer.info().policies]
        analyzer.configure(reconcile(load_pack_definition(PACK), parse_config(config, "config")), tags)
        online = analyzer.analyze(result)
    assert served == [p.name for p in load_pack(PACK)]
    as_tuples = sorted((v.policy, v.urn or "", v.message, v.enforcement, v.severity) for v in offline)
    assert as_tuples == sorted((d.policy, d.urn, d.message, d.enforcement, d.severity) for d in online)
    # The comparison covers mandatory, advisory, disabled and "can't run during preview" outcomes.
    assert {v.enforcement for v in offline} == {"mandatory", "advisory"}
    assert not [v for v in offline if v.policy == "log-group-retention"]
    assert any(v.message.startswith("can't run policy 'allowed-instance-types'") for v in offline)


def test_rules_never_import_repository_code():
    # The pack runs from its own virtualenv (requirements.txt): only the standard library and pulumi-policy.
    for path in sorted((PACK / "rules").glob("*.py")) + [PACK / "pack.py", PACK / "__main__.py"]:
        if path.name.startswith("test_") or path.name == "conftest.py":
            continue
        source = path.read_text()
        for forbidden in ("import pulumi_aws", "from preflight", "from components", "from infra", "import boto"):
            assert forbidden not in source, f"{path.name} uses {forbidden!r}"
