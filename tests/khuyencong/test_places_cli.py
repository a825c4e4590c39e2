"""``khuyencong units load|list`` and ``khuyencong calendar add-days-off|show`` against
PostgreSQL (in-process, in a thread: each command runs its own event loop)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from typer.testing import CliRunner, Result

from khuyencong.cli import app
from tests.support.builders import unique_code


async def khuyencong(pg_url: str, *args: str) -> Result:
    env = {"KHUYENCONG_DATABASE_URL": pg_url, "KHUYENCONG_LOG_LEVEL": "WARNING"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_a_province_file_is_loaded_once_and_listed_with_the_shipped_units(
    pg_url: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code = unique_code("hg").lower()
    units = {
        "source": "Danh mục thử",
        "units": [
            {
                "code": code,
                "name": f"Hà Giang {code}",
                "kind": "province",
                "valid_from": "1991-10-01",
                "valid_to": "2025-06-30",
                "successor": "bac-ninh-2025",
                "basis": "thử",
            },
        ],
    }
    file = tmp_path / "units.json"
    file.write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")

    first = await khuyencong(pg_url, "units", "load", str(file))
    again = await khuyencong(pg_url, "units", "load", str(file))
    listed = await khuyencong(pg_url, "units", "list", "--on", "2024-01-01")

    assert first.exit_code == 0, first.output
    assert "đã nạp 1 đơn vị" in first.output and again.exit_code == 0
    assert await db_pool.fetchval("SELECT count(*) FROM admin_unit WHERE code = $1", code) == 1
    assert f"Hà Giang {code}" in listed.output
    assert "Huyện Hiệp Hòa" in listed.output  # the shipped units, by province


async def test_a_unit_whose_successor_is_unknown_is_refused_and_named(
    pg_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "units.json"
    file.write_text(
        json.dumps(
            {
                "units": [
                    {
                        "code": "x-1",
                        "name": "X",
                        "kind": "province",
                        "valid_from": "2000-01-01",
                        "valid_to": "2020-01-01",
                        "successor": "khong-co",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )

    result = await khuyencong(pg_url, "units", "load", str(file))

    assert result.exit_code == 2
    assert "khong-co" in result.output


async def test_a_years_days_off_are_added_and_shown_beside_tet(pg_url: str, tmp_path: Path) -> None:
    file = tmp_path / "2028.json"
    decision = {
        "source": "Thông báo nghỉ Tết 2028 (thử)",
        "days_off": [{"day": "2028-01-31", "name": "Nghỉ hoán đổi", "basis": "Thông báo thử"}],
        "work_days": [{"day": "2028-02-19", "basis": "Làm bù"}],
    }
    file.write_text(json.dumps(decision, ensure_ascii=False), encoding="utf-8")

    added = await khuyencong(pg_url, "calendar", "add-days-off", "2028", str(file))
    shown = await khuyencong(pg_url, "calendar", "show", "2028")

    assert added.exit_code == 0, added.output
    assert "1 ngày nghỉ, 1 ngày làm bù" in added.output
    assert "31/01/2028" in shown.output and "Nghỉ hoán đổi" in shown.output
    assert "26/01/2028" in shown.output  # Tết 2028, statutory
