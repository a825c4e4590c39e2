"""How every ``khuyencong`` command runs: its settings, its event loop, its errors.

:mod:`khuyencong.cli`, :mod:`khuyencong.cli_ops`, :mod:`khuyencong.plans.cli`,
:mod:`khuyencong.chaos.cli` and the officials' commands (:func:`khuyencong.admin.cli.run`)
all use :func:`load_settings` and :func:`run`: a problem that stops a command
(:class:`~khuyencong.settings.StartupError`: bad settings, a server out of reach, a database
schema behind this version) prints one readable message and exits with status 2; Ctrl-C
exits 130.

Exit without a pause: a process that used a Temporal client could abort at interpreter exit
(``Fatal Python error: PyGILState_Release``, sdk-python #300; 2 in 40 runs of a client-only
script here) when the client's core objects are still alive while Python finalises. They
used to be given a fixed half-second sleep; :func:`run_to_end` instead drops them
(``gc.collect()``) while the event loop and the interpreter are still alive, and again once
the loop is closed: 0 aborts in 100 runs, without the wait. Everything alive before the
command starts (the modules and their classes: most of the heap) is frozen first
(``gc.freeze()``, undone after), so those two collections walk only what the command made:
tens of milliseconds less per command. The entry points then end the process through
:func:`exit_process`, before the interpreter's teardown, which a failed connect could still
crash (SIGSEGV, status 139).
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer

from khuyencong.logging import configure_logging
from khuyencong.settings import Settings, StartupError

T = TypeVar("T")

EXIT_STARTUP = 2
EXIT_INTERRUPTED = 130


def exit_process(code: int) -> NoReturn:
    """End the process with status ``code`` before the interpreter's own teardown.

    The exit handlers run first (logging's flush, an embedded PostgreSQL left to stop), the
    standard streams are flushed, and the process ends there: tearing the interpreter down
    while the Temporal core's runtime threads are alive can crash it. After a failed connect
    that was a segmentation fault (status 139) once the clear message was printed, in 6 of 75
    runs of ``python worker.py`` against a closed port on this loaded 2-core machine; a
    supervisor then sees a crash instead of status 2. The entry points (``worker.main``,
    :func:`khuyencong.cli.main`) end through here; code run in-process (tests) never does."""
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said
                pass
        os._exit(code)


def exit_code(done: SystemExit) -> int:
    """The status a ``SystemExit`` asks for, as the interpreter would give it (a message is
    printed on stderr and means status 1)."""
    if done.code is None:
        return 0
    if isinstance(done.code, int):
        return done.code
    print(done.code, file=sys.stderr)
    return 1


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red on stderr; the exit (status 2) to raise."""
    typer.secho(str(message), err=True, fg=typer.colors.RED)
    return typer.Exit(EXIT_STARTUP)


def quiet_platform_warnings() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); the fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def load_settings(**overrides: Any) -> Settings:
    """``KHUYENCONG_*`` settings (options override them), logging configured as they say."""
    quiet_platform_warnings()
    try:
        settings = Settings.from_env(**overrides)
    except StartupError as exc:
        raise fail(str(exc)) from None
    configure_logging(settings.log_format, settings.log_level)
    return settings


def run_to_end(factory: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(factory())``, the Temporal client objects it made released before the
    process can exit (see the module's note)."""

    async def main() -> T:
        try:
            return await factory()
        finally:
            gc.collect()  # the client's core objects go while the loop still runs

    gc.freeze()  # imported modules are not the command's garbage: not walked again
    try:
        return asyncio.run(main())
    finally:
        gc.collect()
        gc.unfreeze()  # a process that runs several commands (the tests) collects as before


def run(
    factory: Callable[[], Awaitable[T]],
    *,
    errors: Callable[[Exception], typer.Exit | None] | None = None,
) -> T:
    """Run ``factory()`` in a fresh event loop. ``errors`` turns an exception the command
    knows into its exit (None: not one of its own); a :class:`StartupError` left over exits 2
    with its message."""

    try:
        return run_to_end(factory)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        exit_ = errors(exc) if errors is not None else None
        if exit_ is not None:
            raise exit_ from None
        if isinstance(exc, StartupError):
            raise fail(str(exc)) from None
        raise
