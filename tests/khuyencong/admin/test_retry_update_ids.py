"""Findings of the fault suite (``khuyencong chaos``, check "retries keep their update ID"):
an official whose answer was lost sends the same command again through the admin client; for
some actions the client builds another update ID the second time, so Temporal cannot recognise
the repeat (found by the fault suite)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from khuyencong.admin.errors import ActionRefused
from khuyencong.chaos.paths import PATHS_BY_NAME
from tests.khuyencong.admin.conftest import Cast, Stack, add_cast, suffix, today
from workflows.de_an_contract import (
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnPayAdvance,
    DeAnRequestAdvance,
    DeAnSignContract,
)


@dataclass
class Contracted:
    code: str
    cast: Cast
    day: date


async def contracted_training(stack: Stack) -> Contracted:
    tag = suffix()
    cast = await add_cast(stack.admin, tag)
    code = stack.new_code("DP-RETRY")
    day = today()
    dossier = PATHS_BY_NAME["dp-stopped-refund"].dossier(code, day)
    admin = stack.admin
    await admin.register(cast["TT-BG"], dossier, day)
    await admin.act(
        code,
        DeAnAppraise(actor=cast["SO-BG"], verdict="pass", appraised_on=day, minutes_number="BB"),
    )
    await admin.act(
        code,
        DeAnApprove(
            actor=cast["UBND-BG"],
            decision_number="500/QĐ-UBND",
            decision_date=day,
            signer="Người ký",
            approved_support=100_000_000,
        ),
    )
    await admin.act(
        code,
        DeAnSignContract(
            actor=cast["SO-BG"],
            contract_number="16/HĐ-KC",
            signed_on=day,
            contracted_support=100_000_000,
        ),
    )
    return Contracted(code, cast, day)


async def test_an_advance_request_sent_again_after_a_lost_answer_is_one_request(
    stack: Stack,
) -> None:
    c = await contracted_training(stack)
    code, cast, day = c.code, c.cast, c.day
    request = DeAnRequestAdvance(actor=cast["TT-BG"], amount=30_000_000, requested_on=day)
    first = await stack.admin.act(code, request)  # the answer is lost on the way
    await stack.admin.act(
        code,
        DeAnPayAdvance(actor=cast["KT-BG"], request_no=1, paid_on=day, voucher_number="A1"),
    )
    try:
        again = await stack.admin.act(code, request)  # the official retries
    except ActionRefused:
        again = None
    state = await stack.admin.state(code)
    assert again is not None and again.update_id == first.update_id
    assert len(state.advances) == 1


async def test_an_adjustment_sent_again_after_a_lost_answer_is_answered_as_done(
    stack: Stack,
) -> None:
    c = await contracted_training(stack)
    code, cast, day = c.code, c.cast, c.day
    site = {"new_commune": "Tiến Dũng"} if "new_commune" in DeAnAdjust.model_fields else {}
    adjust = DeAnAdjust.model_validate(
        {
            "actor": cast["SO-BG"],
            "kind": "change_site",
            "decision_number": "78/QĐ-SCT",
            "decision_date": day,
            "description": "Chuyển địa điểm",
            **site,
        }
    )
    first = await stack.admin.act(code, adjust)  # the answer is lost
    again = await stack.admin.act(code, adjust)  # refused today: Duplicate
    assert again.update_id == first.update_id
