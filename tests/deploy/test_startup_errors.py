"""A worker that cannot start says why in one line and exits with status 2: no wall of
stack trace for the operator (systemd's journal, `docker compose logs`, `kubectl logs`)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


async def start_worker(**variables: str) -> tuple[int, str]:
    """``python worker.py`` with only these KHUYENCONG_* settings; (exit status, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUYENCONG_")}
    env.update(variables)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "worker.py",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def free_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_bad_settings_and_an_unreachable_server_each_stop_the_worker_with_one_clear_line(
    tmp_path: Path,
) -> None:
    port = free_port()
    missing_ca = tmp_path / "ca.pem"
    cert = tmp_path / "client.pem"
    cert.write_text("PEM")
    (
        (tls_missing, tls_err),
        (half_mtls, half_err),
        (unreachable, unreachable_err),
    ) = await asyncio.gather(
        start_worker(KHUYENCONG_TLS_SERVER_CA_PATH=str(missing_ca)),
        start_worker(KHUYENCONG_TLS_CERT_PATH=str(cert)),
        start_worker(
            KHUYENCONG_TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
            KHUYENCONG_DATABASE_URL="postgresql://kc@127.0.0.1:1/kc",
        ),
    )

    assert tls_missing == 2
    assert "KHUYENCONG_TLS_SERVER_CA_PATH: file not found" in tls_err
    assert str(missing_ca) in tls_err

    assert half_mtls == 2
    assert "KHUYENCONG_TLS_KEY_PATH" in half_err and "together" in half_err

    assert unreachable == 2
    problem = [line for line in unreachable_err.splitlines() if "cannot reach" in line]
    assert len(problem) == 1
    assert f"cannot reach Temporal at 127.0.0.1:{port}" in problem[0]
    assert "connection refused" in problem[0]
    assert "KHUYENCONG_TEMPORAL_ADDRESS" in problem[0]

    for stderr in (tls_err, half_err, unreachable_err):
        assert "Traceback" not in stderr
