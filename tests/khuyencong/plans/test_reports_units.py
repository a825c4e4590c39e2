"""Reports by the administrative units as they were (``--units then``) or as they are now
(``--units now``): the 2014–2018 Bắc Giang history still shows its 10 districts; by today's
units it is Bắc Ninh's, with no district level."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from khuyencong.places import SHIPPED_UNITS
from khuyencong.plans.generator import BAC_GIANG_DISTRICTS, bac_giang_2014_2018, load_history
from khuyencong.plans.reports import ABOLISHED, Units, build_report, units_caption

TODAY = date(2026, 12, 1)


async def test_the_2014_2018_report_by_units_then_shows_bac_giang_s_10_districts(
    db_pool: asyncpg.Pool,
) -> None:
    await load_history(db_pool, bac_giang_2014_2018())

    report = await build_report(db_pool, 2014, 2018, province="Bắc Giang", units=Units.THEN)

    assert set(report.by("district")) == set(BAC_GIANG_DISTRICTS)
    assert set(report.by("province")) == {"Bắc Giang"}
    assert units_caption(report) == "Đơn vị hành chính: như khi đăng ký đề án"


async def test_by_units_now_the_history_is_bac_ninh_s_and_the_districts_are_gone(
    db_pool: asyncpg.Pool,
) -> None:
    await load_history(db_pool, bac_giang_2014_2018())

    report = await build_report(
        db_pool, 2014, 2018, province="Bắc Ninh", units=Units.NOW, registry=SHIPPED_UNITS, on=TODAY
    )

    assert report.total is not None and report.total.de_an >= 166
    provinces = report.by("province")
    assert set(provinces) == {"Bắc Ninh"}
    districts = report.by("district")
    assert ABOLISHED in districts and not set(districts) & set(BAC_GIANG_DISTRICTS)
    # Regrouping only moves đề án between groups: every sum is kept.
    assert provinces["Bắc Ninh"].approved == report.total.approved
    assert sum(g.de_an for g in districts.values()) == report.total.de_an
    assert "01/12/2026" in units_caption(report)


async def test_before_the_merger_units_now_and_then_agree(db_pool: asyncpg.Pool) -> None:
    await load_history(db_pool, bac_giang_2014_2018())

    then = await build_report(db_pool, 2014, 2018, province="Bắc Giang")
    now = await build_report(
        db_pool,
        2014,
        2018,
        province="Bắc Giang",
        units=Units.NOW,
        registry=SHIPPED_UNITS,
        on=date(2025, 6, 30),
    )

    assert {k: g.de_an for k, g in now.by("district").items()} == {
        k: g.de_an for k, g in then.by("district").items()
    }


async def test_a_report_by_units_now_needs_the_registry(db_pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="registry"):
        await build_report(db_pool, 2014, 2018, units=Units.NOW)


async def test_the_report_command_takes_units_then_or_now(
    pg_url: str, db_pool: asyncpg.Pool
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from khuyencong.cli import app

    await load_history(db_pool, bac_giang_2014_2018())
    env = {"KHUYENCONG_DATABASE_URL": pg_url, "KHUYENCONG_LOG_LEVEL": "WARNING", "COLUMNS": "200"}

    def report(*args: str) -> str:
        command = ["plan", "report", "--from", "2014", "--to", "2018", *args]
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 0, result.output
        return result.output

    then = await asyncio.to_thread(report, "--province", "Bắc Giang", "--units", "then")
    now = await asyncio.to_thread(
        report, "--province", "Bắc Ninh", "--units", "now", "--on", "2026-12-01"
    )

    assert all(district in then for district in BAC_GIANG_DISTRICTS)
    assert "như khi đăng ký" in then
    assert "Hiệp Hòa" not in now and ABOLISHED in now and "01/12/2026" in now
