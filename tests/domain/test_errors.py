"""Refusals: stable codes, readable messages, details for the history."""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import Refusal, RefusalCode


def test_a_refusal_reads_with_its_code_field_and_legal_basis() -> None:
    r = Refusal(
        RefusalCode.SUPPORT_OVER_CAP,
        "kinh phí hỗ trợ vượt mức trần",
        field="approved_support",
        legal_basis="Thông tư 28/2018/TT-BTC",
    )
    text = str(r)
    assert text.startswith("[SupportOverCap] kinh phí hỗ trợ vượt mức trần")
    assert "trường: approved_support" in text
    assert "căn cứ: Thông tư 28/2018/TT-BTC" in text
    assert text.index("trường") < text.index("căn cứ")


def test_a_refusal_without_field_or_basis_reads_as_code_and_message_only() -> None:
    assert str(Refusal(RefusalCode.DUPLICATE, "đã có")) == "[Duplicate] đã có"


def test_a_refusal_gives_its_details_for_the_history() -> None:
    r = Refusal(RefusalCode.WRONG_STAGE, "sai bước", field="stage", legal_basis=None)
    assert r.as_details() == {
        "code": "WrongStage",
        "message": "sai bước",
        "field": "stage",
        "legal_basis": None,
    }


def test_a_refusal_is_an_exception_that_can_be_raised_and_caught() -> None:
    with pytest.raises(Refusal) as caught:
        raise Refusal(RefusalCode.FOUR_EYES, "bốn mắt")
    assert caught.value.code == "FourEyesViolation"
    assert isinstance(caught.value, Exception)


def test_a_refusal_is_immutable() -> None:
    r = Refusal(RefusalCode.DUPLICATE, "đã có")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.code = RefusalCode.WRONG_STAGE  # type: ignore[misc]


def test_every_refusal_code_is_unique() -> None:
    assert len(set(RefusalCode.ALL)) == len(RefusalCode.ALL)


def test_every_refusal_code_constant_is_listed_in_all() -> None:
    constants = {
        value
        for name, value in vars(RefusalCode).items()
        if name.isupper() and name != "ALL" and isinstance(value, str)
    }
    assert constants == set(RefusalCode.ALL)


@pytest.mark.parametrize("code", RefusalCode.ALL)
def test_every_refusal_code_is_a_stable_camel_case_name(code: str) -> None:
    assert code.isidentifier()
    assert code[0].isupper()
    assert code.isascii()


@pytest.mark.parametrize(
    ("constant", "value"),
    [
        ("WRONG_STAGE", "WrongStage"),
        ("WRONG_AUTHORITY", "WrongAuthority"),
        ("WRONG_JURISDICTION", "WrongJurisdiction"),
        ("FOUR_EYES", "FourEyesViolation"),
        ("SUPPORT_OVER_CAP", "SupportOverCap"),
        ("COUNTERPART_TOO_LOW", "CounterpartTooLow"),
        ("PAID_OVER_APPROVED", "PaidOverApproved"),
        ("NO_RULE_PACK", "NoRulePack"),
    ],
)
def test_refusal_codes_keep_their_published_names(constant: str, value: str) -> None:
    assert getattr(RefusalCode, constant) == value
