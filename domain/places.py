"""Administrative units as data with effective dates: provinces, districts, communes.

A unit is in force from ``valid_from`` to ``valid_to`` (both inclusive; ``None``: still in
force). When it ends it may name a ``successor``: the unit that took over its territory and
its business from the day after. On 1/7/2025 Bắc Giang merged into Bắc Ninh and the district
level was abolished (Nghị quyết 202/2025/QH15; Luật Tổ chức chính quyền địa phương 2025):
Bắc Giang's successor is the new Bắc Ninh; its districts have none (two-tier government).

A đề án keeps the unit it was registered in (its ``province``/``district``/``commune`` text
never changes); what changes with time is *who answers for it*: the unit in force on a date
that succeeded it (:meth:`UnitRegistry.current`, :meth:`UnitRegistry.responsible_province`).

Pure lookup code: no files read here. The shipped units (``domain/data/admin_units.json``)
and any province's own file are read by :mod:`khuyencong.places`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.text import Text


class UnitKind(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"

    @property
    def label(self) -> str:
        return {"province": "Tỉnh", "district": "Huyện", "commune": "Xã/phường"}[self]


class AdminUnit(BaseModel):
    """One unit over one period. A renamed or re-formed unit is a new unit (a new ``code``)
    that the old one names as its ``successor``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9\-/]*$")
    name: Text = Field(min_length=1, max_length=120)
    kind: UnitKind
    parent: str | None = Field(default=None, description="Mã đơn vị cấp trên")
    valid_from: date
    valid_to: date | None = Field(default=None, description="Ngày cuối cùng còn hiệu lực")
    successor: str | None = Field(default=None, description="Mã đơn vị kế thừa từ ngày sau")
    basis: Text = Field(default="", max_length=300, description="Căn cứ pháp lý")

    @model_validator(mode="after")
    def _ordered(self) -> AdminUnit:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"{self.code}: valid_to trước valid_from")
        if self.successor is not None and self.valid_to is None:
            raise ValueError(f"{self.code}: đơn vị còn hiệu lực không có đơn vị kế thừa")
        if (self.kind is UnitKind.PROVINCE) == (self.parent is not None):
            raise ValueError(f"{self.code}: tỉnh không có cấp trên; huyện, xã phải có")
        return self

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def describe(self) -> str:
        until = f"{self.valid_to:%d/%m/%Y}" if self.valid_to else "nay"
        return f"{self.kind.label} {self.name} ({self.valid_from:%d/%m/%Y}–{until})"


