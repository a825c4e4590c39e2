"""The national khuyến công agency's name in force on a date (domain brief §5).

The agency of the Ministry of Industry and Trade that runs national khuyến công was renamed
twice. Documents, minutes and summaries name it as it was called on their own date, so a 2016
contract says "Cục Công nghiệp địa phương" and a 2026 one "Cục Đổi mới sáng tạo, Chuyển đổi
xanh và Khuyến công". Pure data and lookup; the dates are the effective dates of the acts
named in ``basis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AgencyName:
    name: str
    valid_from: date
    basis: str


AGENCY_NAMES: tuple[AgencyName, ...] = (
    AgencyName(
        "Cục Công nghiệp địa phương",
        date.min,
        "Nghị định 189/2007/NĐ-CP (chức năng, nhiệm vụ của Bộ Công Thương)",
    ),
    AgencyName(
        "Cục Công Thương địa phương",
        date(2017, 8, 18),
        "Nghị định 98/2017/NĐ-CP (chức năng, nhiệm vụ của Bộ Công Thương)",
    ),
    AgencyName(
        "Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công",
        date(2025, 3, 1),
        "Nghị định 40/2025/NĐ-CP (chức năng, nhiệm vụ của Bộ Công Thương)",
    ),
)
"""Oldest first; each name is in force from its ``valid_from`` until the next one's."""


def agency_in_force(on: date) -> AgencyName:
    """The agency's name, with the act that gave it, on ``on``."""
    current = AGENCY_NAMES[0]
    for entry in AGENCY_NAMES:
        if entry.valid_from <= on:
            current = entry
    return current


def agency_name(on: date) -> str:
    """The national khuyến công agency's name in force on ``on``."""
    return agency_in_force(on).name
