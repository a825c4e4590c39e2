"""Settings from KHUYENCONG_* variables, and the client factory that uses them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from khuyencong.client import TemporalUnreachable, connect, tls_config
from khuyencong.settings import Settings, SettingsError


def problems_of(env: dict[str, str]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return dict(caught.value.problems)


def test_nothing_set_gives_the_local_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.namespace == "default"
    assert settings.task_queue == "khuyen-cong"
    assert settings.database_url is None
    assert settings.data_dir == tmp_path / ".khuyencong"
    assert settings.pg_data_dir == tmp_path / ".khuyencong" / "pgdata"
    assert settings.log_format == "console"
    assert settings.graceful_shutdown_seconds == 30
    assert settings.metrics_bind is None
    assert settings.tls_enabled is False


def test_every_variable_is_read(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / name for name in ("client.pem", "client.key", "ca.pem"))
    for path in (cert, key, ca):
        path.write_text("PEM")
    packs = tmp_path / "packs"
    packs.mkdir()
    settings = Settings.from_env(
        {
            "KHUYENCONG_TEMPORAL_ADDRESS": "temporal.example.vn:7233",
            "KHUYENCONG_NAMESPACE": "khuyencong.bg",
            "KHUYENCONG_TASK_QUEUE": "kc-bac-giang",
            "KHUYENCONG_TLS_CERT_PATH": str(cert),
            "KHUYENCONG_TLS_KEY_PATH": str(key),
            "KHUYENCONG_TLS_SERVER_CA_PATH": str(ca),
            "KHUYENCONG_TLS_SERVER_NAME": "temporal.example.vn",
            "KHUYENCONG_API_KEY": "secret-key",
            "KHUYENCONG_DATABASE_URL": "postgresql://kc:pw@db:5432/khuyencong",
            "KHUYENCONG_DATA_DIR": str(tmp_path / "state"),
            "KHUYENCONG_RULE_PACK_DIR": str(packs),
            "KHUYENCONG_LOG_FORMAT": "JSON",
            "KHUYENCONG_LOG_LEVEL": "debug",
            "KHUYENCONG_MAX_CONCURRENT_ACTIVITIES": "20",
            "KHUYENCONG_MAX_CONCURRENT_WORKFLOW_TASKS": "10",
            "KHUYENCONG_MAX_CACHED_WORKFLOWS": "500",
            "KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS": "45",
            "KHUYENCONG_METRICS_BIND": "127.0.0.1:9464",
        }
    )
    assert settings.temporal_address == "temporal.example.vn:7233"
    assert settings.namespace == "khuyencong.bg"
    assert settings.task_queue == "kc-bac-giang"
    assert settings.tls_cert_path == cert and settings.tls_key_path == key
    assert settings.tls_server_ca_path == ca
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "secret-key"
    assert settings.database_url_value == "postgresql://kc:pw@db:5432/khuyencong"
    assert settings.data_dir == tmp_path / "state"
    assert settings.rule_pack_dirs == (packs,)
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    assert settings.max_concurrent_activities == 20
    assert settings.max_concurrent_workflow_tasks == 10
    assert settings.max_cached_workflows == 500
    assert settings.graceful_shutdown_seconds == 45
    assert settings.metrics_bind == "127.0.0.1:9464"
    assert settings.tls_enabled is True


def test_secrets_stay_out_of_the_printed_settings() -> None:
    settings = Settings.from_env(
        {
            "KHUYENCONG_API_KEY": "secret-key",
            "KHUYENCONG_DATABASE_URL": "postgresql://kc:hunter2@db/khuyencong",
        }
    )
    assert "secret-key" not in repr(settings)
    assert "hunter2" not in repr(settings)


def test_empty_variables_count_as_unset() -> None:
    settings = Settings.from_env({"KHUYENCONG_DATABASE_URL": "", "KHUYENCONG_TASK_QUEUE": "  "})
    assert settings.database_url is None
    assert settings.task_queue == "khuyen-cong"


def test_options_override_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"KHUYENCONG_DATA_DIR": "/somewhere/else"}, data_dir=tmp_path, task_queue=None
    )
    assert settings.data_dir == tmp_path
    assert settings.task_queue == "khuyen-cong"


def test_an_invalid_log_format_is_refused_naming_the_variable_and_the_value() -> None:
    problems = problems_of({"KHUYENCONG_LOG_FORMAT": "xml"})
    assert list(problems) == ["KHUYENCONG_LOG_FORMAT"]
    assert "console" in problems["KHUYENCONG_LOG_FORMAT"]
    assert "'xml'" in problems["KHUYENCONG_LOG_FORMAT"]


def test_a_missing_tls_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    problems = problems_of({"KHUYENCONG_TLS_SERVER_CA_PATH": str(missing)})
    assert "file not found" in problems["KHUYENCONG_TLS_SERVER_CA_PATH"]
    assert str(missing) in problems["KHUYENCONG_TLS_SERVER_CA_PATH"]


def test_a_client_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("PEM")
    problems = problems_of({"KHUYENCONG_TLS_CERT_PATH": str(cert)})
    assert "KHUYENCONG_TLS_KEY_PATH" in problems
    assert "together" in problems["KHUYENCONG_TLS_KEY_PATH"]


def test_a_missing_rule_pack_folder_is_refused(tmp_path: Path) -> None:
    problems = problems_of({"KHUYENCONG_RULE_PACK_DIR": str(tmp_path / "missing")})
    assert "folder not found" in problems["KHUYENCONG_RULE_PACK_DIR"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KHUYENCONG_TEMPORAL_ADDRESS", "localhost"),
        ("KHUYENCONG_TEMPORAL_ADDRESS", "localhost:99999"),
        ("KHUYENCONG_METRICS_BIND", "9464"),
        ("KHUYENCONG_MAX_CONCURRENT_ACTIVITIES", "many"),
        ("KHUYENCONG_MAX_CONCURRENT_ACTIVITIES", "0"),
        ("KHUYENCONG_MAX_CACHED_WORKFLOWS", "-1"),
        ("KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS", "soon"),
        ("KHUYENCONG_LOG_LEVEL", "chatty"),
    ],
)
def test_an_invalid_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    problems = problems_of({variable: value})
    assert list(problems) == [variable]
    assert repr(value) in problems[variable]


def test_a_database_url_that_is_not_postgresql_is_refused_without_echoing_it() -> None:
    problems = problems_of({"KHUYENCONG_DATABASE_URL": "mysql://root:hunter2@db/kc"})
    assert "postgresql://" in problems["KHUYENCONG_DATABASE_URL"]
    assert "hunter2" not in problems["KHUYENCONG_DATABASE_URL"]


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {"KHUYENCONG_LOG_FORMAT": "xml", "KHUYENCONG_MAX_CACHED_WORKFLOWS": "lots"}
        )
    message = str(caught.value)
    assert "KHUYENCONG_LOG_FORMAT" in message
    assert "KHUYENCONG_MAX_CACHED_WORKFLOWS" in message


def test_tls_is_off_by_default_and_read_from_files_when_configured(tmp_path: Path) -> None:
    assert tls_config(Settings.from_env({})) is False
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"CA")
    cert = tmp_path / "c.pem"
    cert.write_bytes(b"CERT")
    key = tmp_path / "c.key"
    key.write_bytes(b"KEY")
    config = tls_config(
        Settings.from_env(
            {
                "KHUYENCONG_TLS_SERVER_CA_PATH": str(ca),
                "KHUYENCONG_TLS_CERT_PATH": str(cert),
                "KHUYENCONG_TLS_KEY_PATH": str(key),
                "KHUYENCONG_TLS_SERVER_NAME": "temporal.example.vn",
            }
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == b"CA"
    assert (config.client_cert, config.client_private_key) == (b"CERT", b"KEY")
    assert config.domain == "temporal.example.vn"


def test_an_api_key_alone_turns_on_tls_with_the_system_roots() -> None:
    assert tls_config(Settings.from_env({"KHUYENCONG_API_KEY": "k"})) is True
    assert (
        tls_config(Settings.from_env({"KHUYENCONG_API_KEY": "k", "KHUYENCONG_TLS": "0"})) is False
    )


async def test_an_unreachable_server_gives_one_readable_sentence() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings.from_env({"KHUYENCONG_TEMPORAL_ADDRESS": f"127.0.0.1:{port}"})
    with pytest.raises(TemporalUnreachable) as caught:
        await connect(settings)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "connection refused" in message
    assert "KHUYENCONG_TEMPORAL_ADDRESS" in message
    assert "\n" not in message


def test_only_the_settings_module_reads_the_environment() -> None:
    """``os.environ`` / ``os.getenv`` in the project's modules: only khuyencong/settings.py,
    and the chaos stack, which hands its worker processes the environment minus every
    ``KHUYENCONG_*`` variable (it sets those from its own settings)."""
    import ast

    root = Path(__file__).resolve().parents[2]
    allowed = {"khuyencong/settings.py", "khuyencong/chaos/stack.py"}
    readers = set()
    for folder in ("domain", "workflows", "activities", "khuyencong", "migrations"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                    readers.add(str(path.relative_to(root)))
    for script in ("worker.py", "starter.py"):
        if "environ" in (root / script).read_text(encoding="utf-8"):
            readers.add(script)
    assert readers <= allowed, sorted(readers - allowed)


S3 = {
    "KHUYENCONG_DOCUMENT_STORE_URL": "s3://khuyencong-bg/documents/",
    "KHUYENCONG_S3_ENDPOINT": "https://minio.sct.bacgiang.gov.vn:9000/",
    "KHUYENCONG_S3_REGION": "vn-north-1",
    "KHUYENCONG_S3_ACCESS_KEY_ID": "KCDOCS",
    "KHUYENCONG_S3_SECRET_ACCESS_KEY": "s3-hunter2",
}


def test_an_s3_document_store_is_read_from_its_url_endpoint_region_and_keys() -> None:
    settings = Settings.from_env(S3)
    assert settings.document_store_bucket == "khuyencong-bg"
    assert settings.document_store_prefix == "documents"
    assert settings.s3_endpoint_url == "https://minio.sct.bacgiang.gov.vn:9000"
    assert (settings.s3_region, settings.s3_access_key_id) == ("vn-north-1", "KCDOCS")
    assert "s3-hunter2" not in repr(settings)
    aws = Settings.from_env({**S3, "KHUYENCONG_S3_ENDPOINT": ""})
    assert aws.s3_endpoint_url == "https://s3.vn-north-1.amazonaws.com"
    assert Settings.from_env({}).document_store_bucket is None


@pytest.mark.parametrize(
    ("change", "variable", "says"),
    [
        ({"KHUYENCONG_DOCUMENT_STORE_URL": "https://bucket/x"}, "DOCUMENT_STORE_URL", "s3://"),
        ({"KHUYENCONG_DOCUMENT_STORE_URL": "s3://Bad_Bucket"}, "DOCUMENT_STORE_URL", "s3://"),
        ({"KHUYENCONG_S3_ENDPOINT": "minio:9000"}, "S3_ENDPOINT", "http://"),
        ({"KHUYENCONG_S3_ACCESS_KEY_ID": ""}, "S3_ACCESS_KEY_ID", "is required"),
        ({"KHUYENCONG_S3_SECRET_ACCESS_KEY": ""}, "S3_SECRET_ACCESS_KEY", "_FILE"),
        ({"KHUYENCONG_S3_SECRET_ACCESS_KEY_FILE": "/nowhere/secret"}, "S3_SECRET_ACCESS_KEY_FILE",
         "file not found"),
        ({"KHUYENCONG_DOCUMENT_STORE_DIR": "/srv/documents"}, "DOCUMENT_STORE_DIR", "one store"),
    ],
)  # fmt: skip
def test_an_incomplete_s3_document_store_is_refused_naming_the_variable(
    change: dict[str, str], variable: str, says: str
) -> None:
    problems = problems_of({**S3, **change})
    assert list(problems) == ["KHUYENCONG_" + variable]
    assert says in problems["KHUYENCONG_" + variable]
    assert "s3-hunter2" not in str(problems)
