"""docs/settings.md is generated from the schema: it is up to date, and it shows what the schema declares."""

from infra.config.settings_doc import DOC, render


def test_the_settings_table_is_up_to_date():
    # Fix a failure with `make docs`.
    assert DOC.read_text() == render()


def test_the_table_lists_every_key_with_its_default_description_and_per_environment_value():
    lines = render().splitlines()
    (azs,) = [line for line in lines if line.startswith("| `ml-platform:network.azCount` |")]
    assert azs.split(" | ")[2:6] == ["`3`", "`2`", "`3`", "`3`"]
    assert "Availability zones to spread subnets over" in azs
    (retention,) = [line for line in lines if line.startswith("| `ml-platform:endpoints.defaults.logRetentionDays` |")]
    assert retention.split(" | ")[2] == "`90`"
