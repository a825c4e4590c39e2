"""The demo's people and đề án: Bắc Giang's 2019 plan and the officials who act in it.

``khuyencong dev`` seeds them; the README's walkthrough, ``docs/ke-hoach.md`` and the tests
use them.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from domain.model import Actor, Role
from khuyencong.dossier_file import parse_json
from khuyencong.registration import RegistrationEntry

DEMO_OFFICIALS: list[Actor] = [
    Actor(official_id="BG-TTKC-012", full_name="Nguyễn Thị Thu Hà", role=Role.TRUNG_TAM,
          organisation="Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang",
          province="Bắc Giang"),
    Actor(official_id="BG-SCT-003", full_name="Trần Văn Minh", role=Role.SO_CONG_THUONG,
          organisation="Sở Công Thương tỉnh Bắc Giang", province="Bắc Giang"),
    Actor(official_id="BG-UBND-001", full_name="Lê Ánh Dương", role=Role.UBND_TINH,
          organisation="UBND tỉnh Bắc Giang", province="Bắc Giang"),
    Actor(official_id="BG-KT-007", full_name="Vũ Thị Hạnh", role=Role.TAI_CHINH,
          organisation="Phòng Kế hoạch – Tài chính, Sở Công Thương Bắc Giang",
          province="Bắc Giang"),
    Actor(official_id="CUC-KC-001", full_name="Phạm Quang Huy", role=Role.CUC,
          organisation="Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công", province=None),
    Actor(official_id="BCT-BT-001", full_name="Bộ trưởng Bộ Công Thương", role=Role.BO_TRUONG,
          organisation="Văn phòng Bộ Công Thương", province=None),
    # Bắc Giang merged into Bắc Ninh on 1/7/2025 (domain/places.py): its open đề án are now
    # Bắc Ninh's, and what waits today waits for these officials.
    Actor(official_id="BN-TTKC-005", full_name="Đinh Thị Mai", role=Role.TRUNG_TAM,
          organisation="Trung tâm Khuyến công tỉnh Bắc Ninh", province="Bắc Ninh"),
    Actor(official_id="BN-SCT-002", full_name="Đỗ Thị Lan", role=Role.SO_CONG_THUONG,
          organisation="Sở Công Thương tỉnh Bắc Ninh", province="Bắc Ninh"),
    Actor(official_id="BN-UBND-001", full_name="Ngô Văn Khải", role=Role.UBND_TINH,
          organisation="UBND tỉnh Bắc Ninh", province="Bắc Ninh"),
    Actor(official_id="BN-KT-004", full_name="Phan Thị Ngọc", role=Role.TAI_CHINH,
          organisation="Phòng Kế hoạch – Tài chính, Sở Công Thương Bắc Ninh",
          province="Bắc Ninh"),
]  # fmt: skip
"""The officials of the demo. Bắc Giang's act in its 2019 papers (the README's walkthrough,
docs/ke-hoach.md and the story, dated before the merger, when they had jurisdiction); Bắc
Ninh's act on the same đề án today, as the successor province (their inbox shows them). The
dev stack puts them all in the officials register, so the admin tool works at once."""

TODAY_APPRAISER = "BN-SCT-002"
TODAY_APPROVER = "BN-UBND-001"
"""Who the web desk's demo logs in as: today's Sở and UBND chairman of the successor province."""


async def seed_demo_officials(pool: Any) -> None:
    """Put :data:`DEMO_OFFICIALS` in the officials register (one already there is kept)."""
    from khuyencong.admin import sql

    async with pool.acquire() as conn, conn.transaction():
        for o in DEMO_OFFICIALS:
            await conn.execute(
                sql.SEED_OFFICIAL, o.official_id, o.full_name, o.organisation, o.role.value,
                o.province,
            )  # fmt: skip


def demo_entries() -> list[RegistrationEntry]:
    """Bắc Giang's 2019 plan (25 đề án), shipped with the package."""
    text = (resources.files("khuyencong") / "demo" / "bac_giang_2019.json").read_text("utf-8")
    return parse_json(text)
