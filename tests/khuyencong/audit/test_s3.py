"""The small S3 client: Signature Version 4 as AWS publishes it, and signed requests a real
S3 server (moto's, with signature checking on) accepts, or refuses with its error code."""

from __future__ import annotations

import base64
import hashlib

import pytest

from khuyencong.audit.s3 import EMPTY_SHA256, S3Error, sign_v4
from tests.support.s3 import S3Server

S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example key


def test_a_get_is_signed_as_in_aws_s3_example() -> None:
    # "Example: GET Object" of the S3 API reference (Signature Version 4, Authorization header)
    headers = {
        "Host": "examplebucket.s3.amazonaws.com",
        "Range": "bytes=0-9",
        "x-amz-content-sha256": EMPTY_SHA256,
        "x-amz-date": "20130524T000000Z",
    }
    authorization = sign_v4(
        method="GET", path="/test.txt", query={}, headers=headers, payload_sha256=EMPTY_SHA256,
        access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=S3_SECRET, region="us-east-1",
        service="s3", amz_date="20130524T000000Z",
    )  # fmt: skip
    assert authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_a_put_is_signed_as_in_aws_s3_example() -> None:
    # "Example: PUT Object": the body's hash is signed, and the key's "$" is encoded
    body = b"Welcome to Amazon S3."
    payload = hashlib.sha256(body).hexdigest()
    headers = {
        "Host": "examplebucket.s3.amazonaws.com",
        "Date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": payload,
        "x-amz-date": "20130524T000000Z",
    }
    authorization = sign_v4(
        method="PUT", path="/test%24file.text", query={}, headers=headers, payload_sha256=payload,
        access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=S3_SECRET, region="us-east-1",
        service="s3", amz_date="20130524T000000Z",
    )  # fmt: skip
    assert authorization.endswith(
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_the_get_vanilla_case_of_aws_signature_v4_test_suite_is_signed_alike() -> None:
    authorization = sign_v4(
        method="GET", path="/", query={},
        headers={"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"},
        payload_sha256=EMPTY_SHA256, access_key_id="AKIDEXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region="us-east-1",
        service="service", amz_date="20150830T123600Z",
    )  # fmt: skip
    assert authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    ).replace(", ", ",")


def test_signed_requests_are_accepted_by_a_real_s3_server(s3_server: S3Server) -> None:
    client = s3_server.client(s3_server.new_bucket())
    body = "Quyết định 427/QĐ-UBND".encode()
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()

    client.checked("PUT", "hồ sơ/ab/tệp $1.pdf", body, {"Content-MD5": md5})

    assert client.checked("GET", "hồ sơ/ab/tệp $1.pdf").body == body
    assert client.request("HEAD", "hồ sơ/ab/tệp $1.pdf").status == 200
    assert client.request("HEAD", "hồ sơ/ab/other").status == 404


def test_a_wrong_secret_is_refused_with_the_server_s_code(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()

    with pytest.raises(S3Error) as refused:
        s3_server.client(bucket, secret="not-the-secret").checked("GET", "k")

    assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
