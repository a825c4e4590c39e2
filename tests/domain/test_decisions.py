"""One decision number, one decision: what a number's key is and when a second use of it
contradicts the first (issue 10, item 7)."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from domain.decisions import (
    DecisionFacts,
    check_same_decision,
    decision_scope,
    number_key,
)
from domain.errors import Refusal, RefusalCode
from domain.model import Level

FIRST = DecisionFacts("427/QĐ-UBND", date(2021, 3, 9), "Lê Ánh Dương", "BG-2021-DP-01")


def test_the_same_number_with_the_same_date_and_signer_is_the_same_batch_decision() -> None:
    check_same_decision(FIRST, DecisionFacts("427/QĐ-UBND", date(2021, 3, 9), "lê ánh  dương"))


def test_the_same_number_with_another_date_is_refused_naming_the_date_and_the_basis() -> None:
    with pytest.raises(Refusal) as refused:
        check_same_decision(FIRST, DecisionFacts("427/QĐ-UBND", date(2021, 3, 10), "Lê Ánh Dương"))
    r = refused.value
    assert (r.code, r.field) == (RefusalCode.DECISION_NUMBER_REUSED, "decision_date")
    assert "09/03/2021" in r.message and "10/03/2021" in r.message
    assert "BG-2021-DP-01" in r.message
    assert "30/2020/NĐ-CP" in (r.legal_basis or "")


def test_the_same_number_signed_by_someone_else_is_refused_naming_the_signer() -> None:
    with pytest.raises(Refusal) as refused:
        check_same_decision(FIRST, DecisionFacts("427/QĐ-UBND", date(2021, 3, 9), "Người khác"))
    assert refused.value.field == "signer"


def test_a_signer_unknown_on_either_side_is_not_compared() -> None:
    check_same_decision(FIRST, DecisionFacts("427/QĐ-UBND", date(2021, 3, 9), None))
    check_same_decision(
        DecisionFacts("427/QĐ-UBND", date(2021, 3, 9)),
        DecisionFacts("427/QĐ-UBND", date(2021, 3, 9), "Lê Ánh Dương"),
    )


def test_a_number_is_compared_without_case_spaces_or_unicode_form() -> None:
    assert number_key(" 427/qđ-ubnd ") == "427/QĐ-UBND"
    decomposed = unicodedata.normalize("NFD", "15/QĐ-KHẾ")
    assert decomposed != "15/QĐ-KHẾ" and number_key(decomposed) == number_key("15/qđ-khế")


def test_provinces_number_their_decisions_apart_and_the_ministry_its_own() -> None:
    assert decision_scope(Level.DIA_PHUONG, "Bắc Giang") == decision_scope(
        "dia_phuong", "tỉnh Bắc Giang"
    )
    assert decision_scope(Level.DIA_PHUONG, "Bắc Giang") != decision_scope(
        Level.DIA_PHUONG, "Bắc Ninh"
    )
    assert decision_scope(Level.QUOC_GIA, "Bắc Giang") == decision_scope("quoc_gia", "Bắc Ninh")
