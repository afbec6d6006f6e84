"""The IAM actions the live audit needs (`preflight/audit/permissions.py`) are what the CI preview role grants and
what docs/audit.md lists: one list, checked in both places."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from components import _iam_documents as docs
from components.test_guardrails import SCOPE
from preflight.audit.permissions import AUDIT_ACTIONS, AUDIT_CALLS, PROMOTION_CALLS
from preflight.testing import REPO


def _allowed(policy: dict) -> list[str]:
    actions: list[str] = []
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            action = statement["Action"]
            actions.extend([action] if isinstance(action, str) else action)
    return actions


def test_the_ci_preview_policy_allows_every_action_the_audit_needs():
    allowed = _allowed(docs.ci_preview_policy(SCOPE, bucket_arns=["arn:aws:s3:::b"], key_arns=["arn:aws:kms:k"]))
    missing = [a for a in AUDIT_ACTIONS if not any(fnmatchcase(a.lower(), p.lower()) for p in allowed)]
    assert missing == []


def test_the_ci_preview_policy_allows_every_read_the_prod_promotions_bake_check_makes():
    allowed = _allowed(docs.ci_preview_policy(SCOPE, bucket_arns=["arn:aws:s3:::b"], key_arns=["arn:aws:kms:k"]))
    needed = set(PROMOTION_CALLS.values())
    assert [a for a in sorted(needed) if a not in allowed] == []
    assert all(re.match(r"sagemaker:(Describe|List)", a) for a in needed)


def test_every_audit_action_is_read_only():
    verbs = {a.split(":", 1)[1].split("_")[0] for a in AUDIT_ACTIONS}
    assert all(re.match(r"(Describe|Get|List|View)", v) for v in verbs), sorted(verbs)


def test_docs_list_exactly_the_audit_actions():
    text = (REPO / "docs" / "audit.md").read_text()
    listed = re.findall(r"^- `([a-z0-9-]+:[A-Za-z]+)`", text, flags=re.MULTILINE)
    assert sorted(listed) == list(AUDIT_ACTIONS)


def test_every_call_names_a_boto3_operation():
    import botocore.session

    session = botocore.session.get_session()
    unknown = [
        api
        for api in {**AUDIT_CALLS, **PROMOTION_CALLS}
        if api.split(":")[1] not in session.get_service_model(api.split(":")[0]).operation_names
    ]
    assert unknown == []
