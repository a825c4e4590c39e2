"""How the web desk writes dates, times and money: ``20/02/2019``, ``150.000.000 đ``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def money(value: int | None) -> str:
    """``150000000`` → ``150.000.000 đ``; None → ``—``."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(int(value)):,} đ".replace(",", ".")


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy (a datetime in Vietnam's time zone); None → ``—``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM) if value.tzinfo else value
        return f"{value:%d/%m/%Y}"
    return f"{value:%d/%m/%Y}"


def vn_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Vietnam's time zone."""
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM) if value.tzinfo else value
    return f"{local:%d/%m/%Y %H:%M}"


def parse_money(text: str) -> str:
    """What an official types for an amount (``150.000.000``, ``150 000 000 đ``) as digits
    for the contract model (which judges it); anything else unchanged."""
    cleaned = text.strip().removesuffix("đ").removesuffix("đồng").strip()
    compact = cleaned.replace(".", "").replace(" ", "").replace("\u00a0", "").replace(",", "")
    return compact if compact.lstrip("-").isdigit() else text.strip()
