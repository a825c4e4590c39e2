"""The đề án as data: levels, content areas, beneficiaries, officials, cost lines, dossier."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.limits import MAX_COST_LINES, list_ceiling
from domain.money import Dong
from domain.text import Text


class Frozen(BaseModel):
    # Carried by Temporal: unknown fields are ignored (a newer worker's field must not break an
    # older one). Files people type are read strictly (domain.strict.validate_typed).
    model_config = ConfigDict(frozen=True, extra="ignore")


class Level(StrEnum):
    """Funding level: who pays and therefore who approves."""

    QUOC_GIA = "quoc_gia"
    DIA_PHUONG = "dia_phuong"

    @property
    def label(self) -> str:
        return {"quoc_gia": "Khuyến công quốc gia", "dia_phuong": "Khuyến công địa phương"}[self]


class ContentArea(StrEnum):
    """Nội dung hoạt động khuyến công (Nghị định 45/2012/NĐ-CP Điều 4; NĐ 235/2025 adds two)."""

    DAO_TAO = "1"
    NANG_LUC_QUAN_LY = "2"
    MO_HINH_MAY_MOC = "3"
    SAN_PHAM_TIEU_BIEU = "4"
    TU_VAN = "5"
    THONG_TIN = "6"
    LIEN_KET_CUM = "7"
    HOP_TAC_QUOC_TE = "8"
    NANG_LUC_HE_THONG = "9"
    CHUYEN_DOI_SO = "10"
    SAN_XUAT_BEN_VUNG = "11"

    @property
    def label(self) -> str:
        return CONTENT_AREA_LABELS[self]


CONTENT_AREA_LABELS: dict[ContentArea, str] = {
    ContentArea.DAO_TAO: "Đào tạo nghề, truyền nghề",
    ContentArea.NANG_LUC_QUAN_LY: "Nâng cao năng lực quản lý, sản xuất sạch hơn",
    ContentArea.MO_HINH_MAY_MOC: "Mô hình trình diễn kỹ thuật, ứng dụng máy móc thiết bị",
    ContentArea.SAN_PHAM_TIEU_BIEU: "Phát triển sản phẩm công nghiệp nông thôn tiêu biểu",
    ContentArea.TU_VAN: "Tư vấn, trợ giúp cơ sở công nghiệp nông thôn",
    ContentArea.THONG_TIN: "Cung cấp thông tin, tuyên truyền",
    ContentArea.LIEN_KET_CUM: "Liên doanh, liên kết, cụm công nghiệp",
    ContentArea.HOP_TAC_QUOC_TE: "Hợp tác quốc tế về khuyến công",
    ContentArea.NANG_LUC_HE_THONG: "Nâng cao năng lực hệ thống khuyến công",
    ContentArea.CHUYEN_DOI_SO: "Chuyển đổi số (NĐ 235/2025)",
    ContentArea.SAN_XUAT_BEN_VUNG: "Sản xuất và tiêu dùng bền vững (NĐ 235/2025)",
}


class BeneficiaryType(StrEnum):
    DOANH_NGHIEP = "doanh_nghiep"
    HOP_TAC_XA = "hop_tac_xa"
    TO_HOP_TAC = "to_hop_tac"
    HO_KINH_DOANH = "ho_kinh_doanh"
    LIEN_HIEP_HTX = "lien_hiep_htx"
    NGHE_NHAN = "nghe_nhan"
    CHU_DAU_TU_CCN = "chu_dau_tu_ccn"

    @property
    def label(self) -> str:
        return {
            "doanh_nghiep": "Doanh nghiệp nhỏ và vừa",
            "hop_tac_xa": "Hợp tác xã",
            "to_hop_tac": "Tổ hợp tác",
            "ho_kinh_doanh": "Hộ kinh doanh",
            "lien_hiep_htx": "Liên hiệp hợp tác xã",
            "nghe_nhan": "Nghệ nhân",
            "chu_dau_tu_ccn": "Chủ đầu tư cụm công nghiệp",
        }[self]


class Role(StrEnum):
    """What an official acts as. The authority matrix (domain.authority) maps roles to actions."""

    TRUNG_TAM = "trung_tam"
    SO_CONG_THUONG = "so_cong_thuong"
    CUC = "cuc"
    BO_TRUONG = "bo_truong"
    UBND_TINH = "ubnd_tinh"
    TAI_CHINH = "tai_chinh"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.TRUNG_TAM: "Trung tâm Khuyến công (đơn vị thực hiện)",
    Role.SO_CONG_THUONG: "Sở Công Thương",
    Role.CUC: "Cục (cơ quan khuyến công của Bộ Công Thương)",
    Role.BO_TRUONG: "Bộ trưởng Bộ Công Thương",
    Role.UBND_TINH: "Chủ tịch UBND tỉnh",
    Role.TAI_CHINH: "Kế toán, tài chính",
}

CENTRAL_ROLES = frozenset({Role.CUC, Role.BO_TRUONG})
"""Roles that belong to the ministry and have no province."""


class Actor(Frozen):
    """The official who acts. Carried on every action into the history."""

    official_id: Text = Field(min_length=1, max_length=64)
    full_name: Text = Field(min_length=1, max_length=200)
    role: Role
    organisation: Text = Field(min_length=1, max_length=200)
    province: Text | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _central_roles_have_no_province(self) -> Actor:
        if self.role in CENTRAL_ROLES and self.province:
            raise ValueError(f"vai trò {self.role.value} thuộc Bộ Công Thương, không gắn với tỉnh")
        if self.role in {Role.SO_CONG_THUONG, Role.UBND_TINH, Role.TRUNG_TAM} and not self.province:
            raise ValueError(f"vai trò {self.role.value} phải ghi tỉnh (province)")
        return self

    def describe(self) -> str:
        return f"{self.full_name} ({self.organisation})"


TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?|[0-9]{12}")


class Beneficiary(Frozen):
    """Đơn vị thụ hưởng."""

    name: Text = Field(min_length=1, max_length=300)
    type: BeneficiaryType
    tax_code: str = Field(description="Mã số thuế: 10 số, 10-3 số, hoặc 12 số (hộ kinh doanh)")

    @field_validator("tax_code")
    @classmethod
    def _tax_code_shape(cls, value: str) -> str:
        if not TAX_CODE.fullmatch(value):
            raise ValueError("mã số thuế phải có 10 chữ số, dạng 10-3 chữ số, hoặc 12 chữ số")
        return value


class CostLine(Frozen):
    """One line of the cost estimate (dự toán)."""

    description: Text = Field(min_length=1, max_length=300)
    amount: Dong
    eligible: bool = Field(default=True, description="Chi phí được hỗ trợ từ kinh phí khuyến công")


class Schedule(Frozen):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if self.end < self.start:
            raise ValueError("ngày kết thúc (end) phải sau ngày bắt đầu (start)")
        return self


DE_AN_CODE = re.compile(r"[A-Z0-9][A-Z0-9\-]{2,40}")


class DeAnDossier(Frozen):
    """The registered dossier (hồ sơ đề án). Fixed at registration; adjustments are recorded
    as their own facts and never rewrite it."""

    code: str = Field(description="Mã đề án, e.g. BG-2019-DP-01; also the workflow ID suffix")
    title: Text = Field(min_length=1, max_length=500)
    level: Level
    province: Text = Field(min_length=1, max_length=100)
    district: Text | None = Field(default=None, max_length=100, description="Huyện (before 7/2025)")
    commune: Text | None = Field(default=None, max_length=100, description="Xã/phường")
    content_area: ContentArea
    support_item: Text = Field(
        min_length=1, max_length=100, description="Hạng mục hỗ trợ: a key of the rule pack"
    )
    beneficiary: Beneficiary
    implementing_unit: Text = Field(min_length=1, max_length=300)
    plan_year: int = Field(ge=2012, le=2100)
    schedule: Schedule
    cost_lines: Annotated[list[CostLine], list_ceiling(MAX_COST_LINES, "dòng dự toán")] = Field(
        min_length=1
    )
    requested_support: Dong
    counterpart_funds: Dong
    group_project: bool = Field(
        default=False, description="Đề án lập theo nhóm (TT 36/2013 Điều 11.4)"
    )

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if not DE_AN_CODE.fullmatch(value):
            raise ValueError("mã đề án chỉ gồm chữ in hoa không dấu, số và '-', 3–41 ký tự")
        return value

    @property
    def total_cost(self) -> int:
        return sum(line.amount for line in self.cost_lines)

    @property
    def eligible_cost(self) -> int:
        return sum(line.amount for line in self.cost_lines if line.eligible)

    @model_validator(mode="after")
    def _money_adds_up(self) -> DeAnDossier:
        if self.requested_support > self.eligible_cost:
            raise ValueError(
                "kinh phí đề nghị hỗ trợ (requested_support) vượt tổng chi phí được hỗ trợ"
            )
        if self.requested_support + self.counterpart_funds < self.total_cost:
            raise ValueError(
                "vốn đối ứng (counterpart_funds) phải bù đủ tổng chi phí trừ kinh phí hỗ trợ"
            )
        if not self.schedule.start.year == self.schedule.end.year == self.plan_year:
            raise ValueError(
                f"tiến độ (schedule) phải nằm trong năm kế hoạch {self.plan_year}; gia hạn sang "
                "năm sau là một điều chỉnh (TT 36/2013/TT-BCT Điều 11)"
            )
        return self

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.code)


def workflow_id_for(code: str) -> str:
    """Workflow IDs are business IDs: ``de-an/BG-2019-DP-01``."""
    return f"de-an/{code}"
