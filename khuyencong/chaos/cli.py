"""``khuyencong chaos``: the fault suite; ``khuyencong chaos fuzz``: the update fuzzer.

Registered on the main app by :func:`add_commands`, like the operations commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

chaos_app = typer.Typer(
    help="Fault suite: lifecycles through the admin client while workers, Temporal and "
    "PostgreSQL are killed and restarted; then checks. `chaos fuzz`: random actions against "
    "an oracle.",
    invoke_without_command=True,
)


def add_commands(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")


@chaos_app.callback()
def chaos(
    ctx: typer.Context,
    lifecycles: Annotated[int, typer.Option(help="Đề án to take through their life.")] = 20,
    concurrency: Annotated[int, typer.Option(help="Đề án in flight at once.")] = 6,
    workers: Annotated[int, typer.Option(help="Worker processes (python -m worker).")] = 2,
    worker_kills: Annotated[int, typer.Option(help="SIGKILLs of a worker (restarted).")] = 3,
    temporal_restarts: Annotated[
        int, typer.Option(help="kill -9 of the Temporal dev server, restarted on its file.")
    ] = 2,
    postgres_restarts: Annotated[
        int, typer.Option(help="PostgreSQL stops (fast / immediate, alternating) and starts.")
    ] = 2,
    seed: Annotated[int, typer.Option(help="Seed of paths, timing and faults.")] = 1,
    out: Annotated[
        Path, typer.Option(help="Report, fault log and failing histories go here.")
    ] = Path("chaos-out"),
    settle_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for workflows to close after the run.")
    ] = 120.0,
    lost_answers: Annotated[
        float, typer.Option(help="Share of applied updates whose answer is lost (retried).")
    ] = 0.05,
) -> None:
    """Run the fault suite and print its table; exit 1 when a check fails."""
    if ctx.invoked_subcommand is not None:
        return
    from khuyencong.chaos.run import ChaosOptions, run_chaos
    from khuyencong.cli_runner import load_settings, run

    if min(lifecycles, concurrency, workers) < 1:
        raise typer.BadParameter("--lifecycles, --concurrency and --workers must be ≥ 1")
    load_settings()  # logging as configured
    options = ChaosOptions(
        lifecycles=lifecycles,
        concurrency=concurrency,
        workers=workers,
        worker_kills=worker_kills,
        temporal_restarts=temporal_restarts,
        postgres_restarts=postgres_restarts,
        seed=seed,
        out=out,
        settle_timeout=settle_timeout,
        lost_answers=lost_answers,
    )
    report = run(lambda: run_chaos(options, echo=typer.echo))
    raise typer.Exit(0 if report.ok else 1)


@chaos_app.command("fuzz")
def fuzz(
    actions: Annotated[int, typer.Option(help="Random actions to send.")] = 10_000,
    slots: Annotated[int, typer.Option(help="Đề án acted on at once.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the moves.")] = 1,
) -> None:
    """Random actions (admin client and raw updates) on đề án in every stage, judged by an
    oracle written from the authority matrix and the rules; exit 1 on any wrong answer."""
    from khuyencong.chaos.fuzz import fuzz_on_stack
    from khuyencong.cli_runner import load_settings, run

    load_settings()
    counts = run(lambda: fuzz_on_stack(actions=actions, slots=slots, seed=seed, echo=typer.echo))
    raise typer.Exit(0 if counts.wrong == 0 else 1)
