"""A real S3-compatible server for the tests: moto's S3 server in a process of its own, on a
free port, with signature checking ON (a user with an access key and an ``s3:*`` policy, made
through moto's IAM API before authentication is switched on). Requests signed wrongly are
refused as AWS would refuse them: moto recomputes the signature with botocore."""

from __future__ import annotations

import hashlib
import http.client
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from khuyencong.audit.s3 import S3Client, sign_v4
from tests.support.devstack import free_port

REGION = "us-east-1"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = REGION

    def client(self, bucket: str, *, secret: str | None = None) -> S3Client:
        return S3Client(
            endpoint=self.endpoint,
            bucket=bucket,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key if secret is None else secret,
            timeout=30,
        )

    def new_bucket(self) -> str:
        """A fresh, empty bucket."""
        bucket = f"kc-{uuid.uuid4().hex[:12]}"
        self.client(bucket).checked("PUT", "")
        return bucket

    def env(self, bucket: str, prefix: str = "documents") -> dict[str, str]:
        """The settings that point the application at ``bucket``."""
        return {
            "KHUYENCONG_DOCUMENT_STORE_URL": f"s3://{bucket}/{prefix}",
            "KHUYENCONG_S3_ENDPOINT": self.endpoint,
            "KHUYENCONG_S3_REGION": self.region,
            "KHUYENCONG_S3_ACCESS_KEY_ID": self.access_key_id,
            "KHUYENCONG_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/moto-api/data.json")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode()
        assert answer.status == 200, text
        return text
    finally:
        connection.close()


def _iam(port: int, **params: str) -> str:
    """One IAM query-API call, signed (authentication is still off: any key will do)."""
    body = urlencode({**params, "Version": "2010-05-08"}).encode()
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "host": f"127.0.0.1:{port}",
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "x-amz-date": amz_date,
    }
    headers["Authorization"] = sign_v4(
        method="POST", path="/", query={}, headers=headers,
        payload_sha256=hashlib.sha256(body).hexdigest(), access_key_id="AKIASETUPSETUPSETUP1",
        secret_access_key="setup", region=REGION, service="iam", amz_date=amz_date,
    )  # fmt: skip
    return _post(port, "/", body, headers)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with Path(log).open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):  # a condition, checked until it holds
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "moto_server did not start in 60 s"
            time.sleep(0.05)
        _iam(port, Action="CreateUser", UserName="khuyencong")
        created = _iam(port, Action="CreateAccessKey", UserName="khuyencong")
        _iam(port, Action="PutUserPolicy", UserName="khuyencong", PolicyName="s3",
             PolicyDocument=POLICY)  # fmt: skip
        key_id = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", created)
        secret = re.search(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", created)
        assert key_id and secret, created
        _post(port, "/moto-api/reset-auth", b"0", {})  # from now on, every request is checked
        yield S3Server(f"http://127.0.0.1:{port}", key_id.group(1), secret.group(1))
    finally:
        process.terminate()
        process.wait(timeout=30)
