"""A codec server: the Temporal Web UI and CLI read encrypted payloads through it.

Temporal's remote-codec protocol: ``POST /decode`` and ``POST /encode`` with a JSON body
``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`` (the proto3
JSON form of ``temporal.api.common.v1.Payloads``), answered in the same form. The UI calls it
from the browser, so it answers CORS preflights for the allowed origins (the UI's address).

Run it with ``khuyencong codec-server`` (``khuyencong dev`` runs one on port 8234 and points
its UI at it), then:

- Web UI: ``temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234`` or, on a
  cluster's UI, ``TEMPORAL_CODEC_ENDPOINT`` (or the UI's *Data Encoder* settings, per user);
- CLI: ``temporal workflow show --workflow-id de-an/BG-2019-DP-01
  --codec-endpoint http://127.0.0.1:8234 [--codec-auth "Bearer $TOKEN"]``.

**Who may read.** Anyone who can reach the server and pass its checks reads clear text: bind it
to an address only authorised users reach, put it behind the organisation's TLS proxy or SSO,
and set ``KHUYENCONG_CODEC_SERVER_TOKEN``: then every ``/encode`` and ``/decode`` needs
``Authorization: Bearer <token>`` (the UI sends the user's access token when *Pass the user
access token* is on; a proxy can inject it). ``--namespace`` limits it to some namespaces
(the UI and CLI send ``X-Namespace``). Payloads are never logged.

Only the standard library serves HTTP (``http.server``, one thread per request).
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from khuyencong.codec import EncryptionCodec

log = structlog.get_logger(__name__)

TOKEN_ENV = "KHUYENCONG_CODEC_SERVER_TOKEN"
MAX_BODY = 16 * 1024 * 1024
DEFAULT_ORIGINS = ("http://127.0.0.1:8233", "http://localhost:8233")
"""The Web UI of ``khuyencong dev``."""


class CodecServer:
    """``/encode`` and ``/decode`` over :class:`~khuyencong.codec.EncryptionCodec`.

    ``start()`` serves in a background thread (the dev stack, tests); ``serve_forever()`` in
    the calling thread (the ``khuyencong codec-server`` command)."""

    def __init__(
        self,
        codec: EncryptionCodec,
        *,
        host: str = "127.0.0.1",
        port: int = 8234,
        allowed_origins: Iterable[str] = DEFAULT_ORIGINS,
        token: str | None = None,
        namespaces: Iterable[str] | None = None,
    ) -> None:
        self.codec = codec
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}
        self.token = token or None
        self.namespaces = set(namespaces) if namespaces else None
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="codec-server", daemon=True
        )
        self._thread.start()
        log.info("codec server listening", url=self.url, auth=self.token is not None)
        return self

    def serve_forever(self) -> None:
        log.info("codec server listening", url=self.url, auth=self.token is not None)
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> CodecServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol, independent of HTTP ---------------------------------------------------

    def transform(self, operation: str, body: bytes) -> bytes:
        """``operation`` is ``encode`` or ``decode``; ``body`` the JSON Payloads. Raises
        ValueError (bad request) or :class:`~khuyencong.codec.UnknownKey`."""
        payloads = Payloads()
        try:
            json_format.Parse(body.decode("utf-8"), payloads, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise ValueError(f"body is not JSON Payloads: {exc}") from None
        step = self.codec.encode_payload if operation == "encode" else self.codec.decode_payload
        result = Payloads(payloads=[step(p) for p in payloads.payloads])
        return json_format.MessageToJson(result, indent=None).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server_state: CodecServer
    protocol_version = "HTTP/1.1"

    # --- CORS --------------------------------------------------------------------------------

    def _cors(self) -> dict[str, str]:
        origin = (self.headers.get("Origin") or "").rstrip("/")
        allowed = self.server_state.allowed_origins
        if not origin or not ("*" in allowed or origin in allowed):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }

    def _send(self, status: HTTPStatus, body: bytes = b"", content_type: str = "") -> None:
        self.send_response(status)
        for name, value in self._cors().items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str) -> None:
        body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json")

    # --- methods -----------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        self._send(HTTPStatus.NO_CONTENT)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/health", "/healthz"):
            self._send(HTTPStatus.OK, b"ok\n", "text/plain")
        else:
            self._error(HTTPStatus.NOT_FOUND, "POST /encode or /decode")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        operation = path.rsplit("/", 1)[-1]
        if operation not in ("encode", "decode"):
            self._error(HTTPStatus.NOT_FOUND, "POST /encode or /decode")
            return
        state = self.server_state
        if state.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode()):
                self._error(HTTPStatus.UNAUTHORIZED, "a valid bearer token is required")
                return
        namespace = self.headers.get("X-Namespace")
        if state.namespaces is not None and namespace not in state.namespaces:
            self._error(HTTPStatus.FORBIDDEN, f"namespace {namespace!r} is not served here")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body missing or too large")
            return
        body = self.rfile.read(length)
        try:
            answer = state.transform(operation, body)
        except ValueError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._send(HTTPStatus.OK, answer, "application/json")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("codec server request", request=format % args)
