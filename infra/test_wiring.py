"""The program's derived names and merged values, without rendering a stack."""

from infra.wiring import StackNames, cluster_admin_roles


def test_stack_names_share_one_prefix():
    names = StackNames(project="ml-platform", stack="Dev")
    assert (names.prefix, names.cluster_name, names.path, names.registry_prefix) == (
        "ml-platform-Dev",
        "ml-platform-Dev",
        "ml-platform/Dev",
        "ml-platform/dev",
    )
    assert names.boundary_policy_name == "ml-platform-Dev-permission-boundary"


def test_cluster_admins_are_the_platform_roles_that_exist():
    assert cluster_admin_roles(ci_deploy_role_arn="ci", platform_admin_role_arn=None) == {"ci-deploy": "ci"}
    assert cluster_admin_roles(ci_deploy_role_arn=None, platform_admin_role_arn="pa") == {"platform-admin": "pa"}
