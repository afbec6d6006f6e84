"""Prod's promotion, after staging's bake: which prod registry version may be proposed for prod, and why not.

Each stack retrains into its own registry, so "the same version" in prod is the prod version trained and served by
the same code as a version that staging has proven: equal `TrainerImage` and `ServingImage` references (the stack
file's `repository:tag`, carried by every registered version, components/retraining.py). Two read-only steps, each
with one stack's CI preview role (.github/workflows/promote-prod.yml):

    python tools/promote_after_bake.py baked --state staging.json --out out/baked.json
    python tools/promote_after_bake.py candidates --baked out/baked.json --out out/promotions.json

`baked`, per model deployed from the registry in Pulumi.staging.yaml: every staging endpoint of the model serves
the version the stack file names (the audit's rollback detection on the exported state finds none rolled back or
failed, and the serving model is that registry version), has been InService on it for
`modelPromotion.stagingBakeHours` (Pulumi.prod.yaml), and the version is still `Approved` (a rolled-back version
is rejected by the runbook, and then never reaches prod).

`candidates`, per baked model: the newest `Approved` version in prod's registry with the baked version's image
references, above what Pulumi.prod.yaml deploys. The pull request then comes from tools/bump_model_package.py.

Any check that could not run — a denied or failed call, a missing endpoint, a version without the references —
means no promotion for that model, with the reason; never a promotion by default. Exit status: 0 when every model
got an answer (ready or not, in the JSON and one line each), 2 when nothing could be checked (no credentials, an
unreadable state or stack file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from components.model_registry import package_arn
from components.retraining import SERVING_IMAGE_KEY, TRAINER_IMAGE_KEY
from infra.config.loader import load
from preflight.audit.aws import ABSENT, AuditSetupError, Aws, NotChecked
from preflight.audit.drift import Context
from preflight.audit.rollback import ENDPOINT, rollbacks
from preflight.audit.sagemaker import NOT_FOUND, READERS
from preflight.audit.state import State, StateError, read_state
from preflight.model import ResourceRecord, StackResult
from tools.bump_model_package import endpoints_of

ROOT = Path(__file__).resolve().parents[1]
SOURCE_STACK = "staging"
TARGET_STACK = "prod"
_ENDPOINT_READER = next(r for r in READERS if r.type == ENDPOINT)


class Unchecked(Exception):
    """A fact the decision needs could not be established; the message says which and why."""


@dataclass
class Answer:
    model: str
    ready: bool
    reason: str
    version: int | None = None
    """`baked`: the staging version; `candidates`: the prod version to propose."""
    staging_version: int | None = None
    trainer_image: str | None = None
    serving_image: str | None = None


def _stack_file(root: Path, stack: str) -> dict[str, Any]:
    path = root / f"Pulumi.{stack}.yaml"
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StateError(f"{path.name}: cannot read the stack file: {exc}") from None
    return document if isinstance(document, dict) else {}


def _project(root: Path) -> str:
    return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])


def bake_hours(root: Path) -> int:
    """`modelPromotion.stagingBakeHours` of the prod stack, through the schema (default and checks declared once)."""
    config = _stack_file(root, TARGET_STACK).get("config") or {}
    return load(config, stack=TARGET_STACK).model_promotion.staging_bake_hours


def registry_models(document: Mapping[str, Any]) -> list[str]:
    """Models whose endpoints deploy a registry version (`modelPackage: <model>/<n>`) in a stack file."""
    endpoints = ((document.get("config") or {}).get("ml-platform:endpoints") or {}).get("endpoints") or {}
    packages = [(spec or {}).get("modelPackage") for spec in endpoints.values()]
    return sorted({p.split("/", 1)[0] for p in packages if isinstance(p, str) and "/" in p})


def _references(described: Mapping[str, Any], where: str) -> tuple[str, str]:
    found = described.get("CustomerMetadataProperties") or {}
    trainer, serving = found.get(TRAINER_IMAGE_KEY), found.get(SERVING_IMAGE_KEY)
    if not trainer or not serving:
        raise Unchecked(
            f"{where} carries no {TRAINER_IMAGE_KEY}/{SERVING_IMAGE_KEY} metadata (registered before the retraining "
            "pipeline recorded them, or by hand): which code it was trained with is unknown"
        )
    return str(trainer), str(serving)


def _package(aws: Aws, arn: str, region: str | None) -> Mapping[str, Any]:
    found = aws.call("sagemaker", "DescribeModelPackage", region=region, missing=(NOT_FOUND,), ModelPackageName=arn)
    if found is ABSENT:
        raise Unchecked(f"{arn} does not exist")
    return found


def _bake_one(aws: Aws, state: State, record: Any, package: str, hours: int, now: datetime) -> datetime:
    """When `record`'s endpoint started serving `package` (checked: no rollback, InService, that very package)."""
    ctx = Context(aws, state, record)
    reading = _ENDPOINT_READER.read(ctx)
    if reading is ABSENT:
        raise Unchecked(f"endpoint {record.id} does not exist")
    rolled_back = rollbacks(State(result=_only(state, record), regions=state.regions), {record.urn: reading})
    if rolled_back:
        raise Unchecked(f"rolled back: {rolled_back[0].message}")
    endpoint = ctx.call("sagemaker", "DescribeEndpoint", missing=(NOT_FOUND,), EndpointName=record.id)
    if endpoint is ABSENT or endpoint.get("EndpointStatus") != "InService":
        status = "absent" if endpoint is ABSENT else endpoint.get("EndpointStatus")
        raise Unchecked(f"endpoint {record.id} is {status}, not InService")
    config = ctx.call(
        "sagemaker", "DescribeEndpointConfig", missing=(NOT_FOUND,), EndpointConfigName=endpoint["EndpointConfigName"]
    )
    if config is ABSENT:
        raise Unchecked(f"endpoint configuration {endpoint['EndpointConfigName']} does not exist")
    for variant in config.get("ProductionVariants", []):
        model = ctx.call("sagemaker", "DescribeModel", missing=(NOT_FOUND,), ModelName=variant.get("ModelName"))
        served = None if model is ABSENT else (model.get("PrimaryContainer") or {}).get("ModelPackageName")
        if served != package:
            raise Unchecked(
                f"endpoint {record.id} variant {variant.get('VariantName')} serves {served!r}, not {package}"
            )
    since = endpoint.get("LastModifiedTime")
    if not isinstance(since, datetime):
        raise Unchecked(f"endpoint {record.id}: SageMaker gave no LastModifiedTime, so the bake cannot be timed")
    if now - since < timedelta(hours=hours):
        baked = (now - since).total_seconds() / 3600
        raise Unchecked(
            f"endpoint {record.id} has served it {baked:.1f} h of the {hours} h bake (since {since:%FT%TZ})"
        )
    return since


