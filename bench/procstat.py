"""CPU time and resident memory of processes, read from ``/proc`` (Linux).

CPU of a process *tree*: the root's own user + system time, the time of its children it has
waited for (``cutime``/``cstime``: PostgreSQL backends that exited), and the own time of every
descendant still alive. Differences of two readings give the CPU a phase cost.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may hold spaces: split after its closing one
    return text[text.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is None:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def cpu_ms(pid: int, *, tree: bool = True) -> float:
    """CPU milliseconds (user + system) of ``pid`` and, with ``tree``, its descendants, alive
    or reaped. 0 when the process is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(fields[11]) + int(fields[12])
    if tree:
        ticks += int(fields[13]) + int(fields[14])
        children = _children()
        stack = list(children.get(pid, []))
        while stack:
            child = stack.pop()
            own = _stat_fields(child)
            if own is not None:
                ticks += int(own[11]) + int(own[12])
            stack += children.get(child, [])
    return ticks * 1000 / TICKS


def machine_busy_ms() -> float:
    """CPU milliseconds every core of the machine spent busy since boot (``/proc/stat``: all
    but idle and iowait), to tell what other processes took during a phase."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal (guest times are inside user and nice)
    ticks = [int(f) for f in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) * 1000 / TICKS


def rss_kb(pid: int) -> int:
    """``VmRSS`` of ``pid`` in KiB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def postmaster_pid(data_dir: Path) -> int | None:
    """The PostgreSQL server's PID: the first line of ``postmaster.pid``."""
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
