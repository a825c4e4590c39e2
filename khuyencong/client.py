"""The one Temporal client factory.

Every process connects through :func:`connect` so the data converter is always the project's
pydantic converter (:data:`khuyencong.converter.data_converter`: int đồng, dates and enums
readable in the CLI and the UI; malformed update payloads refused as ``InvalidField``),
encrypting payloads with the configured codec keys (:mod:`khuyencong.codec`), and TLS,
API key and metrics come from :class:`~khuyencong.settings.Settings` the same way everywhere.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import structlog
from temporalio.client import Client, Interceptor
from temporalio.common import HeaderCodecBehavior
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from khuyencong.codec import ClearCodec, CodecKeys, EncryptionCodec
from khuyencong.converter import converter_with, data_converter
from khuyencong.settings import Settings, StartupError, env_name

log = structlog.get_logger(__name__)

_runtime: Runtime | None = None
_warned_clear = False
_runtime_bind: str | None = None


class TemporalUnreachable(StartupError):
    """The Temporal frontend did not answer."""


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS from files; ``False`` when TLS is off, ``True`` for TLS with the system roots."""
    if not settings.tls_enabled:
        return False
    if not any((settings.tls_cert_path, settings.tls_server_ca_path, settings.tls_server_name)):
        return True
    return TLSConfig(
        server_root_ca_cert=_read(settings.tls_server_ca_path),
        domain=settings.tls_server_name,
        client_cert=_read(settings.tls_cert_path),
        client_private_key=_read(settings.tls_key_path),
    )


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


def runtime_for(settings: Settings) -> Runtime | None:
    """The process's Runtime with a Prometheus endpoint, when ``metrics_bind`` is set.

    A process has one Runtime: the first call creates it, later calls reuse it.
    """
    global _runtime, _runtime_bind
    if settings.metrics_bind is None:
        return _runtime
    if _runtime is None:
        _runtime = Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_bind))
        )
        _runtime_bind = settings.metrics_bind
    elif _runtime_bind != settings.metrics_bind:
        raise StartupError(
            f"{env_name('metrics_bind')}: this process already serves metrics on "
            f"{_runtime_bind}; one metrics endpoint per process"
        )
    return _runtime


def project_converter(codec_keys: CodecKeys | None = None) -> DataConverter:
    """The project converter, encrypting with ``codec_keys`` or, when None, with the configured
    keys (``KHUYENCONG_CODEC_KEYS`` / ``KHUYENCONG_CODEC_KEYS_FILE``, read through
    :class:`Settings`): what a replay tool or a script outside the CLI needs."""
    keys = codec_keys if codec_keys is not None else CodecKeys.from_settings(Settings.from_env())
    return converter_for(keys)


def converter_for(keys: CodecKeys | None) -> DataConverter:
    """The project converter with exactly ``keys`` (None: payloads in clear, and a warning)."""
    if keys is None:
        global _warned_clear
        if not _warned_clear:
            _warned_clear = True
            log.warning(
                "payloads are not encrypted: set KHUYENCONG_CODEC_KEYS (see khuyencong.codec)"
            )
        # Failures stay in clear too (no encoded attributes): only payloads meet the codec.
        return dataclasses.replace(data_converter, payload_codec=ClearCodec())
    return converter_with(EncryptionCodec(keys))


async def connect(
    settings: Settings,
    *,
    connect_timeout: timedelta = timedelta(seconds=10),
    codec_keys: CodecKeys | None = None,
) -> Client:
    """Connect to Temporal as configured. Raises :class:`TemporalUnreachable` with a short
    message (address, namespace, cause and the variable to check) instead of a trace.

    Payloads are encrypted with ``codec_keys``, or the configured keys
    (``KHUYENCONG_CODEC_KEYS`` / ``_FILE``, :meth:`CodecKeys.from_settings`)."""
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    if codec_keys is None:
        codec_keys = CodecKeys.from_settings(settings)
    converter = converter_for(codec_keys)
    interceptors = identity_interceptors(settings)
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            api_key=api_key,
            tls=tls_config(settings),
            data_converter=converter,
            runtime=runtime_for(settings),
            connect_timeout=connect_timeout,
            interceptors=interceptors,
            # Headers go through the payload codec too: an official's signed statement
            # (khuyencong.identity) is encrypted in the history like every payload.
            header_codec_behavior=HeaderCodecBehavior.CODEC,
        )
    except RuntimeError as exc:
        raise TemporalUnreachable(
            f"cannot reach Temporal at {settings.temporal_address} (namespace "
            f"{settings.namespace!r}, TLS {'on' if settings.tls_enabled else 'off'}): "
            f"{_cause(exc)}. Is the server running? Check {env_name('temporal_address')}"
            + (" and the TLS settings" if settings.tls_enabled else "")
            + "; for a local server run `khuyencong dev`."
        ) from None


def identity_interceptors(settings: Settings) -> list[Interceptor]:
    """A :class:`~khuyencong.identity_interceptors.SigningInterceptor` when this process has
    a signing key (the admin tool; a worker that relays plan decisions); it signs only the
    updates the caller vouches for."""
    from khuyencong.identity import IdentityKeys
    from khuyencong.identity_interceptors import SigningInterceptor

    keys = IdentityKeys.from_settings(settings)
    if keys.signing is None:
        return []
    return [SigningInterceptor(keys.signing, ttl_seconds=settings.identity_ttl_seconds)]


def _cause(exc: BaseException) -> str:
    text = str(exc)
    for marker, short in (
        ("ConnectionRefused", "connection refused"),
        ("Connection refused", "connection refused"),
        ("dns error", "unknown host"),
        ("failed to lookup address", "unknown host"),
        ("timed out", "timed out"),
        ("InvalidCertificate", "server certificate not trusted"),
        ("certificate", "TLS certificate problem"),
    ):
        if marker in text:
            return short
    return text.removeprefix("Failed client connect: ")[:300]
