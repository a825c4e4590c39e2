"""Builders of valid domain objects for the domain tests; each test overrides what it checks."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.model import CENTRAL_ROLES, Actor, DeAnDossier, Level, Role

PROVINCE = "Bắc Giang"

_ORGANISATIONS: dict[Role, str] = {
    Role.TRUNG_TAM: "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp Bắc Giang",
    Role.SO_CONG_THUONG: "Sở Công Thương Bắc Giang",
    Role.CUC: "Cục Công Thương địa phương",
    Role.BO_TRUONG: "Bộ Công Thương",
    Role.UBND_TINH: "UBND tỉnh Bắc Giang",
    Role.TAI_CHINH: "Phòng Kế toán",
}

_UNSET: Any = object()


def dossier_data(**overrides: Any) -> dict[str, Any]:
    """A valid local đề án: 800 triệu total, 600 triệu eligible, 200 triệu requested."""
    data: dict[str, Any] = {
        "code": "BG-2019-DP-01",
        "title": "Ứng dụng máy ép gạch không nung",
        "level": Level.DIA_PHUONG,
        "province": PROVINCE,
        "district": "Hiệp Hòa",
        "content_area": "3",
        "support_item": "machinery",
        "beneficiary": {
            "name": "Hợp tác xã gạch không nung Hiệp Hòa",
            "type": "hop_tac_xa",
            "tax_code": "2400123456",
        },
        "implementing_unit": _ORGANISATIONS[Role.TRUNG_TAM],
        "plan_year": 2019,
        "schedule": {"start": date(2019, 3, 1), "end": date(2019, 11, 30)},
        "cost_lines": [
            {"description": "Máy ép gạch", "amount": 600_000_000},
            {"description": "Nhà xưởng", "amount": 200_000_000, "eligible": False},
        ],
        "requested_support": 200_000_000,
        "counterpart_funds": 600_000_000,
    }
    data.update(overrides)
    return data


def dossier(**overrides: Any) -> DeAnDossier:
    return DeAnDossier.model_validate(dossier_data(**overrides))


def national_dossier(**overrides: Any) -> DeAnDossier:
    return dossier(**{"code": "BG-2019-QG-01", "level": Level.QUOC_GIA, **overrides})


def actor(role: Role, province: str | None = _UNSET, official_id: str | None = None) -> Actor:
    """An official; by default ministry roles have no province and the others are in Bắc Giang."""
    if province is _UNSET:
        province = None if role in CENTRAL_ROLES else PROVINCE
    return Actor(
        official_id=official_id or f"{role.value}-01",
        full_name=f"Nguyễn Văn {role.value}",
        role=role,
        organisation=_ORGANISATIONS[role],
        province=province,
    )
