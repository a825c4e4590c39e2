"""Register đề án from a file: one ``DeAnWorkflow`` per đề án, idempotently.

Usage::

    python starter.py plan.json          # or: khuyencong register plan.json
    python starter.py plan.csv

The file's forms (JSON list or CSV columns) are described in :mod:`khuyencong.dossier_file`;
every row is validated before anything starts. Starting is :mod:`khuyencong.registration`'s:
workflow ID ``de-an/<code>``, search attributes, signed start, and its policy (running the
same file twice starts nothing twice; a code already registered with another dossier is
refused).

Exit status: 0 every đề án started or already there; 1 some refused or failed; 2 nothing
started (bad file, bad settings, Temporal unreachable).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from khuyencong.cli_runner import exit_process, run_to_end
from khuyencong.client import connect
from khuyencong.dossier_file import load_file
from khuyencong.registration import RegisterReport, RegistrationEntry, register_all
from khuyencong.search_attributes import tax_code_hash_key
from khuyencong.settings import Settings, StartupError


async def start(entries: Sequence[RegistrationEntry], settings: Settings) -> RegisterReport:
    client = await connect(settings)
    return await register_all(
        client, settings.task_queue, entries, hash_key=tax_code_hash_key(settings)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python starter.py FILE.json|FILE.csv", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        entries = load_file(Path(args[0]), settings)  # every row checked before connecting
        report = run_to_end(lambda: start(entries, settings))
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 2
    report.print(sys.stdout)
    return 1 if report.problems else 0


if __name__ == "__main__":
    exit_process(main())  # skips the interpreter's teardown: see khuyencong.cli_runner
