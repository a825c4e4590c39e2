"""Finding of the fuzzer (``khuyencong chaos fuzz``, "trapped"): a đề án settled while a
visit's findings held its payments could never close: ``pay_settlement`` is refused
(PaymentsOnHold) and ``resolve_findings`` was WrongStage once settled. The way out: the Sở
resolves the findings on the settled đề án (``resolve-findings-settled-v1``), then finance
pays the settlement (TT 36/2013/TT-BCT Điều 12 khoản 5, Điều 18, Điều 21 khoản 6)."""

from __future__ import annotations

import pytest

from domain.stages import Stage
from khuyencong.admin.errors import ActionRefused
from tests.khuyencong.admin.conftest import Stack
from tests.khuyencong.admin.test_retry_update_ids import contracted_training
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnPaySettlement,
    DeAnRecordVisit,
    DeAnResolveFindings,
    DeAnSettle,
)


async def test_a_de_an_settled_while_payments_are_on_hold_can_be_paid_once_resolved(
    stack: Stack,
) -> None:
    c = await contracted_training(stack)
    admin, cast, day = stack.admin, c.cast, c.day
    await admin.act(
        c.code,
        DeAnAccept(
            actor=cast["SO-BG"],
            minutes_number="NT-1",
            accepted_on=day,
            accepted_cost=100_000_000,
            accepted_volume_bp=10_000,
        ),
    )
    await admin.act(
        c.code,
        DeAnRecordVisit(
            actor=cast["SO-BG"],
            visited_on=day,
            minutes_number="KT-1",
            findings=["Thiếu chứng từ"],
            hold_payments=True,
        ),
    )
    settled = await admin.act(
        c.code, DeAnSettle(actor=cast["SO-BG"], settlement_number="QT-1", settled_on=day)
    )
    assert settled.result.stage is Stage.SETTLED  # 100,000,000 đ left to pay, on hold
    pay = DeAnPaySettlement(actor=cast["KT-BG"], paid_on=day, voucher_number="C1")
    with pytest.raises(ActionRefused) as held:
        await admin.act(c.code, pay)
    assert held.value.type == "PaymentsOnHold"
    await admin.act(c.code, DeAnResolveFindings(actor=cast["SO-BG"], resolved_on=day))
    paid = await admin.act(c.code, pay)
    assert paid.result.stage is Stage.CLOSED
