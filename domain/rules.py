"""Rule packs: caps, advance rules and deadlines as data, with effective dates and citations.

A pack is a JSON file. National packs ship with the code (``domain/rulepacks``); a province
writes its own pack file (its quy chế quản lý kinh phí khuyến công địa phương) and points
``KHUYENCONG_RULE_PACK_DIR`` at the folder. A đề án is judged by the pack in force on its
approval date: the newest pack of its level (and province) whose ``effective_from`` is not
after that date.
"""

from __future__ import annotations

import json
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.model import Level
from domain.money import BasisPoints, Dong, max_support
from domain.strict import validate_typed
from domain.workdays import DayKind

SHIPPED_PACK_DIR = Path(__file__).parent / "rulepacks"


class _Frozen(BaseModel):
    # Packs travel in DeAnInput: unknown fields are ignored there; a pack file is read
    # strictly (load_pack, domain.strict.validate_typed).
    model_config = ConfigDict(frozen=True, extra="ignore")


class AdvanceKind(StrEnum):
    ON_CONTRACT = "on_contract"
    """Advance on the contract and plan (training, consulting, seminars, fairs, media)."""
    AFTER_PROGRESS = "after_progress"
    """Advance once a Sở-confirmed progress report shows more than ``progress_bp`` done."""
    AFTER_ACCEPTANCE = "after_acceptance"
    """Advance only after base acceptance (enterprise set-up: 100 %)."""


class AdvanceRule(_Frozen):
    kind: AdvanceKind
    max_bp: BasisPoints = Field(description="Ceiling of all advances, share of contracted support")
    progress_bp: BasisPoints = Field(
        default=0, description="Progress that must be exceeded (after_progress only)"
    )
    citation: str = Field(min_length=1)


class SupportItemRule(_Frozen):
    label: str = Field(min_length=1)
    rate_bp: BasisPoints = Field(description="Highest share of eligible cost the state may pay")
    cap: Dong | None = Field(description="Highest support in đồng per đề án; null: no cap")
    citation: str = Field(min_length=1)
    confirmed: bool = Field(default=True, description="False where the value is not confirmed")
    advance: AdvanceRule

    def max_support(self, eligible_cost: int) -> int:
        return max_support(eligible_cost, self.rate_bp, self.cap)


class DeadlineRules(_Frozen):
    progress_report_day: int = Field(ge=1, le=28, description="Monthly report due before this day")
    progress_report_citation: str
    settlement_dossier_days: int = Field(ge=1, le=365)
    settlement_dossier_day_kind: DayKind = Field(
        default=DayKind.CALENDAR,
        description="calendar: ngày; working: ngày làm việc (skips weekends and days off)",
    )
    settlement_dossier_citation: str
    settlement_month: int = Field(ge=1, le=12, description="Settlement due in the next year by")
    settlement_day: int = Field(ge=1, le=28)
    settlement_citation: str


class RulePack(_Frozen):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    note: str | None = Field(default=None, alias="_note", description="Free text for editors")
    id: str = Field(min_length=1)
    title: str
    level: Level
    province: str | None = None
    effective_from: date
    citation: str
    example: bool = Field(default=False, description="Values are illustrative, not adopted law")
    advance_ceiling_bp: BasisPoints = Field(description="All advances before acceptance")
    advance_ceiling_citation: str
    deadlines: DeadlineRules
    items: dict[str, SupportItemRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _province_matches_level(self) -> RulePack:
        if (self.level is Level.DIA_PHUONG) != bool(self.province):
            raise ValueError("a provincial pack names its province; a national pack names none")
        return self

    def item(self, key: str) -> SupportItemRule | None:
        return self.items.get(key)


def province_key(name: str) -> str:
    """Compare provinces without case, accents or the word 'tỉnh'."""
    text = unicodedata.normalize("NFD", name.strip().lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    for prefix in ("tinh ", "thanh pho "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return " ".join(text.split())


def load_pack(path: Path) -> RulePack:
    """A pack file, refusing fields a pack does not have (a misspelt cap is not dropped)."""
    return validate_typed(RulePack, json.loads(path.read_text(encoding="utf-8")))


def load_packs(extra_dirs: Iterable[Path] = ()) -> list[RulePack]:
    """Shipped packs plus every ``*.json`` in ``extra_dirs`` (a later file replaces an ID)."""
    packs: dict[str, RulePack] = {}
    for folder in (SHIPPED_PACK_DIR, *extra_dirs):
        for path in sorted(Path(folder).glob("*.json")):
            pack = load_pack(path)
            packs[pack.id] = pack
    return sorted(packs.values(), key=lambda p: (p.level, p.province or "", p.effective_from))


def packs_for(packs: Sequence[RulePack], level: Level, province: str) -> list[RulePack]:
    """The packs that can ever apply to a đề án of this level and province."""
    return [
        p
        for p in packs
        if p.level is level
        and (level is Level.QUOC_GIA or province_key(p.province or "") == province_key(province))
    ]


def pack_in_force(packs: Sequence[RulePack], on: date) -> RulePack | None:
    """The newest pack effective on ``on``, or None when none had started."""
    candidates = [p for p in packs if p.effective_from <= on]
    return max(candidates, key=lambda p: p.effective_from, default=None)


_SHARED: weakref.WeakValueDictionary[tuple[str, str], RulePack] = weakref.WeakValueDictionary()


def shared(packs: Iterable[RulePack]) -> list[RulePack]:
    """``packs``, each as the one instance every đề án of this process shares (issue 14: each
    đề án held a parsed copy of its own, about 30 KB in memory). Packs are frozen, so sharing
    changes nothing but memory. Two packs are one only when their content is equal, not their
    ID alone: a province may edit a pack file under the same ID, and a đề án keeps what it
    loaded. A pack no đề án holds any more is dropped (weak references)."""
    found = []
    for pack in packs:
        key = (pack.id, pack.model_dump_json(by_alias=True))
        kept = _SHARED.get(key)
        if kept is None:
            _SHARED[key] = kept = pack
        found.append(kept)
    return found