def _only(state: State, record: ResourceRecord) -> StackResult:
    return StackResult(project=state.result.project, stack=state.result.stack, resources=(record,))


def baked(aws: Aws, state: State, *, root: Path, now: datetime) -> list[Answer]:
    """Per model deployed from staging's registry: whether its version has baked (see the module docstring)."""
    document = _stack_file(root, SOURCE_STACK)
    hours = bake_hours(root)
    prefix = f"{_project(root)}-{SOURCE_STACK}"
    answers: list[Answer] = []
    for model in registry_models(document):
        endpoints = endpoints_of(document, model)
        versions = set(endpoints.values())
        try:
            if len(versions) != 1:
                raise Unchecked(f"staging's endpoints serve different versions of {model}: {sorted(versions)}")
            (version,) = versions
            records = {}
            for key in sorted(endpoints):
                found = [r for r in state.result.by_type(ENDPOINT) if r.inputs.get("name") == f"{prefix}-{key}"]
                if len(found) != 1:
                    raise Unchecked(f"the staging state has no endpoint {prefix}-{key} (not deployed yet?)")
                records[key] = found[0]
            # arn:<partition>:sagemaker:<region>:<account>:endpoint/<name>: the registry is in the same account.
            endpoint_arn = str(next(iter(records.values())).outputs.get("arn") or "").split(":")
            if len(endpoint_arn) < 6:
                raise Unchecked(f"the staging state records no ARN for {prefix}-{next(iter(records))}")
            arn = package_arn(
                partition=endpoint_arn[1],
                region=endpoint_arn[3],
                account_id=endpoint_arn[4],
                group_name=f"{prefix}-{model}",
                version=version,
            )
            for record in records.values():
                _bake_one(aws, state, record, arn, hours, now)
            package = _package(aws, arn, endpoint_arn[3])
            if package.get("ModelApprovalStatus") != "Approved":
                raise Unchecked(f"{model}/{version} is {package.get('ModelApprovalStatus')} in staging, not Approved")
            trainer, serving = _references(package, f"staging's {model}/{version}")
        except (Unchecked, NotChecked) as exc:
            answers.append(Answer(model=model, ready=False, reason=f"not promoted: {exc}"))
            continue
        answers.append(
            Answer(
                model=model,
                ready=True,
                reason=f"{model}/{version} has baked {hours} h in staging without rollback and is Approved",
                version=version,
                staging_version=version,
                trainer_image=trainer,
                serving_image=serving,
            )
        )
    return answers


