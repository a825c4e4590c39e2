"""Money in whole đồng: floor rounding, caps, formatting and the ``Dong`` input type."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.money import (
    BP_PER_WHOLE,
    MAX_DONG,
    BasisPoints,
    Dong,
    advance_ceiling,
    advance_room,
    apply_rate,
    capped,
    format_bp,
    format_dong,
    max_support,
    pays_over,
    refund_outstanding,
)

DONG = TypeAdapter(Dong)
BP = TypeAdapter(BasisPoints)

amounts = st.integers(min_value=0, max_value=10**15)
rates = st.integers(min_value=0, max_value=BP_PER_WHOLE)
caps = st.none() | st.integers(min_value=0, max_value=10**13)


# --- apply_rate ---------------------------------------------------------------------------


def test_a_rate_is_rounded_down_to_the_whole_dong() -> None:
    assert apply_rate(1, 5000) == 0
    assert apply_rate(3, 5000) == 1
    assert apply_rate(999, 3000) == 299  # 299.7 → 299
    assert apply_rate(1_000_000_001, 3000) == 300_000_000  # 300 000 000.3 → 300 000 000


def test_a_full_rate_keeps_the_amount_and_a_zero_rate_gives_nothing() -> None:
    assert apply_rate(123_456_789, BP_PER_WHOLE) == 123_456_789
    assert apply_rate(123_456_789, 0) == 0


def test_half_of_six_hundred_million_is_three_hundred_million() -> None:
    assert apply_rate(600_000_000, 5000) == 300_000_000


@pytest.mark.parametrize(("amount", "rate_bp"), [(-1, 5000), (100, -1), (100, 10_001)])
def test_a_negative_amount_or_a_rate_outside_zero_to_one_hundred_percent_is_refused(
    amount: int, rate_bp: int
) -> None:
    with pytest.raises(ValueError):
        apply_rate(amount, rate_bp)


@given(amounts, rates)
def test_a_rate_never_gives_more_than_the_amount(amount: int, rate_bp: int) -> None:
    assert 0 <= apply_rate(amount, rate_bp) <= amount


@given(amounts, amounts, rates)
def test_a_rate_is_monotone_in_the_amount(a: int, b: int, rate_bp: int) -> None:
    low, high = sorted((a, b))
    assert apply_rate(low, rate_bp) <= apply_rate(high, rate_bp)


@given(amounts, rates, rates)
def test_a_rate_is_monotone_in_the_rate(amount: int, r1: int, r2: int) -> None:
    low, high = sorted((r1, r2))
    assert apply_rate(amount, low) <= apply_rate(amount, high)


@given(amounts, rates)
def test_a_rate_is_the_exact_floor_of_amount_times_rate(amount: int, rate_bp: int) -> None:
    support = apply_rate(amount, rate_bp)
    assert support * BP_PER_WHOLE <= amount * rate_bp < (support + 1) * BP_PER_WHOLE


@given(amounts, amounts, rates)
def test_splitting_an_amount_loses_at_most_one_dong_to_rounding(a: int, b: int, r: int) -> None:
    whole = apply_rate(a + b, r)
    parts = apply_rate(a, r) + apply_rate(b, r)
    assert parts <= whole <= parts + 1


# --- capped / max_support -----------------------------------------------------------------


def test_capped_takes_the_smaller_and_no_cap_means_no_limit() -> None:
    assert capped(500, 300) == 300
    assert capped(200, 300) == 200
    assert capped(10**15, None) == 10**15


def test_max_support_is_the_rate_when_under_the_cap() -> None:
    # machinery, TT 28/2018: 50 %, ≤ 300 triệu; cost 400 triệu → 200 triệu
    assert max_support(400_000_000, 5000, 300_000_000) == 200_000_000


def test_max_support_is_the_cap_when_the_rate_exceeds_it() -> None:
    # demonstration model, TT 28/2018: 30 %, ≤ 1 000 triệu; cost 5 000 triệu → cap
    assert max_support(5_000_000_000, 3000, 1_000_000_000) == 1_000_000_000


def test_max_support_without_a_cap_is_only_the_rate() -> None:
    assert max_support(7_777_777_777, 10_000, None) == 7_777_777_777
    assert max_support(3, 5000, None) == 1


@given(amounts, rates, caps)
def test_max_support_is_min_of_floored_rate_and_cap(
    cost: int, rate_bp: int, cap: int | None
) -> None:
    expected = cost * rate_bp // BP_PER_WHOLE
    if cap is not None:
        expected = min(expected, cap)
    assert max_support(cost, rate_bp, cap) == expected


@given(amounts, rates, caps)
def test_max_support_never_exceeds_the_cap_nor_the_cost(
    cost: int, rate_bp: int, cap: int | None
) -> None:
    support = max_support(cost, rate_bp, cap)
    assert 0 <= support <= cost
    if cap is not None:
        assert support <= cap


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0 đ"),
        (999, "999 đ"),
        (1000, "1.000 đ"),
        (1_234_567, "1.234.567 đ"),
        (1_000_000_000, "1.000.000.000 đ"),
        (-1500, "-1.500 đ"),
    ],
)
def test_dong_are_formatted_with_dots_between_thousands_and_a_d_suffix(
    amount: int, text: str
) -> None:
    assert format_dong(amount) == text


@pytest.mark.parametrize(
    ("rate_bp", "text"),
    [
        (7000, "70 %"),
        (10_000, "100 %"),
        (0, "0 %"),
        (1250, "12,5 %"),
        (1205, "12,05 %"),
        (10, "0,1 %"),
        (5, "0,05 %"),
    ],
)
def test_basis_points_are_formatted_as_a_percentage_with_a_decimal_comma(
    rate_bp: int, text: str
) -> None:
    assert format_bp(rate_bp) == text


@given(st.integers(min_value=0, max_value=MAX_DONG))
def test_a_formatted_amount_reads_back_as_the_same_dong(amount: int) -> None:
    text = format_dong(amount)
    assert text.endswith(" đ")
    assert DONG.validate_python(text.removesuffix(" đ")) == amount


@given(rates)
def test_a_formatted_rate_reads_back_as_the_same_basis_points(rate_bp: int) -> None:
    text = format_bp(rate_bp)
    assert text.endswith(" %")
    number = Decimal(text.removesuffix(" %").replace(",", "."))
    assert number * 100 == rate_bp


# --- the Dong input type ------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 1_000_000, MAX_DONG])
def test_dong_accepts_non_negative_ints(value: int) -> None:
    assert DONG.validate_python(value) == value


def test_the_ceiling_of_every_amount_is_one_thousand_ty_dong() -> None:
    assert MAX_DONG == 1_000_000_000_000
    assert MAX_DONG < 2**63 - 1  # far inside PostgreSQL bigint, with room for sums


@pytest.mark.parametrize(
    "value", [MAX_DONG + 1, 2**63 - 1, 10**30, "1.000.000.000.000.000"], ids=str
)
def test_dong_refuses_an_amount_above_the_ceiling_in_vietnamese(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        DONG.validate_python(value)
    (error,) = raised.value.errors()
    assert error["type"] == "dong_over_ceiling"
    assert "vượt mức trần 1.000.000.000.000 đ (1.000 tỷ đồng)" in error["msg"]


@given(st.integers(min_value=0, max_value=MAX_DONG))
def test_dong_accepts_every_amount_up_to_the_ceiling(amount: int) -> None:
    assert DONG.validate_python(amount) == amount


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.000.000", 1_000_000),
        ("1000000", 1_000_000),
        (" 1 000 000 ", 1_000_000),
        ("0", 0),
    ],
)
def test_dong_accepts_digit_strings_with_thousands_separators(text: str, value: int) -> None:
    assert DONG.validate_python(text) == value


@pytest.mark.parametrize("value", [1.0, 0.0, 1.5, 1e9, float("nan")])
def test_dong_refuses_floats_even_whole_ones(value: float) -> None:
    with pytest.raises(ValidationError, match="số thực"):
        DONG.validate_python(value)


@pytest.mark.parametrize("value", [True, False])
def test_dong_refuses_booleans(value: bool) -> None:
    with pytest.raises(ValidationError, match="true/false"):
        DONG.validate_python(value)


@pytest.mark.parametrize("value", [-1, -1_000_000, "-5", "-1.000"])
def test_dong_refuses_negative_amounts(value: object) -> None:
    with pytest.raises(ValidationError):
        DONG.validate_python(value)


@pytest.mark.parametrize("value", ["", "   ", "abc", "1 triệu", "1e6", "+5", "5đ"])
def test_dong_refuses_strings_that_are_not_digits(value: str) -> None:
    with pytest.raises(ValidationError):
        DONG.validate_python(value)


@pytest.mark.parametrize("raw", ["1000.0", "1.5", "1e9"])
def test_dong_refuses_json_numbers_with_a_fraction_or_exponent(raw: str) -> None:
    with pytest.raises(ValidationError):
        DONG.validate_json(raw)


def test_dong_accepts_a_json_string_with_vietnamese_thousands_separators() -> None:
    assert DONG.validate_json('"1.000.000"') == 1_000_000


@pytest.mark.parametrize("text", ["1,5", "1.000,50", "1.5", "12.34", "1.00"])
def test_dong_refuses_strings_with_a_decimal_part_or_misplaced_separators(text: str) -> None:
    with pytest.raises(ValidationError):
        DONG.validate_python(text)


@pytest.mark.parametrize("value", [0, 1, 7000, 10_000])
def test_basis_points_accept_zero_to_one_hundred_percent(value: int) -> None:
    assert BP.validate_python(value) == value


@pytest.mark.parametrize("value", [-1, 10_001])
def test_basis_points_refuse_rates_outside_zero_to_one_hundred_percent(value: int) -> None:
    with pytest.raises(ValidationError):
        BP.validate_python(value)


def test_a_stopped_national_machinery_de_an_settles_its_accepted_cost_minus_the_advance() -> None:
    """Issue 10, item 9: 250 tr approved, 300 tr accepted at 50 % (cap 300 tr), 100 tr
    advanced (the 75 tr request lapsed with the stop): 150 tr due, 50 tr paid out."""
    from domain.money import settlement_figures

    f = settlement_figures(250_000_000, 300_000_000, 0, 5000, 300_000_000, 100_000_000)
    assert (f.eligible_cost, f.final_support, f.payout, f.refund_owed) == (
        300_000_000,
        150_000_000,
        50_000_000,
        0,
    )
    with pytest.raises(ValueError):
        settlement_figures(1, -1, 0, 5000, None, 0)


def test_the_advance_ceiling_is_the_item_share_within_the_pack_ceiling() -> None:
    assert advance_ceiling(100_000_000, 7000, 5000) == 50_000_000
    assert advance_ceiling(100_000_000, 3000, 5000) == 30_000_000
    assert advance_ceiling(100_000_000, 7000, None) == 70_000_000


def test_paying_over_the_approved_support_and_what_is_left_to_advance_or_refund() -> None:
    assert pays_over(60, 41, 100) and not pays_over(60, 40, 100)
    assert (advance_room(50, 20), advance_room(50, 70)) == (30, 0)
    assert (refund_outstanding(10, 4), refund_outstanding(10, 12)) == (6, 0)
