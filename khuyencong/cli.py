"""``khuyencong``: the command line.

- ``khuyencong dev``: the whole local stack (Temporal dev server, embedded PostgreSQL, worker,
  the Bắc Giang 2019 demo). See :mod:`khuyencong.devstack`.
- ``khuyencong worker``: the production worker (``worker.py``).
- ``khuyencong migrate``: apply database migrations.
- ``khuyencong register FILE``: register đề án from a JSON or CSV file (``starter.py``).

Settings come from ``KHUYENCONG_*`` variables (:mod:`khuyencong.settings`); options override
them. Problems that stop a command print one readable message and exit with status 2.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from khuyencong.logging import configure_logging
from khuyencong.settings import Settings, StartupError

T = TypeVar("T")

app = typer.Typer(
    name="khuyencong",
    help="Khuyến công Flow: đề án khuyến công as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> typer.Exit:
    typer.secho(str(message), err=True, fg=typer.colors.RED)
    return typer.Exit(2)


def _settings(**overrides: Any) -> Settings:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); the fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        settings = Settings.from_env(**overrides)
    except StartupError as exc:
        raise _fail(str(exc)) from None
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run`` with readable startup errors and the sdk-python #300 pause at exit."""

    async def main() -> T:
        try:
            return await factory()
        finally:
            await asyncio.sleep(0.5)

    try:
        return asyncio.run(main())
    except StartupError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


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

    settings = _settings(data_dir=data_dir)
    _run(lambda: run_dev(settings, port=port, ui_port=ui_port, seed=seed))


@app.command()
def worker() -> None:
    """Run the worker against KHUYENCONG_TEMPORAL_ADDRESS until SIGTERM / Ctrl-C."""
    from worker import run_worker

    settings = _settings()
    _run(lambda: run_worker(settings))


@app.command()
def migrate() -> None:
    """Apply pending migrations to KHUYENCONG_DATABASE_URL (or the embedded PostgreSQL)."""
    from khuyencong.devstack import migrate as apply

    settings = _settings()
    applied = _run(lambda: apply(settings))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@app.command()
def register(
    file: Annotated[Path, typer.Argument(help="JSON or CSV file of đề án (see starter.py).")],
) -> None:
    """Register đề án from FILE: validate all rows, then start one workflow per đề án."""
    from starter import load_file, print_report, register_all

    settings = _settings()
    try:
        entries = load_file(file, settings)  # every row checked before connecting
    except StartupError as exc:
        raise _fail(str(exc)) from None

    async def start() -> Any:
        from khuyencong.client import connect

        return await register_all(await connect(settings), settings.task_queue, entries)

    report = _run(start)
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


from khuyencong.cli_ops import add_commands as add_ops_commands  # noqa: E402

add_ops_commands(app)  # search-attributes register|list, codec-server, codec-key, tax-code-hash

from khuyencong.admin.cli import install as add_admin_commands  # noqa: E402

add_admin_commands(app)  # officials, de-an, inbox

from khuyencong.plans.cli import plans_app  # noqa: E402

app.add_typer(plans_app, name="plan")  # template, import, decide, status, report, simulate

from khuyencong.chaos.cli import add_commands as add_chaos_commands  # noqa: E402

add_chaos_commands(app)  # chaos (fault suite), chaos fuzz


def main() -> None:  # pragma: no cover - console script shim
    sys.exit(app())
