"""Appraisal councils (hội đồng thẩm định): their members, each with a declaration of
interest; a member tied to the beneficiary may not sit.

A member is tied when they declare it, when their enterprise has the beneficiary's tax code
(a branch ``0101234567-001`` shares its parent's first ten digits), or when they belong to the
beneficiary itself. The refusal names the member and the rule (Luật Phòng, chống tham nhũng
2018 on conflicts of interest; TT 36/2013/TT-BCT Điều 9 on appraisal). Pure.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.errors import Refusal, RefusalCode
from domain.model import TAX_CODE, Beneficiary
from domain.text import Text

BASIS_CONFLICT = (
    "Luật Phòng, chống tham nhũng 2018 Điều 20, 23 (kiểm soát xung đột lợi ích); Thông tư "
    "36/2013/TT-BCT Điều 9 (thẩm định đề án)"
)
MAX_MEMBERS = 30


class CouncilMember(BaseModel):
    """One member of the council, with what they declared."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    full_name: Text = Field(min_length=1, max_length=200)
    organisation: Text = Field(min_length=1, max_length=300)
    position: Text = Field(default="Thành viên", max_length=100, description="Chủ tịch, thư ký…")
    tax_code: str | None = Field(
        default=None, description="Mã số thuế of an enterprise the member owns or runs"
    )
    interest_declared: Text = Field(
        default="", max_length=1000, description="Bản kê khai: relations with the beneficiary"
    )
    tied_to_beneficiary: bool = Field(
        default=False, description="The member declared a tie to the beneficiary"
    )

    @field_validator("tax_code")
    @classmethod
    def _tax_code_shape(cls, value: str | None) -> str | None:
        if value is not None and not TAX_CODE.fullmatch(value):
            raise ValueError("mã số thuế phải có 10 chữ số, dạng 10-3 chữ số, hoặc 12 chữ số")
        return value

    def describe(self) -> str:
        declared = self.interest_declared.strip() or "không có quan hệ lợi ích"
        return f"{self.full_name} ({self.position}, {self.organisation}; kê khai: {declared})"


def _same_organisation(a: str, b: str) -> bool:
    def key(text: str) -> str:
        text = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
        return " ".join("".join(c for c in text if unicodedata.category(c) != "Mn").split())

    return key(a) == key(b)


def _same_taxpayer(a: str, b: str) -> bool:
    """The same tax code, or a branch and its parent (the first ten digits)."""
    return a == b or (len(a) >= 10 and len(b) >= 10 and a[:10] == b[:10] and "-" in a + b)


def tie(member: CouncilMember, beneficiary: Beneficiary) -> str | None:
    """Why ``member`` is tied to ``beneficiary`` (None: not tied)."""
    if member.tied_to_beneficiary:
        return "đã kê khai có quan hệ lợi ích với đơn vị thụ hưởng"
    if member.tax_code is not None and _same_taxpayer(member.tax_code, beneficiary.tax_code):
        return f"cùng mã số thuế {beneficiary.tax_code} với đơn vị thụ hưởng"
    if _same_organisation(member.organisation, beneficiary.name):
        return "thuộc chính đơn vị thụ hưởng"
    return None


def check_council(members: Sequence[CouncilMember], beneficiary: Beneficiary) -> None:
    """Refuse a council with a member tied to the beneficiary (the first, by position)."""
    for n, member in enumerate(members):
        reason = tie(member, beneficiary)
        if reason is not None:
            raise Refusal(
                RefusalCode.CONFLICT_OF_INTEREST,
                f"{member.full_name} ({member.organisation}) {reason} «{beneficiary.name}» nên "
                "không được tham gia hội đồng thẩm định đề án này",
                field=f"council[{n}]",
                legal_basis=BASIS_CONFLICT,
            )


def council_minutes(members: Sequence[CouncilMember]) -> str:
    """The members as the appraisal minutes list them."""
    return "; ".join(m.describe() for m in members)
