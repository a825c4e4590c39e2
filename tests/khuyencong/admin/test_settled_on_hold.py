"""Finding of the fuzzer (``khuyencong chaos fuzz``, "trapped"): a đề án settled while a
visit's findings hold its payments can never close: ``pay_settlement`` is refused
(PaymentsOnHold) and neither ``resolve_findings`` nor ``record_visit`` is allowed once it is
settled (WrongStage). Strict xfail: it passes once the way out exists."""

from __future__ import annotations

import pytest

from domain.stages import Stage
from tests.khuyencong.admin.conftest import Stack
from tests.khuyencong.admin.test_retry_update_ids import contracted_training
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnPaySettlement,
    DeAnRecordVisit,
    DeAnResolveFindings,
    DeAnSettle,
)


@pytest.mark.xfail(
    strict=True,
    reason="finding: SETTLED with payments on hold is a dead end (resolve_findings refused "
    "WrongStage, pay_settlement refused PaymentsOnHold)",
)
async def test_a_de_an_settled_while_payments_are_on_hold_can_be_paid_once_resolved(
    stack: Stack,
) -> None:
    c = await contracted_training(stack)
    admin, cast, day = stack.admin, c.cast, c.day
    await admin.accept(
        c.code,
        DeAnAccept(
            actor=cast["SO-BG"],
            minutes_number="NT-1",
            accepted_on=day,
            accepted_cost=100_000_000,
            accepted_volume_bp=10_000,
        ),
    )
    await admin.record_visit(
        c.code,
        DeAnRecordVisit(
            actor=cast["SO-BG"],
            visited_on=day,
            minutes_number="KT-1",
            findings=["Thiếu chứng từ"],
            hold_payments=True,
        ),
    )
    settled = await admin.settle(
        c.code, DeAnSettle(actor=cast["SO-BG"], settlement_number="QT-1", settled_on=day)
    )
    assert settled.result.stage is Stage.SETTLED  # 100,000,000 đ left to pay, on hold
    await admin.resolve_findings(c.code, DeAnResolveFindings(actor=cast["SO-BG"], resolved_on=day))
    paid = await admin.pay_settlement(
        c.code, DeAnPaySettlement(actor=cast["KT-BG"], paid_on=day, voucher_number="C1")
    )
    assert paid.result.stage is Stage.CLOSED
