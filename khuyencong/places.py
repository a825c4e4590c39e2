"""The shipped places and calendar data, read once: administrative units with their effective
dates (``domain/data/admin_units.json``) and the public holidays 2014–2030
(``domain/data/holidays_vn.json``), plus the files a province adds.

The lookups are pure (:mod:`domain.places`, :mod:`domain.workdays`); this module only reads
files. The workflows use :data:`SHIPPED_UNITS` and :data:`SHIPPED_CALENDAR`: data that ships
with the worker's code, read when the module is first imported (outside the sandbox, passed
through), so a replay on the same build decides exactly as the first run. Units and days off
loaded into PostgreSQL (``khuyencong units load``, ``khuyencong calendar add-days-off``) are
for reports, the inbox and the CLI; a change the workflows must follow ships in these files,
with a new worker build (and a workflow patch when it changes a running đề án's decisions).
"""

from __future__ import annotations

import json
from pathlib import Path

import domain
from domain.places import UnitRegistry, UnitsFile
from domain.strict import validate_typed
from domain.workdays import CalendarFile, HolidayCalendar

DATA_DIR = Path(domain.__file__).resolve().parent / "data"
"""``domain/data``: package data of ``domain`` (pyproject ``package-data``)."""
UNITS_FILE = DATA_DIR / "admin_units.json"
HOLIDAYS_FILE = DATA_DIR / "holidays_vn.json"


def read_units(path: Path) -> UnitsFile:
    """A units file, strictly (an unknown field is named, not dropped)."""
    return validate_typed(UnitsFile, json.loads(Path(path).read_text(encoding="utf-8")))


def read_calendar(path: Path) -> CalendarFile:
    """A calendar file (holidays of one or more years), strictly."""
    return validate_typed(CalendarFile, json.loads(Path(path).read_text(encoding="utf-8")))


SHIPPED_UNITS: UnitRegistry = UnitRegistry(read_units(UNITS_FILE).units)
"""Bắc Giang and Bắc Ninh before and after 1/7/2025."""

SHIPPED_CALENDAR: HolidayCalendar = HolidayCalendar(read_calendar(HOLIDAYS_FILE).years)
"""Public holidays 2014–2030 (statutory days, compensatory days)."""
