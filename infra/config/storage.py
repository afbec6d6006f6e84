"""`ml-platform:storage`: KMS keys, the artifact store's buckets and the ECR image registries.

The section is the three components' own settings models together (`PlatformKeysSettings` in `components/keys.py`,
`ArtifactStoreSettings` in `components/artifact_store.py`, `ImageRegistriesSettings` in
`components/image_registries.py`): each setting is declared once, there, and the program hands this section to each
component. Every default is the secure one; environment differences (a short key deletion window in dev, no
VPC-endpoint restriction in dev, shorter version and log retention outside prod, object lock in prod) live in
`infra/config/profiles.py`.
"""

from __future__ import annotations

from components.artifact_store import ArtifactStoreSettings
from components.image_registries import ImageRegistriesSettings
from components.keys import MAX_KEY_DELETION_WINDOW_DAYS, PlatformKeysSettings
from components.settings import FieldError


# Bases listed last come first in the stack file's key order (and the settings table): keys, buckets, registries.
class StorageConfig(ImageRegistriesSettings, ArtifactStoreSettings, PlatformKeysSettings):
    """KMS keys, the artifact store's buckets and the ECR image registries: the three components' settings, each
    declared once in its component, read from one stack-file section."""

    def stack_problem(self, *, environment: str, region: str) -> FieldError | None:
        """The first rule broken that depends on the stack's environment or region (which this section cannot see
        on its own), as a `FieldError` keyed from the top of `PlatformConfig` (`storage.<key>`), or None.

        `PlatformConfig` calls this once the section is valid and raises what it returns.
        """
        if environment != "dev" and self.key_deletion_window_days < MAX_KEY_DELETION_WINDOW_DAYS:
            return FieldError(
                "storage.keyDeletionWindowDays",
                self.key_deletion_window_days,
                f"only dev may shorten the KMS key deletion window; {environment} keeps {MAX_KEY_DELETION_WINDOW_DAYS} "
                "days so a mistaken deletion can still be cancelled",
            )
        if self.models_replication is not None and self.models_replication.destination_region == region:
            return FieldError(
                "storage.modelsReplication.destinationRegion",
                region,
                "is the stack's own region; replication for disaster recovery needs a different region",
            )
        return None