def candidates(aws: Aws, baked_answers: list[Answer], *, root: Path) -> list[Answer]:
    """Per baked model: the prod version to propose (newest Approved with the same references, above prod's)."""
    document = _stack_file(root, TARGET_STACK)
    prefix = f"{_project(root)}-{TARGET_STACK}"
    region = (document.get("config") or {}).get("aws:region")
    answers = []
    for source in baked_answers:
        model = source.model
        if not source.ready:
            answers.append(source)
            continue
        try:
            current = endpoints_of(document, model)
            if not current:
                raise Unchecked(f"no prod endpoint deploys a registry version of {model}")
            approved = aws.pages(
                "sagemaker",
                "ListModelPackages",
                "ModelPackageSummaryList",
                region=region,
                ModelPackageGroupName=f"{prefix}-{model}",
                ModelApprovalStatus="Approved",
            )
            if approved is ABSENT:
                raise Unchecked(f"prod has no registry group {prefix}-{model}")
            floor = max(current.values())
            newer = sorted(
                (p for p in approved if int(p["ModelPackageVersion"]) > floor),
                key=lambda p: int(p["ModelPackageVersion"]),
                reverse=True,
            )
            if not newer:
                raise Unchecked(f"prod's registry has no Approved version of {model} above {floor}, the deployed one")
            skipped = []
            for summary in newer:
                package = _package(aws, summary["ModelPackageArn"], region)
                where = f"prod's {model}/{summary['ModelPackageVersion']}"
                if _references(package, where) == (source.trainer_image, source.serving_image):
                    version = int(summary["ModelPackageVersion"])
                    break
                skipped.append(str(summary["ModelPackageVersion"]))
            else:
                raise Unchecked(
                    f"no Approved prod version above {floor} ({', '.join(skipped)}) was trained with "
                    f"{source.trainer_image} and serves {source.serving_image} like staging's {model}/{source.version}"
                )
        except (Unchecked, NotChecked) as exc:
            answers.append(Answer(model=model, ready=False, reason=f"not promoted: {exc}"))
            continue
        answers.append(
            Answer(
                model=model,
                ready=True,
                reason=f"prod's {model}/{version} matches staging's {model}/{source.version}; {source.reason}",
                version=version,
                staging_version=source.version,
                trainer_image=source.trainer_image,
                serving_image=source.serving_image,
            )
        )
    return answers


def main(argv: list[str] | None = None, *, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    first = sub.add_parser("baked", help="staging's role: which versions have baked")
    first.add_argument("--state", type=Path, required=True, help="`pulumi stack export --stack staging`")
    second = sub.add_parser("candidates", help="prod's role: the prod version matching each baked one")
    second.add_argument("--baked", type=Path, required=True)
    for step in (first, second):
        step.add_argument("--out", type=Path, required=True)
        step.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    try:
        if args.step == "baked":
            state = read_state(args.state)
            aws = Aws(state.default_region)
            answers = baked(aws, state, root=args.root, now=now or datetime.now(UTC))
        else:
            loaded = json.loads(args.baked.read_text())
            aws = Aws()
            answers = candidates(aws, [Answer(**a) for a in loaded], root=args.root)
    except (AuditSetupError, StateError, NotChecked, OSError, ValueError) as exc:
        print(f"nothing checked: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(a) for a in answers], indent=2) + "\n")
    for answer in answers:
        print(f"{answer.model}: {'ready' if answer.ready else 'waiting'}: {answer.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
