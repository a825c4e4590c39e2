"""Appraisal councils: members with declarations of interest; a member tied to the
beneficiary (declared, the same tax code, the same organisation) cannot sit."""

from __future__ import annotations

from typing import Any

import pytest

from domain.councils import CouncilMember, check_council, council_minutes, tie
from domain.errors import Refusal, RefusalCode
from tests.support.builders import make_dossier

BENEFICIARY = make_dossier().beneficiary  # HTX Vật liệu xây dựng Tiến Phong, 2400123456


def member(**fields: Any) -> CouncilMember:
    data: dict[str, Any] = {"full_name": "Ngô Văn Sơn", "organisation": "Sở Công Thương"}
    return CouncilMember.model_validate({**data, **fields})


def test_a_council_without_ties_may_sit_and_the_minutes_list_its_declarations() -> None:
    council = [
        member(position="Chủ tịch"),
        member(full_name="Lý Thị Hoa", organisation="Sở Tài chính", interest_declared=""),
    ]
    check_council(council, BENEFICIARY)
    minutes = council_minutes(council)
    assert "Ngô Văn Sơn (Chủ tịch, Sở Công Thương" in minutes
    assert minutes.count("không có quan hệ lợi ích") == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"tied_to_beneficiary": True, "interest_declared": "Anh ruột chủ nhiệm HTX"}, "kê khai"),
        ({"tax_code": "2400123456"}, "mã số thuế"),
        ({"tax_code": "2400123456-001"}, "mã số thuế"),  # a branch of the beneficiary
        ({"organisation": "htx vật liệu xây dựng tiến phong"}, "thuộc chính đơn vị"),
    ],
)
def test_a_member_tied_to_the_beneficiary_cannot_sit_and_the_refusal_names_the_rule(
    fields: dict[str, Any], reason: str
) -> None:
    council = [member(position="Chủ tịch"), member(full_name="Đinh Văn Lợi", **fields)]
    with pytest.raises(Refusal) as caught:
        check_council(council, BENEFICIARY)
    refusal = caught.value
    assert refusal.code == RefusalCode.CONFLICT_OF_INTEREST
    assert refusal.field == "council[1]"
    assert "Đinh Văn Lợi" in refusal.message and reason in refusal.message
    assert "Phòng, chống tham nhũng" in (refusal.legal_basis or "")


def test_another_enterprise_is_not_a_tie() -> None:
    assert tie(member(tax_code="2400999999"), BENEFICIARY) is None


def test_a_member_s_tax_code_has_the_shape_of_one() -> None:
    with pytest.raises(ValueError, match="mã số thuế"):
        member(tax_code="123")
