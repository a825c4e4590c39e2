"""Process settings, read once from ``KHUYENCONG_*`` environment variables.

Every entry point (worker, starter, CLI) builds one :class:`Settings` with
:meth:`Settings.from_env` and passes it down; nothing else reads the environment. A bad value
raises :class:`SettingsError` whose message names the variable, e.g.
``KHUYENCONG_LOG_FORMAT: must be one of console, json (got 'xml')``.

=====================================  =========================================================
Variable                               Meaning (default)
=====================================  =========================================================
``KHUYENCONG_TEMPORAL_ADDRESS``        Temporal frontend ``host:port`` (``127.0.0.1:7233``)
``KHUYENCONG_NAMESPACE``               Temporal namespace (``default``)
``KHUYENCONG_TASK_QUEUE``              Task queue of the worker and the starter (``khuyen-cong``)
``KHUYENCONG_TLS``                     ``true`` for TLS with system roots; implied by a cert,
                                       a CA or an API key (unset)
``KHUYENCONG_TLS_CERT_PATH``           Client certificate for mTLS (PEM); needs the key
``KHUYENCONG_TLS_KEY_PATH``            Client private key for mTLS (PEM); needs the cert
``KHUYENCONG_TLS_SERVER_CA_PATH``      CA that signed the server certificate (PEM)
``KHUYENCONG_TLS_SERVER_NAME``         Server name to verify (SNI), when it differs from the host
``KHUYENCONG_API_KEY``                 API key (Temporal Cloud); turns TLS on
``KHUYENCONG_DATABASE_URL``            ``postgresql://…``; unset: embedded PostgreSQL in data_dir
``KHUYENCONG_DATA_DIR``                Local state of ``khuyencong dev`` (``./.khuyencong``)
``KHUYENCONG_RULE_PACK_DIR``           Folder of extra rule-pack JSON files (unset)
``KHUYENCONG_LOG_FORMAT``              ``console`` (dev) or ``json`` (production) (``console``)
``KHUYENCONG_LOG_LEVEL``               ``DEBUG`` / ``INFO`` / ``WARNING`` / ``ERROR`` (``INFO``)
``KHUYENCONG_MAX_CONCURRENT_ACTIVITIES``      Activity slots of the worker (100)
``KHUYENCONG_MAX_CONCURRENT_WORKFLOW_TASKS``  Workflow-task slots of the worker (100)
``KHUYENCONG_MAX_CACHED_WORKFLOWS``           Sticky cache size, in workflows (1000)
``KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS``      Time running activities get on shutdown (30)
``KHUYENCONG_METRICS_BIND``            ``host:port`` of a Prometheus endpoint, e.g.
                                       ``127.0.0.1:9464`` (unset: no metrics endpoint)
``KHUYENCONG_UI_URL``                  Temporal Web UI the admin tool links to
                                       (``http://127.0.0.1:8233``)
``KHUYENCONG_OFFICIAL_ID``             The official the admin tool acts as; ``--as``
                                       overrides it (unset)
``KHUYENCONG_PASSWORD``                The acting official's password, for scripts; unset:
                                       the admin tool prompts for it (unset)
``KHUYENCONG_IDENTITY_SIGNING_KEY``    ``id:base64`` Ed25519 seed that signs officials'
                                       statements (admin tool; workers relaying plan decisions)
``KHUYENCONG_IDENTITY_SIGNING_KEY_FILE``  The same, from a file
``KHUYENCONG_IDENTITY_VERIFY_KEYS``    ``id:base64`` Ed25519 public keys workers accept,
                                       comma-separated (see :mod:`khuyencong.identity`)
``KHUYENCONG_IDENTITY_VERIFY_KEYS_FILE``  The same, from a file
``KHUYENCONG_IDENTITY_TTL_SECONDS``    Lifetime of a signed statement (300, at most 900)
``KHUYENCONG_CODEC_KEYS``              ``id:base64`` AES-256 payload keys, first encrypts
                                       (unset: payloads in clear; :mod:`khuyencong.codec`)
``KHUYENCONG_CODEC_KEYS_FILE``         The same, from a file
``KHUYENCONG_CODEC_SERVER_TOKEN``      Bearer token the codec server asks for (unset: none)
``KHUYENCONG_CODEC_SERVER_TOKEN_FILE`` The same, from a file
``KHUYENCONG_TAX_CODE_HASH_KEY``       Key of ``KcTaxCodeHash``, 16 characters or more
                                       (unset: no tax-code search attribute)
``KHUYENCONG_TAX_CODE_HASH_KEY_FILE``  The same, from a file
``KHUYENCONG_WEB_BIND``                ``host:port`` of the officials' web desk
                                       (``127.0.0.1:8240``; ``khuyencong web``, ``dev``)
``KHUYENCONG_WEB_SESSION_SECRET``      Key that signs the web desk's session cookies
                                       (unset: a random key per process)
``KHUYENCONG_WEB_SSO_HEADER``          Header a trusted reverse proxy sets to the logged-in
                                       official's ID, e.g. ``X-Remote-User`` (unset: off)
``KHUYENCONG_WEB_LOCKOUT_ATTEMPTS``    Failed logins in the window that lock an official
                                       out of the web desk (5)
``KHUYENCONG_WEB_LOCKOUT_MINUTES``     That window, and how long the lockout lasts (15)
``KHUYENCONG_WEB_SESSION_MINUTES``     Idle time after which a web session ends (480)
``KHUYENCONG_WEB_ADMINS``              Officials (IDs, comma-separated) who manage the
                                       officials register on the web desk (unset: none)
``KHUYENCONG_DOCUMENT_STORE_DIR``      Folder of the evidence documents, by SHA-256
                                       (``<data_dir>/documents``)
``KHUYENCONG_DOCUMENT_STORE_URL``      ``s3://bucket/prefix``: keep the documents in an
                                       S3-compatible store instead (unset: the folder)
``KHUYENCONG_S3_ENDPOINT``             ``http(s)://host[:port]`` of that store, addressed
                                       path-style (``https://s3.<region>.amazonaws.com``)
``KHUYENCONG_S3_REGION``               Region the requests are signed for (``us-east-1``)
``KHUYENCONG_S3_ACCESS_KEY_ID``        Access key ID (required with a store URL)
``KHUYENCONG_S3_SECRET_ACCESS_KEY``    Its secret access key
``KHUYENCONG_S3_SECRET_ACCESS_KEY_FILE``  The same, from a file
``KHUYENCONG_S3_TIMEOUT_SECONDS``      Timeout of one request to the store (60)
``KHUYENCONG_DOCUMENT_MAX_BYTES``      Largest document accepted (26214400: 25 MiB)
``KHUYENCONG_HISTORY_EXPORT_SECONDS``  How often the worker exports the Temporal histories
                                       of closed đề án to PostgreSQL (300; 0: never)
=====================================  =========================================================

Empty variables count as unset.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "KHUYENCONG_"

SECRET_FIELDS = frozenset(
    {
        "api_key",
        "database_url",
        "password",
        "identity_signing_key",
        "codec_keys",
        "codec_server_token",
        "tax_code_hash_key",
        "web_session_secret",
        "s3_secret_access_key",
    }
)
"""Settings never echoed in an error message."""


class StartupError(Exception):
    """A problem that stops a process from starting, with a message for people.

    Entry points print the message on one line and exit with status 2, instead of a trace.
    """


class SettingsError(StartupError):
    """One or more ``KHUYENCONG_*`` variables are invalid."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"{variable}: {message}" for variable, message in problems]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines))


