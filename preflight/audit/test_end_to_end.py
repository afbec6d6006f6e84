"""The audit as CI runs it: a subprocess of `python -m preflight audit` against moto's server, found through
`AWS_ENDPOINT_URL` with fake credentials, writing SARIF and Markdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from preflight.audit.conftest import BUCKET, build_account

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def endpoint(fake_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


def test_cli_against_motos_server_reports_drift_in_every_format_and_exits_1(endpoint: str, tmp_path: Path) -> None:
    account = build_account(tmp_path)
    account.client("s3").delete_bucket_encryption(Bucket=BUCKET)
    sarif, markdown = tmp_path / "audit.sarif", tmp_path / "audit.md"

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "preflight",
            "audit",
            *account.pack_args,
            "--state",
            str(account.state),
            "--sarif",
            str(sarif),
        ]
        + ["--markdown", str(markdown)],
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "AWS_ENDPOINT_URL": endpoint, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 1, done.stderr
    assert "Auditing stack ml-platform/dev (live, us-west-2)" in done.stdout
    assert "audit-deleted: aws:s3/bucketServerSideEncryptionConfiguration" in done.stdout
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["audit-deleted", "s3-bucket-kms-encryption"]
    assert "## ml-platform/dev: 2 mandatory findings block this change" in markdown.read_text()
