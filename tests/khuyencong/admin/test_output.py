"""The CLI's tables on an 80-column terminal: a đề án's code is never cut (``BG-2019-…``)
nor wrapped; the long columns wrap instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.stages import Action, Stage
from khuyencong.admin import output
from khuyencong.admin.models import DeAnRow, InboxAction, InboxItem, Page

CODES = ("BG-2019-DP-01", "BG-2019-QG-02", "BN-2027-KH-0123")


def item(code: str) -> InboxItem:
    return InboxItem(
        code=code,
        workflow_id=f"de-an/{code}",
        title="Ứng dụng máy móc thiết bị tiên tiến trong sản xuất chè búp khô xuất khẩu",
        level="dia_phuong",
        province="Bắc Giang",
        stage=Stage.REGISTERED,
        stage_label=Stage.REGISTERED.label,
        actions=[
            InboxAction(
                action=Action.APPRAISE,
                label=Action.APPRAISE.label,
                command=f"khuyencong de-an appraise {code}",
            )
        ],
        waiting_since=datetime(2026, 12, 2, 1, 42, tzinfo=UTC),
        overdue=True,
        payments_on_hold=False,
        approved_support=0,
        paid=0,
    )


def test_the_inbox_keeps_every_code_and_date_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    output.inbox_table([item(c) for c in CODES], "Đỗ Thị Lan")
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 and line[-1] in "┓┃┩│┘" for line in table), printed
    for code in CODES:
        assert code in printed, printed
    assert "…" not in printed
    assert "02/12/2026" in printed and "⚠ quá hạn" in printed


def row(code: str) -> DeAnRow:
    at = datetime(2026, 12, 2, 1, 42, tzinfo=UTC)
    return DeAnRow(
        de_an_id=code,
        workflow_id=f"de-an/{code}",
        code=code,
        title="Ứng dụng máy móc thiết bị tiên tiến trong sản xuất chè búp khô xuất khẩu",
        level="dia_phuong",
        province="Bắc Giang",
        district="Lục Ngạn",
        commune=None,
        content_area="ung_dung_may_moc",
        support_item="may_moc",
        beneficiary_name="HTX Chè Bắc Giang",
        plan_year=2019,
        stage=Stage.IN_PROGRESS,
        stage_label=Stage.IN_PROGRESS.label,
        requested_support=150_000_000,
        approved_support=150_000_000,
        contracted_support=150_000_000,
        advanced=50_000_000,
        paid=150_000_000,
        remaining=0,
        refund_owed=0,
        refunded=0,
        payments_on_hold=False,
        overdue=True,
        rule_pack_id=None,
        created_at=at,
        updated_at=at,
    )


def test_the_list_keeps_every_code_and_amount_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    output.page_table(Page(items=[row(c) for c in CODES], total=3, page=1, page_size=20))
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 and line[-1] in "┓┃┩│┘" for line in table), printed
    for code in CODES:
        assert code in printed, printed
    assert "150.000.000" in printed and "…" not in printed
