"""Money in whole đồng.

VND has no minor unit, so every amount is an ``int`` of đồng. Rates are integer basis points
(10 000 bp = 100 %). The one rounding rule of the project lives here: a rate applied to an
amount is rounded *down* to the whole đồng (``floor``), so state support can never exceed the
rate by a fraction. Floats are refused wherever money enters, and so is any amount above
:data:`MAX_DONG`: no đề án, plan or cap comes near it, and every amount then fits PostgreSQL's
``bigint`` with room for sums (a value that does not would fail the write, not the input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

BP_PER_WHOLE = 10_000
"""Basis points in 100 %."""

MAX_DONG = 1_000_000_000_000
"""Ceiling of every amount that enters the system: 1.000 tỷ đồng (10^12 đ).

The largest national cap is 6.000 triệu đ per industrial cluster (TT 28/2018/TT-BTC) and a
province's whole yearly khuyến công budget is tens of tỷ đồng, so 1.000 tỷ is far above any
real đề án, plan envelope or cost line while keeping sums of amounts far inside ``bigint``
(9,2 × 10^18). Checked by :data:`Dong` wherever an amount enters (contract models, CLI and
spreadsheet inputs, rule packs)."""


WHOLE_DONG_TEXT = re.compile(r"[0-9]+|[0-9]{1,3}(\.[0-9]{3})+|[0-9]{1,3}( [0-9]{3})+")
"""Digits, or digits grouped by thousands with '.' (as Vietnamese writes them) or spaces."""


def _reject_float(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("số tiền phải là số nguyên đồng, không phải true/false")
    if isinstance(value, float):
        raise ValueError("số tiền phải là số nguyên đồng (không dùng số thực)")
    if isinstance(value, str):
        text = value.strip()
        if not WHOLE_DONG_TEXT.fullmatch(text):
            raise ValueError(
                "số tiền phải là số nguyên đồng, chỉ gồm chữ số, có thể nhóm nghìn bằng dấu chấm "
                "(1.000.000); không có phần thập phân"
            )
        return int(text.replace(".", "").replace(" ", ""))
    return value


def _within_ceiling(value: int) -> int:
    if value > MAX_DONG:
        raise PydanticCustomError(
            "dong_over_ceiling",
            "số tiền {amount} vượt mức trần {ceiling} (1.000 tỷ đồng) cho mọi khoản tiền của "
            "khuyến công; kiểm tra lại số chữ số",
            {"amount": format_dong(value), "ceiling": format_dong(MAX_DONG)},
        )
    return value


Dong = Annotated[
    int, BeforeValidator(_reject_float), Field(ge=0, strict=False), AfterValidator(_within_ceiling)
]
"""A non-negative amount of whole đồng, at most :data:`MAX_DONG`."""

BasisPoints = Annotated[int, Field(ge=0, le=BP_PER_WHOLE)]
"""A rate from 0 to 100 % in basis points."""


def apply_rate(amount: int, rate_bp: int) -> int:
    """``amount × rate`` rounded down to the whole đồng."""
    if amount < 0 or not 0 <= rate_bp <= BP_PER_WHOLE:
        raise ValueError("amount must be >= 0 and rate within 0..10000 bp")
    return amount * rate_bp // BP_PER_WHOLE


def capped(amount: int, cap: int | None) -> int:
    """``min(amount, cap)``; ``None`` means no cap."""
    return amount if cap is None else min(amount, cap)


def max_support(eligible_cost: int, rate_bp: int, cap: int | None) -> int:
    """Support allowed for an item: ``min(floor(cost × rate), cap)``."""
    return capped(apply_rate(eligible_cost, rate_bp), cap)


def group_thousands(amount: int) -> str:
    """``1234567`` → ``"1.234.567"`` (as a spreadsheet cell Vietnamese officials read)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".")


def format_dong(amount: int) -> str:
    """``1234567`` → ``"1.234.567 đ"`` (Vietnamese thousands separator)."""
    return group_thousands(amount) + " đ"


def format_bp(rate_bp: int) -> str:
    """``7000`` → ``"70 %"``, ``1250`` → ``"12,5 %"``."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole} %" if rest == 0 else f"{whole},{rest:02d}".rstrip("0") + " %"


def advance_ceiling(contracted_support: int, item_max_bp: int, pack_ceiling_bp: int | None) -> int:
    """Most that may be advanced in total: the support item's share of the contracted support,
    within the pack's ceiling (``None``: the ceiling does not bind, an advance after
    acceptance). TT 36/2013/TT-BCT Điều 13, 14."""
    ceiling = item_max_bp if pack_ceiling_bp is None else min(item_max_bp, pack_ceiling_bp)
    return apply_rate(contracted_support, ceiling)


def advance_room(limit: int, already: int) -> int:
    """What may still be advanced under ``limit`` after ``already``."""
    return max(0, limit - already)


def pays_over(paid: int, amount: int, approved_support: int) -> bool:
    """Paying ``amount`` on top of ``paid`` would pay more than the approved support
    (TT 36/2013/TT-BCT Điều 12 khoản 6)."""
    return paid + amount > approved_support


def refund_outstanding(refund_owed: int, refunded: int) -> int:
    """What the settlement's refund still owes after what was refunded."""
    return max(0, refund_owed - refunded)


@dataclass(frozen=True)
class SettlementFigures:
    """The settlement of one đề án (domain brief §4, TT 36/2013/TT-BCT Điều 18)."""

    eligible_cost: int
    rate_bp: int
    cap: int | None
    final_support: int
    payout: int
    refund_owed: int


def settlement_figures(
    approved_support: int,
    accepted_cost: int,
    disallowed_cost: int,
    rate_bp: int,
    cap: int | None,
    advanced: int,
) -> SettlementFigures:
    """final = min(approved, floor(eligible × rate), cap) with eligible = accepted − disallowed;
    payout = final − advances paid, or a refund owed (thu hồi) when the advances exceed it.

    Only advances actually paid count: a request that lapsed unpaid (a stop, or a cut of
    support below it) moved no money.
    """
    for name, value in (
        ("approved_support", approved_support),
        ("accepted_cost", accepted_cost),
        ("disallowed_cost", disallowed_cost),
        ("advanced", advanced),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0")
    eligible = max(0, accepted_cost - disallowed_cost)
    final = min(approved_support, max_support(eligible, rate_bp, cap))
    return SettlementFigures(
        eligible_cost=eligible,
        rate_bp=rate_bp,
        cap=cap,
        final_support=final,
        payout=max(0, final - advanced),
        refund_owed=max(0, advanced - final),
    )