class UnitsFile(BaseModel):
    """A units file: ``{"source": "...", "units": [...]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Text = Field(default="", max_length=2000)
    units: list[AdminUnit] = Field(min_length=1, max_length=50_000)


_PREFIXES = (
    "tinh ",
    "thanh pho ",
    "tp. ",
    "tp ",
    "thi xa ",
    "tx. ",
    "tx ",
    "huyen ",
    "quan ",
    "thi tran ",
    "phuong ",
    "xa ",
)


def unit_key(name: str) -> str:
    """Compare unit names without case, accents or the type word (tỉnh, huyện, xã...): 'Xã
    Vân Hà' and 'van ha' match; 'TP Bắc Giang' and 'Bắc Giang' match too, so look a district
    up under its province (:meth:`UnitRegistry.find` with ``parent``)."""
    text = unicodedata.normalize("NFD", name.strip().lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    text = " ".join(text.split())
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :].strip()
    return text


class UnitRegistry:
    """Units by code, with lookups by name and date. Built from one or more files; a later
    file replaces a unit of the same code (a province corrects or extends the shipped data)."""

    def __init__(self, units: Iterable[AdminUnit] = ()) -> None:
        self._units: dict[str, AdminUnit] = {}
        for unit in units:
            self._units[unit.code] = unit
        self._check()

    def _check(self) -> None:
        for unit in self._units.values():
            for ref, what in ((unit.parent, "parent"), (unit.successor, "successor")):
                if ref is not None and ref not in self._units:
                    raise ValueError(f"{unit.code}: {what} {ref} không có trong danh mục")
            if unit.successor is not None:
                after = self._units[unit.successor]
                assert unit.valid_to is not None  # AdminUnit says so
                if not after.in_force(unit.valid_to + timedelta(days=1)):
                    raise ValueError(
                        f"{unit.code}: đơn vị kế thừa {after.code} chưa có hiệu lực ngày "
                        f"{unit.valid_to + timedelta(days=1):%d/%m/%Y}"
                    )

    def merged(self, units: Iterable[AdminUnit]) -> UnitRegistry:
        return UnitRegistry([*self._units.values(), *units])

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[AdminUnit]:
        return iter(self.units())

    def units(self) -> list[AdminUnit]:
        """Every unit, by kind then code."""
        return sorted(self._units.values(), key=lambda u: (u.kind, u.code))

    def get(self, code: str) -> AdminUnit | None:
        return self._units.get(code)

    def children(self, parent: str, on: date | None = None) -> list[AdminUnit]:
        return sorted(
            (
                u
                for u in self._units.values()
                if u.parent == parent and (on is None or u.in_force(on))
            ),
            key=lambda u: u.name,
        )

    def find(
        self, name: str, kind: UnitKind, on: date | None = None, parent: str | None = None
    ) -> AdminUnit | None:
        """The unit of ``kind`` called ``name`` (under ``parent``): the one in force on ``on``
        when there is one, else the one that ended last before ``on`` (so a dissolved unit is
        still found by its name); ``on`` None: the newest of that name."""
        key = unit_key(name)
        found = [
            u
            for u in self._units.values()
            if u.kind is kind and unit_key(u.name) == key and (parent is None or u.parent == parent)
        ]
        if on is None:
            return max(found, key=lambda u: u.valid_from, default=None)
        current = [u for u in found if u.in_force(on)]
        if current:
            return current[0]
        ended = [u for u in found if u.valid_to is not None and u.valid_to < on]
        return max(ended, key=lambda u: u.valid_from, default=None)

    def current(self, unit: AdminUnit, on: date) -> AdminUnit | None:
        """The unit answering for ``unit`` on ``on``: itself while in force, else its successor
        (followed as far as needed); None when it ended without one (an abolished district)
        or ``on`` is before it started."""
        seen: set[str] = set()
        cursor: AdminUnit | None = unit
        while cursor is not None and cursor.code not in seen:
            seen.add(cursor.code)
            if cursor.in_force(on):
                return cursor
            if cursor.valid_from > on or cursor.successor is None:
                return None
            cursor = self._units.get(cursor.successor)
        return None

    def province_of(self, unit: AdminUnit) -> AdminUnit:
        cursor = unit
        while cursor.parent is not None:
            parent = self._units.get(cursor.parent)
            if parent is None:
                break
            cursor = parent
        return cursor

    def registered_province(self, name: str, registered_on: date) -> AdminUnit | None:
        """The province a đề án was registered in: the one of that name in force on its
        registration date. None when the registry does not know it on that date (a province
        not loaded, or a name that no longer existed then): the name alone decides."""
        unit = self.find(name, UnitKind.PROVINCE, registered_on)
        return unit if unit is not None and unit.in_force(registered_on) else None

    def successor_province(self, name: str, registered_on: date, on: date) -> Succession | None:
        """Whether the province a đề án was registered in (``name`` on ``registered_on``) was
        succeeded by ``on``: the province answering for it then, since when and by what act.
        None when nothing changed (or the registry does not know the province)."""
        then = self.registered_province(name, registered_on)
        if then is None:
            return None
        now = self.current(then, on)
        if now is None or now.code == then.code:
            return None
        if unit_key(now.name) == unit_key(then.name):
            return None  # same province under a re-formed unit (Bắc Ninh before and after)
        ended = then
        while ended.successor is not None and ended.successor != now.code:
            ended = self._units[ended.successor]
        assert ended.valid_to is not None
        return Succession(
            from_name=then.name,
            to_name=now.name,
            since=ended.valid_to + timedelta(days=1),
            basis=ended.basis or now.basis,
        )

    def responsible_province(self, name: str, registered_on: date, on: date) -> str:
        """The province whose officials answer on ``on`` for a đề án registered in ``name`` on
        ``registered_on`` (``name`` itself when nothing changed or the registry cannot say)."""
        succession = self.successor_province(name, registered_on, on)
        return name if succession is None else succession.to_name

    def predecessors(self, name: str, on: date) -> list[str]:
        """The names of the provinces whose đề án the province ``name`` answers for on ``on``
        (besides its own): after 1/7/2025, Bắc Giang for Bắc Ninh."""
        now = self.find(name, UnitKind.PROVINCE, on)
        if now is None or not now.in_force(on):
            return []
        names = {
            u.name
            for u in self._units.values()
            if u.kind is UnitKind.PROVINCE
            and unit_key(u.name) != unit_key(name)
            and (current := self.current(u, on)) is not None
            and current.code == now.code
        }
        return sorted(names)

    def dissolved(self, name: str, on: date) -> bool:
        """Whether the province called ``name`` no longer exists on ``on`` (an official still
        recorded under it acts for a unit that has ended)."""
        unit = self.find(name, UnitKind.PROVINCE, on)
        return unit is not None and not unit.in_force(on)

    def as_of(
        self, kind: UnitKind, name: str | None, on: date, *, province: str, registered_on: date
    ) -> str | None:
        """``name`` (a unit of ``kind`` of a đề án of ``province``, registered on
        ``registered_on``) as the unit answering for it on ``on``: the province's successor,
        a commune's successor; None for a district when districts were abolished."""
        if name is None:
            return None
        then_province = self.registered_province(province, registered_on)
        if kind is UnitKind.PROVINCE:
            return self.responsible_province(name, registered_on, on)
        if then_province is None:
            return name
        district = self.find(name, UnitKind.DISTRICT, registered_on, parent=then_province.code)
        if kind is UnitKind.DISTRICT:
            if district is None:
                return name
            now = self.current(district, on)
            return now.name if now is not None else None
        parents = [then_province.code] + [
            u.code for u in self.children(then_province.code) if u.kind is UnitKind.DISTRICT
        ]
        for parent in parents:
            commune = self.find(name, UnitKind.COMMUNE, registered_on, parent=parent)
            if commune is not None:
                now = self.current(commune, on)
                return now.name if now is not None else None
        return name


class Succession(BaseModel):
    """A province succeeded: ``from_name``'s đề án answered for by ``to_name`` since ``since``."""

    model_config = ConfigDict(frozen=True)

    from_name: str
    to_name: str
    since: date
    basis: str

    def describe(self) -> str:
        basis = f" ({self.basis})" if self.basis else ""
        return (
            f"tỉnh {self.from_name} đã hợp nhất vào tỉnh {self.to_name} từ ngày "
            f"{self.since:%d/%m/%Y}{basis}"
        )


def registry_from(data: Mapping[str, object] | UnitsFile) -> UnitRegistry:
    """A registry from a parsed units file (already validated, or a mapping to validate)."""
    parsed = data if isinstance(data, UnitsFile) else UnitsFile.model_validate(data)
    return UnitRegistry(parsed.units)
