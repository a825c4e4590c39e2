"""khuyencong.embedded_pg.running_url: a short command connects to the dev stack's running
server, read from its ``postmaster.pid``, without importing the package or holding it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from khuyencong.embedded_pg import running_url


def write_pid_file(folder: Path, pid: int, status: str, port: int = 5432) -> None:
    lines = [str(pid), str(folder), "1796171367", str(port), str(folder), "", "  1  9", status]
    (folder / "postmaster.pid").write_text("\n".join(lines) + "\n")


def test_a_command_uses_the_running_dev_server_read_from_its_pid_file(tmp_path: Path) -> None:
    write_pid_file(tmp_path, os.getpid(), "ready")  # this process: alive
    assert running_url(tmp_path) == f"postgresql://postgres:@/khuyencong?host={tmp_path}"
    write_pid_file(tmp_path, os.getpid(), "ready", port=5433)
    assert running_url(tmp_path, "other") == (
        f"postgresql://postgres:@/other?host={tmp_path}&port=5433"
    )


def test_no_running_server_is_assumed_without_a_live_ready_postmaster(tmp_path: Path) -> None:
    assert running_url(tmp_path) is None  # no pid file
    write_pid_file(tmp_path, os.getpid(), "starting")
    assert running_url(tmp_path) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pid_file(tmp_path, dead.pid, "ready")
    assert running_url(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text("garbage\n")
    assert running_url(tmp_path) is None
