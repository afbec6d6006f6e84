"""One audit of one stack: live reading and drift, the policy pack on live properties, rollbacks, tags, GPUs."""

from __future__ import annotations

from preflight.audit.aws import Aws
from preflight.audit.findings import not_checked
from preflight.audit.gpu import gpu_capacity
from preflight.audit.live import live_stack, read_live
from preflight.audit.rollback import rollbacks
from preflight.audit.state import State
from preflight.audit.tagging import missing_cost_tags, orphans
from preflight.cli import PackRun
from preflight.model import StackResult, Violation
from preflight.policy import evaluate, load_pack_definition, parse_config, read_config_file, reconcile

COST_TAG_POLICY = "required-cost-tags"
"""The pack rule whose `requiredTags` setting (and enforcement) the live cost-tag check uses: one list of tags."""


def _cost_tags(packs: list[PackRun]) -> tuple[list[str], str] | None:
    """(required tag keys, enforcement) from the first pack that has the cost-tag rule enabled."""
    for pack in packs:
        definition = load_pack_definition(pack.pack)
        given = read_config_file(pack.config) if pack.config else parse_config({}, "policy config")
        settings = reconcile(definition, given, str(pack.config or "policy config"))
        entry = settings.get(COST_TAG_POLICY)
        if entry is None or entry.enforcement_level is None or entry.enforcement_level.value == "disabled":
            continue
        level = "mandatory" if entry.enforcement_level.value in ("mandatory", "remediate") else "advisory"
        return list((entry.properties or {}).get("requiredTags") or []), level
    return None


def audit(state: State, aws: Aws, packs: list[PackRun]) -> StackResult:
    """The state's stack, with every finding of the audit as its violations."""
    violations: list[Violation] = []
    warnings: list[str] = []
    reading = read_live(aws, state)
    violations += reading.findings
    if reading.unread_types:
        warnings.append(
            "not read live (the audit has no reader; the pack judged their declared properties): "
            + ", ".join(sorted(reading.unread_types))
        )
    live = live_stack(state, reading.live)
    for pack in packs:
        violations += evaluate(live, pack.pack, pack.config)
    violations += rollbacks(state, reading.live)
    violations += orphans(aws, state)
    cost_tags = _cost_tags(packs)
    if cost_tags is None:
        violations.append(
            not_checked(None, "cost tags live", f"no policy pack given enables {COST_TAG_POLICY} to say which tags")
        )
    else:
        found, notes = missing_cost_tags(aws, state, reading.live, *cost_tags)
        violations += found
        warnings += notes
    violations += gpu_capacity(aws, state, reading.live)
    return StackResult(
        project=state.result.project,
        stack=state.result.stack,
        resources=state.result.resources,
        outputs=state.result.outputs,
        violations=tuple(violations),
        warnings=tuple(warnings),
    )
