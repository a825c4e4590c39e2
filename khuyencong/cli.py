"""``khuyencong``: the command line.

- ``khuyencong dev``: the whole local stack (Temporal dev server, embedded PostgreSQL, worker,
  the Bắc Giang 2019 demo). See :mod:`khuyencong.devstack`.
- ``khuyencong worker``: the production worker (``worker.py``).
- ``khuyencong migrate``: apply database migrations (the worker and ``dev`` apply them at
  start-up; the other commands only check the schema and name this command when it is behind).
- ``khuyencong units load FILE`` / ``calendar add-days-off YEAR FILE``: places and days off as
  data (:mod:`khuyencong.places_cli`).
- ``khuyencong register FILE``: register đề án from a JSON or CSV file
  (:mod:`khuyencong.dossier_file`, :mod:`khuyencong.registration`; as ``starter.py``).

Settings come from ``KHUYENCONG_*`` variables (:mod:`khuyencong.settings`); options override
them. Every command runs through :mod:`khuyencong.cli_runner`: problems that stop a command
print one readable message and exit with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from khuyencong.admin.cli import install as add_admin_commands
from khuyencong.chaos.cli import add_commands as add_chaos_commands
from khuyencong.cli_ops import add_commands as add_ops_commands
from khuyencong.cli_runner import fail, load_settings, run
from khuyencong.places_cli import add_commands as add_places_commands
from khuyencong.plans.cli import plans_app
from khuyencong.settings import StartupError

app = typer.Typer(
    name="khuyencong",
    help="Khuyến công Flow: đề án khuyến công as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Register the Bắc Giang 2019 demo.")
    ] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Local state (Temporal DB, PostgreSQL). [env KHUYENCONG_DATA_DIR]"),
    ] = None,
) -> None:
    """Run everything locally: Temporal dev server, PostgreSQL, worker and the demo."""
    from khuyencong.devstack import run_dev

    settings = load_settings(data_dir=data_dir)
    run(lambda: run_dev(settings, port=port, ui_port=ui_port, seed=seed))


@app.command()
def worker() -> None:
    """Run the worker against KHUYENCONG_TEMPORAL_ADDRESS until SIGTERM / Ctrl-C."""
    from worker import run_worker

    settings = load_settings()
    run(lambda: run_worker(settings))


@app.command()
def migrate() -> None:
    """Apply pending migrations to KHUYENCONG_DATABASE_URL (or the embedded PostgreSQL)."""
    from khuyencong.database import migrate as apply

    settings = load_settings()
    applied = run(lambda: apply(settings))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@app.command()
def register(
    file: Annotated[
        Path, typer.Argument(help="JSON or CSV file of đề án (see khuyencong/dossier_file.py).")
    ],
) -> None:
    """Register đề án from FILE: validate all rows, then start one workflow per đề án."""
    from khuyencong.dossier_file import load_file

    settings = load_settings()
    try:
        entries = load_file(file, settings)  # every row checked before connecting
    except StartupError as exc:
        raise fail(str(exc)) from None

    async def start() -> Any:
        from khuyencong.client import connect
        from khuyencong.registration import register_all
        from khuyencong.search_attributes import tax_code_hash_key

        client = await connect(settings)
        return await register_all(
            client, settings.task_queue, entries, hash_key=tax_code_hash_key(settings)
        )

    report = run(start)
    report.print(sys.stdout)
    if report.problems:
        raise typer.Exit(1)


add_ops_commands(app)  # search-attributes register|list, codec-server, codec-key, tax-code-hash

add_admin_commands(app)  # officials, de-an, inbox

app.add_typer(plans_app, name="plan")  # template, import, decide, status, report, simulate

add_chaos_commands(app)  # chaos (fault suite), chaos fuzz

add_places_commands(app)  # units (load, list), calendar (add-days-off, show)


def main() -> None:  # pragma: no cover - console script shim
    sys.exit(app())
