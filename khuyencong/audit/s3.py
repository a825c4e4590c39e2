"""A small S3 client over the standard library: AWS Signature Version 4, path-style addressing.

Enough for the evidence documents' store (:class:`khuyencong.audit.documents.S3Store`): one
signed request at a time (``PUT``, ``GET``, ``HEAD`` of an object; ``PUT`` of a bucket for
tests and setup), on ``http.client``, so the project carries no S3 library. Path-style
(``<endpoint>/<bucket>/<key>``) works with AWS S3, MinIO, Ceph RGW, Garage and the like.

:func:`sign_v4` is the signing process as AWS documents it (canonical request, string to sign,
derived key); it is checked against AWS's published examples in the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def uri_encode(path: str) -> str:
    """A path encoded as SigV4 wants it: every byte but the unreserved ones and ``/``."""
    return quote(path, safe="/~")


def canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))


def sign_v4(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The ``Authorization`` header of a request whose ``headers`` (all of them signed; they
    must include ``host`` and ``x-amz-date``) are final. ``path`` is already URI-encoded."""
    names = sorted(headers, key=str.lower)
    canonical_headers = "".join(
        f"{name.lower()}:{' '.join(headers[name].split())}\n" for name in names
    )
    signed_headers = ";".join(name.lower() for name in names)
    canonical_request = "\n".join(
        [
            method,
            path,
            canonical_query(query),
            canonical_headers,
            signed_headers,
            payload_sha256,
        ]
    )
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_access_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope},"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )


class S3Error(Exception):
    """The server answered with an error status (``code`` from its XML body, if any)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"HTTP {status} {code}: {message}".rstrip(": "))


@dataclass(frozen=True)
class S3Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _error_of(response: S3Response) -> S3Error:
    text = response.body.decode("utf-8", "replace")
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    return S3Error(
        response.status,
        code.group(1) if code else http.client.responses.get(response.status, ""),
        message.group(1) if message else "",
    )


@dataclass(frozen=True)
class S3Client:
    """Signed requests to one bucket of an S3-compatible endpoint (``http(s)://host[:port]``)."""

    endpoint: str
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    timeout: float = 60.0

    def request(
        self,
        method: str,
        key: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        now: datetime | None = None,
    ) -> S3Response:
        """Send one signed request for ``key`` (``""``: the bucket itself) and return the
        answer, error statuses included. Network failures raise :class:`OSError`."""
        url = urlsplit(self.endpoint)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ValueError(f"not an http(s) endpoint: {self.endpoint!r}")
        base = url.path.rstrip("/")
        path = uri_encode(f"{base}/{self.bucket}" + (f"/{key}" if key else ""))
        payload_sha256 = hashlib.sha256(body).hexdigest()
        amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        signed = {
            "host": url.netloc,
            "x-amz-date": amz_date,
            "x-amz-content-sha256": payload_sha256,
            **(headers or {}),
        }
        authorization = sign_v4(
            method=method,
            path=path,
            query={},
            headers=signed,
            payload_sha256=payload_sha256,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
            service="s3",
            amz_date=amz_date,
        )
        connection: http.client.HTTPConnection
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                url.netloc, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(url.netloc, timeout=self.timeout)
        try:
            sent = dict(signed)  # the host as signed (http.client would drop a default port)
            sent["Authorization"] = authorization
            sent["Content-Length"] = str(len(body))
            connection.request(method, path, body=body if body else None, headers=sent)
            answer = connection.getresponse()
            data = answer.read()
            return S3Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
        finally:
            connection.close()

    def checked(
        self, method: str, key: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> S3Response:
        """:meth:`request`, raising :class:`S3Error` on any status but 2xx."""
        response = self.request(method, key, body, headers)
        if not 200 <= response.status < 300:
            raise _error_of(response)
        return response

    def error_of(self, response: S3Response) -> S3Error:
        return _error_of(response)
