"""Adjustments through the CLI (issue 10, item 10): a change of site or timing carries the new
site or dates, and ``de-an show`` shows them afterwards; ``adjust --help`` names the decider of
each kind of adjustment, from the authority rules the workflow enforces."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest_asyncio

from domain.authority import AdjustmentKind
from khuyencong import search_attributes as sa
from tests.khuyencong.admin.conftest import Cast, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from workflows.de_an_contract import DeAnAppraise, DeAnApprove, DeAnSignContract


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


def number(symbol: str) -> str:
    return f"{random.randint(100_000, 999_999)}/{symbol}"


async def contracted(stack: Stack, cast: Cast) -> str:
    day = today()
    dossier = dossier_on(day, code=stack.new_code("DP"))
    admin = stack.admin
    await admin.register(cast["TT-BG"], dossier, day)
    await admin.act(
        dossier.code,
        DeAnAppraise(actor=cast["SO-BG"], verdict="pass", appraised_on=day, minutes_number="1/BB"),
    )
    await admin.act(
        dossier.code,
        DeAnApprove(
            actor=cast["UBND-BG"],
            decision_number=number("QĐ-UBND"),
            decision_date=day,
            signer="Lê Ánh Dương",
            approved_support=dossier.requested_support,
        ),
    )
    await admin.act(
        dossier.code,
        DeAnSignContract(
            actor=cast["SO-BG"],
            contract_number="15/HĐ-KC",
            signed_on=day,
            contracted_support=dossier.requested_support,
        ),
    )
    return dossier.code


async def test_a_change_of_site_and_of_timing_are_shown_by_de_an_show(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    code, day = await contracted(stack, cast), today()
    so = cast["SO-BG"].official_id
    await cli.ok("de-an", "adjust", code, "--kind", "change_site",
                 "--decision-number", number("QĐ-SCT"), "--decision-date", day.isoformat(),
                 "--description", "Chuyển xưởng sang xã bên cạnh",
                 "--new-address", "Thôn Đông", "--new-commune", "Xã Nham Sơn",
                 as_=so)  # fmt: skip
    new_end = min(date(day.year, 12, 31), day + timedelta(days=10))
    await cli.ok("de-an", "adjust", code, "--kind", "change_timing",
                 "--decision-number", number("QĐ-SCT"), "--decision-date", day.isoformat(),
                 "--description", "Lùi ngày kết thúc do thiết bị giao chậm",
                 "--new-end", new_end.strftime("%d/%m/%Y"), as_=so)  # fmt: skip

    shown = await cli.ok("de-an", "show", code)
    assert "Thôn Đông, Xã Nham Sơn, Yên Dũng, Bắc Giang" in shown.stdout
    assert f"Thời gian thực hiện: {day:%d/%m/%Y} – {new_end:%d/%m/%Y}" in shown.stdout
    view = (await cli.ok("de-an", "show", code, "--json")).json()
    summaries = [e["summary"] for e in view["timeline"] if e["action"] == "adjust"]
    assert "Thay đổi địa điểm: Yên Dũng → Thôn Đông, Xã Nham Sơn, Yên Dũng" in summaries[0]
    assert f"→ {day:%d/%m/%Y}–{new_end:%d/%m/%Y}" in summaries[1]
    row = view["row"]
    assert (row["address"], row["commune"], row["district"]) == (
        "Thôn Đông",
        "Xã Nham Sơn",
        "Yên Dũng",
    )
    assert row["schedule_end"] == new_end.isoformat()
    state = await stack.admin.state(code)
    assert state.current_site.commune == "Xã Nham Sơn" and state.current_schedule.end == new_end
    assert state.dossier.commune is None  # the registered dossier is kept as registered
    described = await stack.admin.client.get_workflow_handle(f"de-an/{code}").describe()
    assert described.typed_search_attributes.get(sa.KC_COMMUNE) == "Xã Nham Sơn"


async def test_a_change_of_site_without_the_new_site_is_refused(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    code = await contracted(stack, cast)
    run = await cli("de-an", "adjust", code, "--kind", "change_site",
                    "--decision-number", number("QĐ-SCT"), "--decision-date", today().isoformat(),
                    "--description", "Chuyển xưởng", as_=cast["SO-BG"].official_id)  # fmt: skip
    assert run.exit_code == 3, str(run)
    assert "[InvalidField]" in run.stderr and "Trường: new_address" in run.stderr


async def test_adjust_help_names_the_decider_of_each_kind(cli: Cli) -> None:
    text = " ".join((await cli.ok("de-an", "adjust", "--help")).stdout.split())
    for kind in AdjustmentKind:
        assert f"{kind.value} ({kind.label})" in text
    assert (
        "increase_support (Tăng tổng mức kinh phí hỗ trợ): quốc gia — Bộ trưởng; "
        "địa phương — Chủ tịch UBND tỉnh" in text
    )
    assert (
        "change_site (Thay đổi địa điểm): quốc gia — Cục (đề án nhóm: Sở Công Thương, Cục); "
        "địa phương — Sở Công Thương" in text
    )
    assert "change_timing (Thay đổi thời gian trong năm): quốc gia — Cục; địa phương" in text
