"""The program's derived names and merged values, without rendering a stack."""

from infra.wiring import StackNames, cluster_admin_roles

ADMIN = "arn:aws:iam::111122223333:role/ops"


def test_stack_names_share_one_prefix():
    names = StackNames(project="ml-platform", stack="Dev")
    assert (names.prefix, names.cluster_name, names.path, names.registry_prefix) == (
        "ml-platform-Dev",
        "ml-platform-Dev",
        "ml-platform/Dev",
        "ml-platform/dev",
    )
    assert names.boundary_policy_name == "ml-platform-Dev-permission-boundary"


def test_cluster_admins_are_the_platform_roles_that_exist_plus_the_configured_ones():
    assert cluster_admin_roles({"ops": ADMIN}, ci_deploy_role_arn="ci", platform_admin_role_arn=None) == {
        "ci-deploy": "ci",
        "ops": ADMIN,
    }
    assert cluster_admin_roles({}, ci_deploy_role_arn=None, platform_admin_role_arn="pa") == {"platform-admin": "pa"}


def test_a_configured_admin_wins_over_a_platform_role_of_the_same_key():
    assert cluster_admin_roles({"ci-deploy": ADMIN}, ci_deploy_role_arn="ci", platform_admin_role_arn=None) == {
        "ci-deploy": ADMIN
    }
