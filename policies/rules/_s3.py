"""S3 in pulumi-aws v7: a bucket's encryption, public access block, versioning, lifecycle, logging and policy are
separate resources that point at the bucket through their `bucket` input. The stack rules link them back here.

The deprecated inline arguments of `aws.s3.Bucket` / `BucketV2` still work, so they count too when a program sets
them. In a preview the bucket's own outputs for those arguments are unknown until AWS is read: unknown means "not
declared here", never "compliant".
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_policy import PolicyResource

from ._common import UNKNOWN, StackIndex, elements, get, is_true
from ._types import BUCKET_LOGGING, BUCKETS, LOAD_BALANCERS

BUCKET_KEYS = ("bucket", "id", "arn")
"""What a `bucket` input may hold: the bucket's name (which is its id) or, for a few resources, its ARN."""


@dataclass
class BucketLinks:
    index: StackIndex
    buckets: list[PolicyResource]

    @classmethod
    def of(cls, index: StackIndex) -> BucketLinks:
        return cls(index=index, buckets=index.of_type(*BUCKETS))

    def attached(self, types: tuple[str, ...], prop: str = "bucket") -> dict[str, list[PolicyResource]]:
        """Bucket URN -> the resources of `types` configuring it."""
        return self.index.linked(self.index.of_type(*types), prop, self.buckets, BUCKET_KEYS)

    def log_destinations(self) -> set[str]:
        """URNs of buckets that receive S3 server access logs or load balancer access logs.

        AWS delivers both only into SSE-S3 buckets, so these are the one exception to SSE-KMS."""
        urns: set[str] = set()
        for target, sources in self.attached(BUCKET_LOGGING, "targetBucket").items():
            if sources:
                urns.add(target)
        for lb in self.index.of_type(*LOAD_BALANCERS):
            # Load balancers deliver access logs only when told to (`enabled` defaults to false).
            if not is_true(get(lb.props, "accessLogs", "enabled")):
                continue
            for bucket in self.index.refers_to(lb, "accessLogs", self.buckets, BUCKET_KEYS, ("bucket",)):
                urns.add(bucket.urn)
        # Buckets that name a log destination inline (deprecated `logging`/`loggings` arguments), by value.
        inline_targets: set[str] = set()
        for source in self.buckets:
            inline = [get(source.props, "logging", "targetBucket")] + [
                get(item, "targetBucket") for item in elements(get(source.props, "loggings"))
            ]
            inline_targets.update(str(v) for v in inline if v is not None and v is not UNKNOWN)
        for bucket in self.buckets:
            if inline_targets & {str(get(bucket.props, k)) for k in BUCKET_KEYS if get(bucket.props, k)}:
                urns.add(bucket.urn)
        return urns
