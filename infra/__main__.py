"""The ml-platform program: validated stack config in, components wired, outputs exported.

It holds no logic of its own: every resource comes from a component in `components/`, every value from
`infra.config` (schema + environment profiles). Config mistakes stop the run before any resource is declared.
"""

import pulumi
import pulumi_aws as aws

from infra.config import load_from_pulumi

cfg = load_from_pulumi()

# One explicit AWS provider for everything: its default tags put the cost-allocation tags on every taggable
# resource (policies judge `tagsAll`, which includes them).
aws_provider = aws.Provider(
    "aws",
    region=cfg.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.default_tags),
)
platform = pulumi.ResourceOptions(providers={"aws": aws_provider})

# >>> guardrails-boundary: permission boundary first: every role below takes `boundary.arn` (issue 7)
# <<< guardrails-boundary

# >>> keys: KMS keys per data domain: `keys` (issue 4)
# <<< keys

# >>> network: VPC, subnets, NAT, flow logs, endpoints: `network` (issue 3)
# <<< network

# >>> storage: artifact store and image registries: `store`, `registries` (issue 4)
# <<< storage

# >>> guardrails: personas, CI roles, budgets, account baselines: `guardrails` (issue 7)
# <<< guardrails

# >>> cluster: EKS, node pools, Kubernetes layer: `cluster` (issue 5)
# <<< cluster

# >>> endpoints: SageMaker model endpoints: `endpoints` (issue 6)
# <<< endpoints

pulumi.export("environment", cfg.environment)
pulumi.export("region", cfg.region)
