"""Serves the pack to the Pulumi CLI:

    pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json

The CLI runs `python -u -m pulumi.policy <engine address> <this directory>` in the pack's virtualenv;
`PolicyPack` prints the port of its gRPC analyzer server and serves until the engine stops it, so nothing may
import this module (tests start it the way the CLI does). `preflight.policy` evaluates the same policies offline.
"""

import importlib.util
import sys
from pathlib import Path

from pulumi_policy import PolicyPack


def _load_pack():
    # The CLI gives the pack a virtualenv of its own with only requirements.txt in it, not this repository: the
    # directory is loaded as a package by path, which also works when the pack is published on its own.
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "ml_platform_policy_pack", here / "__init__.py", submodule_search_locations=[str(here)]
    )
    assert spec is not None and spec.loader is not None, f"{here} holds the pack's __init__.py"
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{spec.name}.pack")


pack = _load_pack()

PolicyPack(
    name=pack.PACK_NAME,
    policies=pack.build_policies(),
    enforcement_level=pack.ENFORCEMENT_LEVEL,
    initial_config=pack.INITIAL_CONFIG,
    description=pack.DESCRIPTION,
    provider="aws",
)
