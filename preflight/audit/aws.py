"""Read-only AWS access for the audit: boto3's standard credential chain and endpoint settings (so
`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` point it at moto's server), botocore's standard retry mode, and
one rule: a call that fails for any reason other than "this resource does not exist" raises `NotChecked`, which the
audit reports naming the API. Nothing here turns a failed call into a compliant answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from preflight.audit.permissions import KNOWN_CALLS

RETRIES = Config(retries={"mode": "standard"})
"""botocore's standard retry mode (exponential backoff with jitter on throttling and transient errors)."""

_NOT_IMPLEMENTED = "Not yet implemented"
"""What moto answers for an operation it does not emulate (a 404): reported as not checked, like a denied call."""

Missing = str | tuple[str, str]
"""An error that means "absent": an error code, or (code, text the message contains) where AWS reuses a code."""


class AuditSetupError(Exception):
    """No credentials or no region: nothing can be checked (exit code 2)."""


class NotChecked(Exception):
    """A call that was denied, throttled past the retries, not implemented by the endpoint, or failed otherwise."""

    def __init__(self, api: str, action: str, reason: str):
        super().__init__(f"{api} failed ({reason}); it needs IAM action {action}")
        self.api = api
        self.action = action
        self.reason = reason


@dataclass(frozen=True)
class _Absent:
    pass


ABSENT: Any = _Absent()
"""What `Aws.call` returns when AWS says the thing asked about does not exist."""


def _matches(code: str, message: str, missing: Iterable[Missing]) -> bool:
    for entry in missing:
        if isinstance(entry, tuple):
            if code == entry[0] and entry[1] in message:
                return True
        elif code == entry:
            return True
    return False


class Aws:
    """boto3 clients per (service, region), and the one way the audit calls them."""

    def __init__(self, default_region: str | None = None, session: boto3.Session | None = None):
        self.session = session or boto3.Session()
        if self.session.get_credentials() is None:
            raise AuditSetupError(
                "no AWS credentials found: the audit uses boto3's standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, web identity, SSO, instance or container role)"
            )
        self.default_region = default_region or self.session.region_name
        if not self.default_region:
            raise AuditSetupError(
                "no region: the state has no aws provider with a region and boto3 has none configured "
                "(set AWS_REGION or a profile's region)"
            )
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=key[1], config=RETRIES)
        return self._clients[key]

    def call(
        self,
        service: str,
        operation: str,
        *,
        region: str | None = None,
        missing: Iterable[Missing] = (),
        empty: Iterable[Missing] = (),
        **params: Any,
    ) -> Any:
        """The operation's response; ABSENT for an error in `missing`, {} for one in `empty`; else NotChecked."""
        client = self.client(service, region)
        return self._guarded(
            service, operation, missing, empty, lambda: getattr(client, xform_name(operation))(**params)
        )

    def pages(
        self,
        service: str,
        operation: str,
        key: str,
        *,
        region: str | None = None,
        missing: Iterable[Missing] = (),
        **params: Any,
    ) -> Any:
        """Every item under `key` across the pages of the operation (botocore's paginator), or ABSENT."""
        client = self.client(service, region)

        def everything() -> list[Any]:
            return [
                item
                for page in client.get_paginator(xform_name(operation)).paginate(**params)
                for item in page.get(key, [])
            ]

        return self._guarded(service, operation, missing, (), everything)

    def _guarded(
        self, service: str, operation: str, missing: Iterable[Missing], empty: Iterable[Missing], run: Callable[[], Any]
    ) -> Any:
        api = f"{service}:{operation}"
        action = KNOWN_CALLS[api]  # a KeyError here is a call permissions.py does not declare: a bug, not a finding
        try:
            return run()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            if _matches(code, message, missing):
                return ABSENT
            if _matches(code, message, empty):
                return {}
            if message == _NOT_IMPLEMENTED:
                raise NotChecked(api, action, "the endpoint does not implement this API") from None
            raise NotChecked(api, action, f"{code}: {message}" if message else code) from None
        except BotoCoreError as exc:
            raise NotChecked(api, action, str(exc)) from None
