"""Batch approval: one decision (``427/QĐ-UBND``, dated) approving a list of đề án with a
verdict per item; the refused item is reported with its rule, the others go through."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest_asyncio
import yaml

from domain.stages import Stage
from tests.khuyencong.admin.conftest import BN, Cast, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from workflows.de_an_contract import DeAnAppraise


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


async def appraised(stack: Stack, cast: Cast, province_key: str = "BG") -> str:
    province = "Bắc Giang" if province_key == "BG" else BN
    dossier = dossier_on(
        today(),
        code=stack.new_code("DP"),
        province=province,
        counterpart_funds=600_000_000,  # the beneficiary funds whatever support is cut
    )
    await stack.admin.register(cast[f"TT-{province_key}"], dossier, today())
    await stack.admin.act(
        dossier.code,
        DeAnAppraise(
            actor=cast[f"SO-{province_key}"],
            verdict="pass",
            appraised_on=today(),
            minutes_number="01/BB-HĐTĐ",
        ),
    )
    return dossier.code


async def test_a_decision_approves_its_list_and_reports_the_item_it_may_not_approve(
    stack: Stack, cast: Cast, cli: Cli, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    first, second, third = [await appraised(stack, cast) for _ in range(3)]
    elsewhere = await appraised(stack, cast, "BN")  # Bắc Ninh's: not this UBND's to approve
    plan = tmp_path / "427.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "decision_number": "427/QĐ-UBND",
                "decision_date": today().isoformat(),
                "signer": "Lê Ánh Dương",
                "items": [
                    {"code": first, "approved_support": "180.000.000"},
                    {"code": elsewhere},
                    {"code": third, "verdict": "reject", "reason": "Trùng nội dung đề án khác"},
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    ubnd = cast["UBND-BG"].official_id
    run = await cli("de-an", "approve-batch", "--file", str(plan), "--item", second, "--json",
                    as_=ubnd)  # fmt: skip
    assert run.exit_code == 3, str(run)
    outcomes = {o["code"]: o for o in run.json()}
    assert {c: (o["verdict"], o["status"]) for c, o in outcomes.items()} == {
        first: ("approve", "done"),
        elsewhere: ("approve", "refused"),
        third: ("reject", "done"),
        second: ("approve", "done"),
    }
    refusal = outcomes[elsewhere]["refusal"]
    assert refusal["type"] == "WrongJurisdiction"
    assert "tỉnh Bắc Ninh" in refusal["message"]

    found = {c: await stack.admin.row(c) for c in (first, second, third, elsewhere)}
    rows = {c: r for c, r in found.items() if r is not None}
    assert {c: r.stage for c, r in rows.items()} == {
        first: Stage.APPROVED,
        second: Stage.APPROVED,
        third: Stage.REJECTED,
        elsewhere: Stage.APPRAISED,
    }
    assert (rows[first].approved_support, rows[second].approved_support) == (
        180_000_000,
        200_000_000,  # the support requested, when the decision gives no amount
    )
    decisions = await db_pool.fetch(
        "SELECT de_an_id, kind, number FROM decision WHERE de_an_id = ANY($1::text[])",
        [first, second, third, elsewhere],
    )
    assert sorted((r["de_an_id"], r["kind"], r["number"]) for r in decisions) == sorted(
        [
            (first, "approve", "427/QĐ-UBND"),
            (second, "approve", "427/QĐ-UBND"),
            (third, "reject", "427/QĐ-UBND"),
        ]
    )

    # Sending the same decision again changes nothing: the same updates, applied once.
    again = await cli("de-an", "approve-batch", "--file", str(plan), "--item", second,
                      as_=ubnd)  # fmt: skip
    assert again.exit_code == 3
    assert "3/4 đề án đã ghi nhận" in again.stdout
    assert "Ngoài địa bàn quản lý [WrongJurisdiction]" in again.stdout
    count = await db_pool.fetchval(
        "SELECT count(*) FROM decision WHERE de_an_id = ANY($1::text[])", [first, second, third]
    )
    assert count == 3


async def test_a_decision_with_an_unknown_or_malformed_item_sends_nothing(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    code = await appraised(stack, cast)
    ubnd = cast["UBND-BG"].official_id
    common = ["de-an", "approve-batch", "--decision-number", "427/QĐ-UBND",
              "--decision-date", today().isoformat(), "--signer", "Lê Ánh Dương"]  # fmt: skip
    run = await cli(*common, "--item", code, "--item", "DP-KHONG-CO", as_=ubnd)
    assert run.exit_code == 2
    assert "không có đề án: DP-KHONG-CO" in run.stderr
    run = await cli(*common, "--item", f"{code}=1,5", as_=ubnd)
    assert run.exit_code == 2 and "approved_support" in run.stderr
    run = await cli(*common[:3], "427-QĐ", *common[4:], "--item", code, as_=ubnd)
    assert run.exit_code == 2 and "decision_number" in run.stderr
    assert (await stack.admin.row(code)).stage is Stage.APPRAISED  # type: ignore[union-attr]
