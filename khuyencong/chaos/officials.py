"""The simulated officials and the admin client they act through.

:func:`officials_at_desk` is the one place that creates the officials in the register and the
client that acts for them: when officials need a credential (a password, a signed identity
statement on each update), this is the function to adapt.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from domain.model import Actor, Role
from khuyencong.admin.client import AdminClient
from khuyencong.admin.models import OfficialIn

BG = "Bắc Giang"
BN = "Bắc Ninh"

ROSTER: dict[str, tuple[Role, str | None, str, str]] = {
    # key: (role, province, full name, organisation)
    "tt": (Role.TRUNG_TAM, BG, "Nguyễn Văn An", "Trung tâm Khuyến công tỉnh Bắc Giang"),
    "so": (Role.SO_CONG_THUONG, BG, "Trần Thị Bình", "Sở Công Thương tỉnh Bắc Giang"),
    "so2": (Role.SO_CONG_THUONG, BG, "Đỗ Văn Giang", "Sở Công Thương tỉnh Bắc Giang"),
    "ubnd": (Role.UBND_TINH, BG, "Hoàng Văn Em", "UBND tỉnh Bắc Giang"),
    "kt": (Role.TAI_CHINH, BG, "Vũ Thị Hoa", "Kế toán — Bắc Giang"),
    "cuc": (Role.CUC, None, "Lê Văn Cường", "Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công"),
    "bt": (Role.BO_TRUONG, None, "Phạm Minh Đức", "Văn phòng Bộ Công Thương"),
    "ktc": (Role.TAI_CHINH, None, "Ngô Thị Lan", "Kế toán — Cục"),
    "so_bn": (Role.SO_CONG_THUONG, BN, "Lý Văn Khoa", "Sở Công Thương tỉnh Bắc Ninh"),
    "ubnd_bn": (Role.UBND_TINH, BN, "Mai Văn Phúc", "UBND tỉnh Bắc Ninh"),
    "tt_bn": (Role.TRUNG_TAM, BN, "Kiều Thị Quế", "Trung tâm Khuyến công tỉnh Bắc Ninh"),
    "kt_bn": (Role.TAI_CHINH, BN, "Tạ Thị Sen", "Kế toán — Bắc Ninh"),
    "gone": (Role.SO_CONG_THUONG, BG, "Đinh Văn Tùng", "Sở Công Thương tỉnh Bắc Giang"),
}
"""Everyone a run needs. ``gone`` is deactivated before any đề án starts (the fuzzer's
inactive official)."""


@dataclass
class Desk:
    """The admin client and the officials who act through it."""

    admin: AdminClient
    actors: dict[str, Actor]
    prefix: str

    def __getitem__(self, key: str) -> Actor:
        return self.actors[key]


@contextlib.asynccontextmanager
async def officials_at_desk(
    client: Client, database_url: str, task_queue: str, prefix: str, *, deactivate: bool = True
) -> AsyncIterator[Desk]:
    """Create the roster (IDs ``{prefix}-{key}``) in the officials register and an
    :class:`AdminClient` on ``client`` and a pool of its own; every actor comes from
    ``admin.acting`` (the register), as the CLI builds it."""
    from db.pool import create_pool

    pool: Any = await create_pool(database_url, min_size=1, max_size=4)
    try:
        admin = AdminClient(client, pool, task_queue=task_queue)
        actors: dict[str, Actor] = {}
        for key, (role, province, name, organisation) in ROSTER.items():
            official_id = f"{prefix}-{key}".upper().replace("_", "-")
            await admin.add_official(
                OfficialIn(
                    id=official_id,
                    full_name=name,
                    organisation=organisation,
                    role=role,
                    province=province,
                )
            )
            # Each official proves who they are, as at the CLI: a password set by the
            # administrator, checked by the admin client, which then signs their updates.
            password = f"chaos-{official_id.lower()}"
            await admin.set_password(official_id, password, set_by="chaos")
            actors[key] = await admin.authenticate(official_id, password)
        if deactivate:
            await admin.deactivate_official(actors["gone"].official_id, reason="chaos: nghỉ hưu")
        yield Desk(admin, actors, prefix)
    finally:
        await pool.close()
