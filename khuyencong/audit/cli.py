"""The audit commands.

- ``khuyencong audit verify [--de-an CODE | --all]``: recompute the chains of PostgreSQL and
  name the first broken link of each (exit 1 when one is broken).
- ``khuyencong audit verify-package FILE``: check an evidence package offline (exit 1 naming
  what is wrong).
- ``khuyencong audit export-histories``: export the Temporal history of every closed đề án not
  exported yet (the worker does it on its own every few minutes).
- ``khuyencong de-an attach CODE --step ACTION --kind KIND FILE --as ID``: attach a document to
  a step.
- ``khuyencong de-an evidence CODE --out X.zip``: the evidence package of a đề án.
- ``khuyencong de-an history CODE``: its Temporal history, from Temporal or, once Temporal no
  longer has it, from PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from domain.evidence import DocumentKind
from khuyencong.admin import output
from khuyencong.admin.cli import (
    EXIT_BAD_INPUT,
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    AsOption,
    JsonOption,
    load_settings,
)
from khuyencong.admin.client import normalise_code
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.audit.chain import ChainReport
from khuyencong.settings import Settings, StartupError

T = TypeVar("T")

EXIT_BROKEN = 1
"""A chain or a package that does not verify."""

audit_app = typer.Typer(
    name="audit",
    help="Kiểm toán: kiểm tra chuỗi băm của lịch sử, gói hồ sơ chứng cứ, xuất lịch sử Temporal.",
    no_args_is_help=True,
)


def install(app: typer.Typer) -> None:
    """``khuyencong audit ...``."""
    app.add_typer(audit_app, name="audit")


def install_with_officials(app: typer.Typer) -> None:
    """The officials' commands (:func:`khuyencong.admin.cli.install`) with the evidence
    commands of ``de-an`` among them: the root's installer of those names."""
    from khuyencong.admin import cli as admin_cli

    admin_cli.install(app)
    add_de_an_commands(admin_cli.de_an_app)


def add_de_an_commands(de_an_app: typer.Typer) -> None:
    """The evidence commands of ``khuyencong de-an`` (attach, evidence, history); once, however
    often the officials' commands are installed (the lazy root builds them per command)."""
    if any(c.name == "attach" for c in de_an_app.registered_commands):
        return
    de_an_app.command("attach")(de_an_attach)
    de_an_app.command("evidence")(de_an_evidence)
    de_an_app.command("history")(de_an_history)


