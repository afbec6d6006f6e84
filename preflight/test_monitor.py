"""The monitor answers the SDK with the same protobuf the SDK's own serializer would have built."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from preflight.monitor import to_struct

SECRET_SIG = {rpc._special_sig_key: rpc._special_secret_sig}

CASES = [
    {},
    {"name": "logs-1a2b3c4", "retentionInDays": 365, "ratio": 0.5, "enabled": True, "disabled": False},
    {"dropped": None, "kept": "x"},
    {"tags": {"Team": "ml", "Empty": "", "Unset": None}, "ids": ["a", "b"], "nested": [{"a": [1, 2.5, None]}, []]},
    {"password": {**SECRET_SIG, "value": "hunter2"}, "conn": {**SECRET_SIG, "value": {"user": "u", "port": 5432}}},
    {"big": 2**40, "negative": -3, "unicode": "é✓", "unknown": rpc.UNKNOWN},
]


@pytest.mark.parametrize("values", CASES)
def test_to_struct_matches_the_sdk_serializer(values):
    assert to_struct(values) == _sync_await(rpc.serialize_properties(values, {}))


def test_to_struct_falls_back_to_the_sdk_and_its_error_for_values_protobuf_cannot_hold():
    with pytest.raises(ValueError, match="unexpected input of type set for odd"):
        to_struct({"odd": {1, 2}})