def env_name(field: str) -> str:
    """``task_queue`` → ``KHUYENCONG_TASK_QUEUE``."""
    return ENV_PREFIX + field.upper()


def _host_port(value: str, what: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be host:port with a port from 1 to 65535, e.g. {what}")
    return value


class Settings(BaseModel):
    """Everything a process needs to know about its surroundings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temporal_address: str = "127.0.0.1:7233"
    namespace: str = Field(default="default", min_length=1)
    task_queue: str = Field(default="khuyen-cong", min_length=1)

    tls: bool | None = Field(
        default=None, description="Force TLS on/off; unset: on when a TLS file or API key is set"
    )
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    tls_server_ca_path: Path | None = None
    tls_server_name: str | None = None
    api_key: SecretStr | None = None

    database_url: SecretStr | None = Field(
        default=None, description="None: an embedded PostgreSQL in data_dir/pgdata"
    )
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".khuyencong")
    rule_pack_dir: Path | None = None

    log_format: Literal["console", "json"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    max_concurrent_activities: int = Field(default=100, ge=1, le=10_000)
    max_concurrent_workflow_tasks: int = Field(default=100, ge=2, le=10_000)
    max_cached_workflows: int = Field(default=1000, ge=0, le=1_000_000)
    graceful_shutdown_seconds: float = Field(default=30, ge=0, le=3600)
    metrics_bind: str | None = None

    ui_url: str = Field(default="http://127.0.0.1:8233", description="Temporal Web UI base URL")
    official_id: str | None = Field(
        default=None, max_length=64, description="Acting official of the admin tool"
    )
    password: SecretStr | None = Field(
        default=None, description="The acting official's password (scripts); unset: prompt"
    )

    identity_signing_key: SecretStr | None = None
    identity_signing_key_file: Path | None = None
    identity_verify_keys: str | None = None
    identity_verify_keys_file: Path | None = None
    identity_ttl_seconds: int = Field(default=300, ge=30, le=900)

    # Read (and their files opened) where they are used: khuyencong.codec.CodecKeys.from_settings,
    # khuyencong.search_attributes.tax_code_hash_key, khuyencong.cli_ops (the codec server).
    codec_keys: SecretStr | None = None
    codec_keys_file: Path | None = None
    codec_server_token: SecretStr | None = None
    codec_server_token_file: Path | None = None
    tax_code_hash_key: SecretStr | None = None
    tax_code_hash_key_file: Path | None = None

    # The officials' web desk (khuyencong.web).
    web_bind: str = "127.0.0.1:8240"
    web_session_secret: SecretStr | None = None
    web_sso_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    web_lockout_attempts: int = Field(default=5, ge=1, le=100)
    web_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    web_session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    web_admins: str | None = Field(
        default=None, description="Official IDs, comma-separated, who manage the register"
    )
    # Evidence (khuyencong.audit): documents kept by content hash, histories exported at close.
    document_store_dir: Path | None = None
    # An S3-compatible store instead (khuyencong.audit.s3); the secret file is read where used.
    document_store_url: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]{1,32}$")
    s3_access_key_id: str | None = Field(default=None, max_length=256)
    s3_secret_access_key: SecretStr | None = None
    s3_secret_access_key_file: Path | None = None
    s3_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    document_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    history_export_seconds: float = Field(default=300, ge=0, le=86_400)

    @field_validator("temporal_address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _host_port(value.strip(), "127.0.0.1:7233")

    @field_validator("metrics_bind")
    @classmethod
    def _metrics(cls, value: str | None) -> str | None:
        return None if value is None else _host_port(value.strip(), "127.0.0.1:9464")

    @field_validator("web_bind")
    @classmethod
    def _web_bind(cls, value: str) -> str:
        return _host_port(value.strip(), "127.0.0.1:8240")

    @field_validator("ui_url")
    @classmethod
    def _ui_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or value.endswith("://"):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8233")
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _case(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = value.get_secret_value().split("://", 1)[0]
            if scheme not in {"postgres", "postgresql"}:
                raise ValueError("must start with postgresql:// (or postgres://)")
        return value

    @field_validator("tls_cert_path", "tls_key_path", "tls_server_ca_path")
    @classmethod
    def _tls_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("file not found")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("document_store_url")
    @classmethod
    def _document_store_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        scheme, sep, rest = value.partition("://")
        bucket = rest.split("/", 1)[0]
        if (
            scheme != "s3"
            or not sep
            or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket)
        ):
            raise ValueError(
                "must be s3://bucket or s3://bucket/prefix (a bucket name of 3 to 63 "
                "lower-case letters, digits, dots and hyphens), e.g. s3://khuyencong/documents"
            )
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _s3_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value):
            raise ValueError("must be an http:// or https:// URL, e.g. https://minio.local:9000")
        return value

    @field_validator(
        "identity_signing_key_file", "identity_verify_keys_file", "s3_secret_access_key_file"
    )
    @classmethod
    def _key_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError("file not found")
        return None if value is None else value.expanduser()

    @field_validator("rule_pack_dir")
    @classmethod
    def _rule_pack_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("folder not found")
        return value

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Settings:
        if (self.tls_cert_path is None) != (self.tls_key_path is None):
            missing = "tls_key_path" if self.tls_key_path is None else "tls_cert_path"
            raise ValueError(
                f"{env_name(missing)} is required too: a client certificate and its key go together"
            )
        return self

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.document_store_url is None:
            return self
        url = env_name("document_store_url")
        if self.document_store_dir is not None:
            raise ValueError(
                f"{env_name('document_store_dir')} and {url} are both set: "
                "documents are kept in one store, unset one of them"
            )
        if self.s3_access_key_id is None:
            raise ValueError(f"{env_name('s3_access_key_id')} is required with {url}")
        if (self.s3_secret_access_key is None) == (self.s3_secret_access_key_file is None):
            secret = env_name("s3_secret_access_key")
            raise ValueError(
                f"{secret} or {secret}_FILE (one of them, not both) is required with {url}"
            )
        return self

    # --- derived -----------------------------------------------------------------------

    @property
    def tls_enabled(self) -> bool:
        if self.tls is not None:
            return self.tls
        return any(
            v is not None
            for v in (self.tls_cert_path, self.tls_server_ca_path, self.tls_server_name)
        ) or (self.api_key is not None)

    @property
    def database_url_value(self) -> str | None:
        return None if self.database_url is None else self.database_url.get_secret_value()

    @property
    def web_admin_ids(self) -> frozenset[str]:
        return frozenset(
            part.strip() for part in (self.web_admins or "").split(",") if part.strip()
        )

    @property
    def documents_dir(self) -> Path:
        """Where the evidence documents are kept (``document_store_dir``, else in data_dir)."""
        return self.document_store_dir or self.data_dir / "documents"

    @property
    def document_store_bucket(self) -> str | None:
        """The bucket of ``document_store_url`` (None: the documents are in a folder)."""
        if self.document_store_url is None:
            return None
        return self.document_store_url.removeprefix("s3://").split("/", 1)[0]

    @property
    def document_store_prefix(self) -> str:
        """The key prefix of ``document_store_url`` (``""``: none)."""
        if self.document_store_url is None:
            return ""
        return self.document_store_url.removeprefix("s3://").partition("/")[2].strip("/")

    @property
    def s3_endpoint_url(self) -> str:
        """``s3_endpoint``, else AWS's regional endpoint."""
        return self.s3_endpoint or f"https://s3.{self.s3_region}.amazonaws.com"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def rule_pack_dirs(self) -> tuple[Path, ...]:
        return () if self.rule_pack_dir is None else (self.rule_pack_dir,)

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``KHUYENCONG_*`` from ``environ`` (default ``os.environ``); keyword arguments
        override variables (the CLI's options). Raises :class:`SettingsError`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(env_name(name))
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(_problems(exc, values)) from None


def _problems(exc: ValidationError, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"]:
            field = str(error["loc"][0])
            shown = "***" if field in SECRET_FIELDS else values.get(field)
            suffix = f" (got {shown!r})" if shown is not None else ""
            problems.append((env_name(field), message + suffix))
        else:
            variable, _, rest = message.partition(" ")
            problems.append((variable, rest) if variable.startswith(ENV_PREFIX) else ("", message))
    return problems