def run_on_database(body: Callable[[Any, Settings], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run ``body(pool, settings)`` on the configured database only (no Temporal)."""
    from khuyencong import cli_runner
    from khuyencong.database import open_database

    try:
        settings = load_settings()
    except StartupError as exc:
        output.print_error("Settings", str(exc), as_json)
        raise typer.Exit(EXIT_BAD_INPUT) from None

    async def main() -> T:
        async with open_database(settings, migrate=False, min_size=1, max_size=2) as pool:
            return await body(pool, settings)

    return cli_runner.run(main, errors=lambda exc: _exit_for(exc, as_json))


def _exit_for(error: Exception, as_json: bool) -> typer.Exit | None:
    if isinstance(error, ActionRefused):
        output.print_refusal(error, as_json)
        return typer.Exit(EXIT_REFUSED)
    if isinstance(error, BadInput):
        output.print_bad_input(error, as_json)
        return typer.Exit(EXIT_BAD_INPUT)
    if isinstance(error, NotFound):
        output.print_error("NotFound", str(error), as_json)
        return typer.Exit(EXIT_NOT_FOUND)
    if isinstance(error, StartupError):
        output.print_error("Startup", str(error), as_json)
        return typer.Exit(EXIT_BAD_INPUT)
    return None


def print_report(report: ChainReport, as_json: bool) -> None:
    if as_json:
        output.emit_json(
            {
                "ok": report.ok,
                "links": report.links,
                "de_an": report.de_an,
                "days": report.days,
                "breaks": [
                    {
                        "chain": b.chain,
                        "kind": b.kind,
                        "position": b.position,
                        "where": b.where,
                        "message": b.message,
                    }
                    for b in report.breaks
                ],
                "day_heads": report.day_heads,
            }
        )
        return
    for found in report.breaks:
        typer.secho(f"HỎNG: {found}", err=True, fg=typer.colors.RED)
    verdict = "nguyên vẹn" if report.ok else f"{len(report.breaks)} chuỗi bị hỏng"
    typer.echo(
        f"Đã kiểm {report.links} mắt xích của {report.de_an} đề án và {report.days} ngày: "
        f"{verdict}."
    )
    for day, head in sorted(report.day_heads.items()):
        typer.echo(f"  đầu chuỗi ngày {day}: {head}")


@audit_app.command("verify")
def audit_verify(
    de_an: Annotated[
        str | None, typer.Option("--de-an", help="Mã đề án: chuỗi của nó và các ngày của nó.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Mọi đề án và mọi ngày (mặc định khi không có --de-an).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Tính lại chuỗi băm của lịch sử đề án; nêu mắt xích hỏng đầu tiên (exit 1)."""
    from khuyencong.audit.verify import verify_all, verify_de_an

    if de_an and all_:
        output.print_error("BadInput", "chọn --de-an MÃ hoặc --all, không cả hai", as_json)
        raise typer.Exit(EXIT_BAD_INPUT)

    async def body(pool: Any, _: Settings) -> ChainReport:
        async with pool.acquire() as conn:
            if de_an:
                code = normalise_code(de_an)
                if not await conn.fetchval("SELECT 1 FROM de_an WHERE de_an_id = $1", code):
                    if not await conn.fetchval(
                        "SELECT 1 FROM audit_chain_head WHERE scope = $1", f"de_an:{code}"
                    ):
                        raise NotFound(f"không có đề án {code}")
                return await verify_de_an(conn, code)
            return await verify_all(conn)

    report = run_on_database(body, as_json=as_json)
    print_report(report, as_json)
    if not report.ok:
        raise typer.Exit(EXIT_BROKEN)


@audit_app.command("verify-package")
def audit_verify_package(
    file: Annotated[Path, typer.Argument(help="Gói ZIP của `de-an evidence`.", exists=True)],
    as_json: JsonOption = False,
) -> None:
    """Kiểm tra ngoại tuyến một gói hồ sơ chứng cứ (exit 1, nêu điều sai)."""
    from khuyencong.audit.package import verify_package

    result = verify_package(file)
    if as_json:
        output.emit_json(
            {
                "ok": result.ok,
                "de_an": result.de_an_id,
                "problems": result.problems,
                "documents": result.documents,
                "links": result.links,
            }
        )
    else:
        for problem in result.problems:
            typer.secho(f"SAI: {problem}", err=True, fg=typer.colors.RED)
        if result.ok:
            typer.echo(
                f"Gói hồ sơ của đề án {result.de_an_id} nguyên vẹn: {result.links} mắt xích, "
                f"{result.documents} tài liệu khớp mã băm."
            )
        else:
            typer.echo(f"Gói hồ sơ KHÔNG hợp lệ: {len(result.problems)} điều sai.")
    if not result.ok:
        raise typer.Exit(EXIT_BROKEN)


@audit_app.command("export-histories")
def audit_export_histories(as_json: JsonOption = False) -> None:
    """Xuất lịch sử Temporal của các đề án đã kết thúc vào PostgreSQL (việc worker tự làm)."""
    from khuyencong.admin.cli import run
    from khuyencong.audit.history import export_closed

    async def body(admin: Any, _: Settings) -> Any:
        return await export_closed(admin.client, admin.pool)

    report = run(body, as_json=as_json)
    if as_json:
        output.emit_json(report.as_dict())
    else:
        typer.echo(report.describe())


# --- de-an attach | evidence | history --------------------------------------------------------


def de_an_attach(
    code: Annotated[str, typer.Argument(help="Mã đề án.")],
    file: Annotated[
        Path, typer.Argument(help="Tệp PDF, JPEG, PNG hoặc TIFF.", exists=True, dir_okay=False)
    ],
    step: Annotated[
        str,
        typer.Option(
            "--step",
            help="Bước nhận tài liệu: một thao tác (bước gần nhất của nó, vd. approve, "
            "sign_contract, pay_advance) hoặc khoá của bước.",
        ),
    ],
    kind: Annotated[
        DocumentKind,
        typer.Option("--kind", help="Loại tài liệu.", case_sensitive=False),
    ],
    note: Annotated[str, typer.Option("--note", help="Ghi chú.")] = "",
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Đính kèm tài liệu chứng cứ vào một bước của đề án; SHA-256 của tệp vào chuỗi băm."""
    from khuyencong.admin.cli import acting, run
    from khuyencong.audit.documents import attach, store_for

    async def body(admin: Any, settings: Settings) -> Any:
        actor = await acting(admin, settings, as_)
        data = await asyncio.to_thread(file.read_bytes)
        return await attach(
            admin.pool,
            store_for(settings),
            code=normalise_code(code),
            step=step.strip(),
            kind=kind,
            file_name=file.name,
            data=data,
            actor=actor,
            max_bytes=settings.document_max_bytes,
            note=note,
        )

    attached = run(body, as_json=as_json)
    row = attached.row
    if as_json:
        output.emit_json(
            {
                "new": attached.new,
                "de_an_id": row["de_an_id"],
                "step_key": row["step_key"],
                "kind": row["kind"],
                "sha256": row["sha256"],
                "size_bytes": row["size_bytes"],
                "chain_seq": row["chain_seq"],
                "chain_hash": row["chain_hash"],
            }
        )
        return
    verb = "Đã đính kèm" if attached.new else "Đã có từ trước"
    typer.echo(
        f"{verb}: {DocumentKind(row['kind']).label} {row['file_name']} vào bước "
        f"{row['step_key']} (mắt xích {row['chain_seq']})\n  SHA-256 {row['sha256']}"
    )


def de_an_evidence(
    code: Annotated[str, typer.Argument(help="Mã đề án.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Tệp ZIP ghi ra.", dir_okay=False)],
    as_json: JsonOption = False,
) -> None:
    """Gói hồ sơ chứng cứ cho thanh tra, kiểm toán: tài liệu, manifest.json, summary.html."""
    from khuyencong.audit.documents import store_for
    from khuyencong.audit.package import PackageError, build_package

    async def body(pool: Any, settings: Settings) -> bytes:
        async with pool.acquire() as conn:
            try:
                return await build_package(conn, store_for(settings), normalise_code(code))
            except PackageError as exc:
                raise NotFound(str(exc)) from None

    data = run_on_database(body, as_json=as_json)
    out.write_bytes(data)
    if as_json:
        output.emit_json({"path": str(out), "size_bytes": len(data)})
    else:
        typer.echo(f"Đã ghi {out} ({len(data)} byte).")


def de_an_history(
    code: Annotated[str, typer.Argument(help="Mã đề án.")],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="auto: Temporal, hoặc PostgreSQL khi Temporal không còn; temporal; postgres.",
        ),
    ] = "auto",
    as_json: JsonOption = False,
) -> None:
    """Lịch sử Temporal của đề án (mọi lượt chạy), đã giải mã; từ PostgreSQL khi Temporal
    không còn giữ."""
    from khuyencong.admin.cli import run
    from khuyencong.audit.history import read_history

    if source not in ("auto", "temporal", "postgres"):
        output.print_error("BadInput", "--source: auto, temporal hoặc postgres", as_json)
        raise typer.Exit(EXIT_BAD_INPUT)

    async def body(admin: Any, _: Settings) -> Any:
        return await read_history(admin.client, admin.pool, normalise_code(code), source)

    found = run(body, as_json=as_json)
    if as_json:
        output.emit_json(found.as_dict())
    else:
        typer.echo(found.describe())
