"""What preflight could not render, as findings: never a clean report for resources nobody looked at.

A multi-language component (`remote=True`: awsx, eks, apigateway, Helm chart v4, yaml v2 ...) is built by its
provider plugin at deployment; a Helm release or v3 chart installs manifests that are not expanded offline. Their
resources are not in the recorded graph, so neither the policy packs nor the scanners saw them. Each one is an
advisory finding (mandatory with `--strict`), so the gap shows in the tree, the counts, SARIF and Markdown.

A read (`Resource.get`, a StackReference) is listed as not checked too, but is no finding: `pulumi preview` judges
no read either (the program does not manage it, so nothing in it is the program's to fix).
"""

from __future__ import annotations

from preflight.model import StackResult, Violation

SOURCE = "preflight"
UNRENDERED = "unrendered-component"


def unrendered_findings(result: StackResult, *, strict: bool = False) -> list[Violation]:
    """One finding per component or chart whose resources were not rendered."""
    return [
        Violation(
            source=SOURCE,
            policy=UNRENDERED,
            category="reliability",
            enforcement="mandatory" if strict else "advisory",
            severity="high",
            urn=gap.urn,
            name=gap.name,
            message=f"{gap.type} {gap.name!r} is {gap.reason}",
            remediation="its resources are not in this report: review them with `pulumi preview` against the account",
        )
        for gap in result.not_checked
        if gap.kind == "unrendered"
    ]
