"""How the admin commands print: rich tables for people, JSON for scripts.

Refusals and bad input go to stderr as plain lines (easy to read, easy to grep); with
``--json`` the same facts go to stdout as one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from domain.deadlines import VN_TZ
from domain.model import Level
from domain.money import format_dong
from khuyencong.admin.errors import ActionRefused, BadInput
from khuyencong.admin.models import (
    ActionOutcome,
    BatchOutcome,
    DeactivationReport,
    DeadlineView,
    DeAnView,
    InboxItem,
    Official,
    Page,
    RegisterResult,
)


def console() -> Console:
    # Created per command so that it writes to the stdout of the moment (tests swap it).
    return Console(highlight=False, soft_wrap=False)


def whole(table: Table, header: str, values: Iterable[str], **options: Any) -> None:
    """A column whose cells are never cut nor wrapped (đề án codes, IDs, dates): at 80 columns
    the other columns wrap instead of ``BG-2019-…``."""
    width = max((len(v) for v in values), default=0)
    longest_word = max(len(word) for word in header.split())
    table.add_column(header, no_wrap=True, min_width=max(width, longest_word), **options)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, default=str))


def when(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def level_short(level: str) -> str:
    try:
        return {"quoc_gia": "Quốc gia", "dia_phuong": "Địa phương"}[Level(level).value]
    except ValueError:
        return level


# --- errors ----------------------------------------------------------------------------------


def print_refusal(refused: ActionRefused, as_json: bool) -> None:
    info = refused.info
    if as_json:
        emit_json({"ok": False, "refused": info.model_dump(mode="json")})
        return
    lines = [f"Bị từ chối — {info.rule} [{info.type}]", f"  {info.message}"]
    for problem in info.problems:
        lines.append(f"  - {problem.get('field')}: {problem.get('message')}")
    if info.field:
        lines.append(f"  Trường: {info.field}")
    if info.legal_basis:
        lines.append(f"  Căn cứ: {info.legal_basis}")
    typer.secho("\n".join(lines), err=True, fg=typer.colors.RED)


def print_bad_input(error: BadInput, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "ok": False,
                "error": "BadInput",
                "message": error.args[0] if error.args else str(error),
                "problems": [{"field": f, "message": m} for f, m in error.problems],
            }
        )
        return
    typer.secho(f"Dữ liệu không hợp lệ: {error}", err=True, fg=typer.colors.RED)


def print_error(kind: str, message: str, as_json: bool) -> None:
    if as_json:
        emit_json({"ok": False, "error": kind, "message": message})
        return
    typer.secho(message, err=True, fg=typer.colors.RED)


# --- officials -------------------------------------------------------------------------------


def officials_table(officials: Sequence[Official]) -> None:
    table = Table(title=f"Cán bộ ({len(officials)})", show_lines=False)
    whole(table, "Mã", (o.id for o in officials))
    for header in ("Họ tên", "Vai trò", "Cơ quan", "Tỉnh", "Trạng thái"):
        table.add_column(header)
    for o in officials:
        status = "hoạt động" if o.active else f"vô hiệu hoá {when(o.deactivated_at)}"
        table.add_row(o.id, o.full_name, o.role_label, o.organisation, o.province or "—", status)
    console().print(table)


def official_detail(official: Official) -> None:
    status = "hoạt động" if official.active else f"vô hiệu hoá {when(official.deactivated_at)}"
    lines = [
        f"{official.id} — {official.full_name}",
        f"  Vai trò: {official.role_label} ({official.role.value})",
        f"  Cơ quan: {official.organisation}",
        f"  Tỉnh: {official.province or '— (trung ương)'}",
        f"  Trạng thái: {status}",
    ]
    if official.deactivation_reason:
        lines.append(f"  Lý do: {official.deactivation_reason}")
    typer.echo("\n".join(lines))


def deactivation(report: DeactivationReport) -> None:
    o = report.official
    typer.echo(
        f"Đã vô hiệu hoá {o.id} — {o.full_name}; đã báo {len(report.signalled)} đề án đang mở"
        + (f" ({len(report.skipped)} không còn chạy)" if report.skipped else "")
    )


# --- đề án -----------------------------------------------------------------------------------


def page_table(page: Page) -> None:
    # Codes and amounts are never cut: at 80 columns the names wrap, the level (QG quốc gia,
    # ĐP địa phương) sits under the year and the overdue mark under the stage (amounts in đồng,
    # the unit in the title).
    table = Table(
        title=f"Đề án — trang {page.page}/{page.pages} ({page.total} đề án; số tiền: đồng)"
    )
    whole(table, "Mã", (r.code for r in page.items))
    table.add_column("Tên đề án")
    table.add_column("Tỉnh")
    table.add_column("Năm", justify="right")
    table.add_column("Giai đoạn")
    approved = [format_dong(r.approved_support).removesuffix(" đ") for r in page.items]
    paid = [format_dong(r.paid).removesuffix(" đ") for r in page.items]
    whole(table, "Phê duyệt", approved, justify="right")
    whole(table, "Đã chi", paid, justify="right")
    for r, approved_text, paid_text in zip(page.items, approved, paid, strict=True):
        table.add_row(
            r.code,
            r.title,
            r.province,
            f"{r.plan_year}\n{'QG' if r.level == Level.QUOC_GIA.value else 'ĐP'}",
            r.stage_label + ("\n⚠ quá hạn" if r.overdue else ""),
            approved_text,
            paid_text,
        )
    console().print(table)


def de_an_view(view: DeAnView) -> None:
    r = view.row
    out = console()
    place = ", ".join(p for p in (r.address, r.commune, r.district, r.province) if p)
    out.print(f"[bold]{r.code}[/bold] — {r.title}")
    out.print(f"  {level_short(r.level)} · {place} · năm {r.plan_year} · {r.beneficiary_name}")
    if r.schedule_start and r.schedule_end:
        out.print(f"  Thời gian thực hiện: {r.schedule_start:%d/%m/%Y} – {r.schedule_end:%d/%m/%Y}")
    out.print(f"  Giai đoạn: [bold]{r.stage_label}[/bold] ({r.stage.value})")
    flags = []
    if r.overdue:
        flags.append("⚠ QUÁ HẠN")
    if r.payments_on_hold:
        flags.append("chi trả đang tạm dừng theo kiến nghị kiểm tra")
    if flags:
        out.print("  " + " · ".join(flags))
    money = Table(title="Kinh phí", show_header=True)
    for header in ("Đề nghị", "Phê duyệt", "Hợp đồng", "Đã tạm ứng", "Đã chi", "Còn lại"):
        money.add_column(header, justify="right")
    money.add_row(
        format_dong(r.requested_support),
        format_dong(r.approved_support),
        format_dong(r.contracted_support),
        format_dong(r.advanced),
        format_dong(r.paid),
        format_dong(r.remaining),
    )
    out.print(money)
    if r.refund_owed or r.refunded:
        out.print(
            f"  Phải thu hồi: {format_dong(r.refund_owed)} · Đã thu hồi: {format_dong(r.refunded)}"
        )
    deadlines = Table(title="Thời hạn")
    for header in ("Thời hạn", "Kỳ", "Hạn cuối", "Tình trạng", "Cách tính; căn cứ"):
        deadlines.add_column(header)
    for d in view.missed_deadlines:
        due = f"{d.due_date:%d/%m/%Y}"
        deadlines.add_row(d.label, d.ref, due, "⚠ đã quá hạn", _basis(d))
    for d in view.deadlines or []:
        status = "⚠ đã quá hạn" if d.missed else "đang chờ"
        deadlines.add_row(d.label, d.ref, f"{d.due_date:%d/%m/%Y}", status, _basis(d))
    if deadlines.row_count:
        out.print(deadlines)
    elif view.deadlines is not None and not r.stage.terminal:
        out.print("  Không có thời hạn đang chờ.")
    if view.deadlines_note:
        out.print(f"  [yellow]{view.deadlines_note}[/yellow]")
    timeline = Table(title="Diễn biến")
    timeline.add_column("#")
    timeline.add_column("Lúc", min_width=10)
    whole(timeline, "Ngày văn bản", ["dd/mm/yyyy"])
    for header in ("Thao tác", "Người thực hiện", "Nội dung"):
        timeline.add_column(header)
    for e in view.timeline:
        who = f"{e.actor_name} ({e.actor_organisation})" if e.actor_name else "hệ thống (thời hạn)"
        timeline.add_row(
            str(e.seq),
            when(e.occurred_at),
            f"{e.business_date:%d/%m/%Y}",
            e.action_label,
            who,
            e.summary,
        )
    out.print(timeline)
    out.print(f"Temporal UI: {view.ui_url}", soft_wrap=True)


def inbox_table(items: Sequence[InboxItem], who: str) -> None:
    out = console()
    if not items:
        out.print(f"Không có việc nào chờ {who}.")
        return
    table = Table(title=f"Việc chờ {who} ({len(items)} đề án, cũ nhất trước)", pad_edge=False)
    whole(table, "Mã", (i.code for i in items))
    for header in ("Tên đề án", "Tỉnh", "Giai đoạn", "Việc chờ"):
        table.add_column(header)
    table.add_column("Chờ từ", min_width=10)  # dd/mm/yyyy, the time and ⚠ quá hạn below it
    for item in items:
        table.add_row(
            item.code,
            item.title,
            item.province,
            item.stage_label,
            "\n".join(a.label for a in item.actions),
            when(item.waiting_since) + ("\n⚠ quá hạn" if item.overdue else ""),
        )
    out.print(table)
    first = items[0].actions[0]
    out.print(f"Ví dụ: {first.command} --help", soft_wrap=True)


def action_outcome(outcome: ActionOutcome) -> None:
    r = outcome.result
    typer.echo(
        "\n".join(
            [
                f"Đã ghi nhận — {r.action.label}: {r.de_an_id}",
                f"  {r.message}",
                f"  Giai đoạn: {r.stage_label} ({r.stage.value})",
                f"  Phê duyệt: {format_dong(r.approved_support)} · Đã tạm ứng: "
                f"{format_dong(r.advanced)} · Đã chi: {format_dong(r.paid)}",
                f"  Mã cập nhật: {outcome.update_id}",
            ]
        )
    )


def register_result(result: RegisterResult) -> None:
    typer.echo(
        f"{result.message}\n  Giai đoạn: {result.stage_label} ({result.stage.value})\n"
        f"  Workflow: {result.workflow_id}"
    )


def batch_table(outcomes: Iterable[BatchOutcome], decision: str) -> None:
    outcomes = list(outcomes)
    done = sum(1 for o in outcomes if o.status == "done")
    table = Table(title=f"Quyết định {decision}: {done}/{len(outcomes)} đề án đã ghi nhận")
    whole(table, "Mã", (o.code for o in outcomes))
    for header in ("Kết luận", "Kết quả", "Chi tiết"):
        table.add_column(header)
    for o in outcomes:
        verdict = "phê duyệt" if o.verdict.value == "approve" else "không phê duyệt"
        if o.outcome is not None:
            detail = f"{o.outcome.result.stage_label}; {o.outcome.result.message}"
            status = "✓ đã ghi nhận"
        else:
            assert o.refusal is not None
            detail = f"{o.refusal.rule} [{o.refusal.type}]: {o.refusal.message}"
            if o.refusal.legal_basis:
                detail += f" (căn cứ: {o.refusal.legal_basis})"
            status = "✗ bị từ chối"
        table.add_row(o.code, verdict, status, detail)
    console().print(table)


def _basis(deadline: DeadlineView) -> str:
    """How a deadline is counted (a fixed day, N ngày, N ngày làm việc) and its legal basis."""
    return f"{deadline.counting}; {deadline.citation}" if deadline.counting else deadline.citation
