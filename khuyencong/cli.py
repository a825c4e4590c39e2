"""``khuyencong``: the command line.

- ``khuyencong dev``: the whole local stack (Temporal dev server, embedded PostgreSQL, worker,
  the Bắc Giang 2019 demo). See :mod:`khuyencong.devstack`.
- ``khuyencong worker``: the production worker (``worker.py``).
- ``khuyencong web``: the officials' web desk (:mod:`khuyencong.web`).
- ``khuyencong migrate``: apply database migrations (the worker and ``dev`` apply them at
  start-up; the other commands only check the schema and name this command when it is behind).
- ``khuyencong units load FILE`` / ``calendar add-days-off YEAR FILE``: places and days off as
  data (:mod:`khuyencong.places_cli`).
- ``khuyencong register FILE``: register đề án from a JSON or CSV file
  (:mod:`khuyencong.dossier_file`, :mod:`khuyencong.registration`; as ``starter.py``).
- ``khuyencong audit verify | verify-package | export-histories`` and ``khuyencong de-an
  attach | evidence | history``: the tamper-evident record and the evidence
  (:mod:`khuyencong.audit`, docs/audit.md).

Settings come from ``KHUYENCONG_*`` variables (:mod:`khuyencong.settings`); options override
them. Every command runs through :mod:`khuyencong.cli_runner`: problems that stop a command
print one readable message and exit with status 2.

The other commands live in their own modules (:data:`LAZY_COMMANDS`), imported and built only
when a command of theirs runs (or ``--help`` lists them): ``khuyencong de-an show`` loads the
officials' commands, not the plans', the fault suite's or the operators'.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from khuyencong.cli_runner import exit_code, exit_process, fail, load_settings, run
from khuyencong.settings import StartupError

LAZY_COMMANDS: dict[str, tuple[str, ...]] = {
    # module: the function adding its commands to an app, and the names it adds
    "khuyencong.cli_ops:add_commands": (  # search-attributes register|list, codec-server, ...
        "search-attributes",
        "codec-server",
        "codec-key",
        "tax-code-hash",
        "problems",
    ),
    # officials, de-an (with de-an attach|evidence|history), inbox, token, identity-key
    "khuyencong.audit.cli:install_with_officials": (
        "officials",
        "de-an",
        "inbox",
        "token",
        "identity-key",
    ),
    "khuyencong.plans.cli:install": ("plan",),  # template, import, decide, status, simulate...
    "khuyencong.chaos.cli:add_commands": ("chaos",),  # the fault suite, chaos fuzz
    "khuyencong.audit.cli:install": ("audit",),  # verify, verify-package, export-histories
    "khuyencong.places_cli:add_commands": ("units", "calendar"),  # load, list; add-days-off, show
}
"""Top-level commands defined in other modules, by the installer that adds them."""


def lazy_command(installer: str, name: str) -> Any:
    """The click command ``name`` of ``installer`` (``module:function``), built alone."""
    module, function = installer.split(":")
    staging = typer.Typer()
    getattr(importlib.import_module(module), function)(staging)

    def named(info: Any) -> str:
        return str(info.name or typer.main.get_command_name(info.callback.__name__))

    staging.registered_commands = [c for c in staging.registered_commands if named(c) == name]
    staging.registered_groups = [g for g in staging.registered_groups if g.name == name]
    return typer.main.get_group(staging).commands[name]


class LazyCommands(MutableMapping[str, Any]):
    """The root group's commands: those of this module at once, the others
    (:data:`LAZY_COMMANDS`) imported and built the first time they are looked up."""

    def __init__(self, loaded: MutableMapping[str, Any]) -> None:
        self._loaded = dict(loaded)
        self._lazy = {n: i for i, names in LAZY_COMMANDS.items() for n in names}
        self._order = [*self._loaded, *(n for n in self._lazy if n not in self._loaded)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._lazy:
                raise KeyError(name)
            self._loaded[name] = lazy_command(self._lazy[name], name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._order:
            self._order.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._order.remove(name)
        self._loaded.pop(name, None)
        self._lazy.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)


class LazyGroup(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: nothing imported to list them


app = typer.Typer(
    name="khuyencong",
    help="Khuyến công Flow: đề án khuyến công as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
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
    web_bind: Annotated[
        str | None,
        typer.Option(help="The web desk's host:port. [env KHUYENCONG_WEB_BIND, 127.0.0.1:8240]"),
    ] = None,
) -> None:
    """Run everything locally: Temporal dev server, PostgreSQL, worker, the officials' web
    desk and the demo."""
    from khuyencong.devstack import run_dev

    settings = load_settings(data_dir=data_dir, web_bind=web_bind)
    run(lambda: run_dev(settings, port=port, ui_port=ui_port, seed=seed))


@app.command()
def worker() -> None:
    """Run the worker against KHUYENCONG_TEMPORAL_ADDRESS until SIGTERM / Ctrl-C."""
    from worker import run_worker

    settings = load_settings()
    run(lambda: run_worker(settings))


@app.command()
def web(
    bind: Annotated[
        str | None,
        typer.Option(help="host:port to listen on. [env KHUYENCONG_WEB_BIND, 127.0.0.1:8240]"),
    ] = None,
) -> None:
    """The officials' web desk (inbox, đề án, action forms) until SIGTERM / Ctrl-C."""
    from khuyencong.devstack import with_dev_identity
    from khuyencong.web.server import run_web

    settings = with_dev_identity(load_settings(web_bind=bind))
    run(lambda: run_web(settings))


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


def main() -> None:
    """The ``khuyencong`` console script: the app, then an exit that skips the interpreter's
    teardown (:func:`khuyencong.cli_runner.exit_process`)."""
    try:
        app()
    except SystemExit as done:
        exit_process(exit_code(done))
    exit_process(0)
