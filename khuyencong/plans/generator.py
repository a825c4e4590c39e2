"""Realistic synthetic đề án: Bắc Giang's districts, its trades, content areas, amounts within
the rule pack's caps; and the scenario that rebuilds Bắc Giang 2014–2018 as the 2019 interview
tells it (166 đề án = 150 provincial + 16 national, all 10 districts, 7 of the 9 content areas).

Everything is seeded: the same seed gives the same đề án, so tests and benchmarks are stable.
:func:`load_history` writes the read model (``de_an``) and the plans' tables directly, as a
backfill of closed đề án (fast: reports and benchmarks); :mod:`khuyencong.plans.backfill` runs
the same history through the engine instead, one workflow per đề án.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from db import de_an as de_an_db
from db import plans as plans_db
from db.de_an import DeAnRow
from db.plans import PlanItemRow
from domain.model import Actor, BeneficiaryType, ContentArea, DeAnDossier, Level, Role
from domain.rules import RulePack, load_packs, pack_in_force, packs_for
from domain.stages import Stage
from workflows.plan_contract import PlanRegistration, PlanRow, plan_id_for

PROVINCE = "Bắc Giang"
BAC_GIANG_DISTRICTS = [
    "TP Bắc Giang",
    "Hiệp Hòa",
    "Lạng Giang",
    "Lục Nam",
    "Lục Ngạn",
    "Sơn Động",
    "Tân Yên",
    "Việt Yên",
    "Yên Dũng",
    "Yên Thế",
]
INTERVIEW_CONTENT_AREAS = ["1", "2", "3", "4", "5", "6", "9"]
"""The 7 of 9 areas Bắc Giang covered in 2014–2018 (Nghị định 45/2012 Điều 4)."""

CENTRE = "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang"

# content area → (support item, title patterns, total cost range in triệu đồng)
AREA_ITEMS: dict[str, list[tuple[str, str, tuple[int, int]]]] = {
    "1": [("training", "Đào tạo nghề {trade} cho lao động nông thôn tại {place}", (60, 200))],
    "2": [
        (
            "training",
            "Nâng cao năng lực quản lý, sản xuất sạch hơn cho cơ sở {trade} tại {place}",
            (50, 150),
        )
    ],
    "3": [
        (
            "machinery",
            "Ứng dụng máy móc thiết bị tiên tiến trong sản xuất {trade} tại {place}",
            (300, 900),
        ),
        (
            "demonstration_model",
            "Xây dựng mô hình trình diễn kỹ thuật sản xuất {trade} tại {place}",
            (600, 1500),
        ),
    ],
    "4": [
        (
            "typical_product_regional",
            "Bình chọn, hỗ trợ sản phẩm {trade} tiêu biểu tại {place}",
            (80, 200),
        )
    ],
    "5": [("consulting", "Tư vấn, trợ giúp cơ sở sản xuất {trade} tại {place}", (40, 60))],
    "6": [
        (
            "media",
            "Tuyên truyền, phổ biến chính sách khuyến công, nghề {trade} tại {place}",
            (50, 150),
        )
    ],
    "7": [
        (
            "cluster_pollution_treatment",
            "Xử lý ô nhiễm môi trường cụm công nghiệp {place}",
            (1000, 3000),
        )
    ],
    "8": [("fair_abroad", "Tham gia hội chợ quốc tế cho sản phẩm {trade}", (150, 400))],
    "9": [
        (
            "training",
            "Nâng cao năng lực, kiểm tra, giám sát hoạt động khuyến công tại {place}",
            (40, 120),
        )
    ],
}
TRADES = [
    "mây tre đan",
    "gạch không nung",
    "ống cống bê tông",
    "mì Chũ",
    "bánh đa Kế",
    "rượu làng Vân",
    "chế biến vải thiều",
    "gỗ ép",
    "cơ khí chính xác",
    "may mặc",
    "nấm ăn",
    "chè Yên Thế",
    "bún, bánh phở",
    "đồ gỗ mỹ nghệ",
    "thức ăn chăn nuôi",
    "gốm sứ",
]
GIVEN = ["Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Văn Hải", "Thị Hoa", "Văn Long", "Thị Mai"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Ngô", "Dương", "Bùi"]
BENEFICIARY_TYPES = [
    BeneficiaryType.DOANH_NGHIEP,
    BeneficiaryType.HOP_TAC_XA,
    BeneficiaryType.HO_KINH_DOANH,
    BeneficiaryType.TO_HOP_TAC,
]

REGISTRAR = Actor(
    official_id="BG-TTKC-012",
    full_name="Nguyễn Thị Thu Hà",
    role=Role.TRUNG_TAM,
    organisation=CENTRE,
    province=PROVINCE,
)


def _pack(packs: Sequence[RulePack], level: Level, province: str, year: int) -> RulePack:
    pack = pack_in_force(packs_for(packs, level, province), date(year, 12, 31))
    pack = pack or pack_in_force(packs_for(packs, level, province), date(year + 1, 12, 31))
    if pack is None:
        raise ValueError(f"no rule pack for {level.value} {province} {year}")
    return pack


def _beneficiary(rng: random.Random, trade: str, place: str) -> dict[str, Any]:
    kind = rng.choice(BENEFICIARY_TYPES)
    person = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
    name = {
        BeneficiaryType.DOANH_NGHIEP: f"Công ty TNHH {trade.capitalize()} {place}",
        BeneficiaryType.HOP_TAC_XA: f"Hợp tác xã {trade} {place}",
        BeneficiaryType.HO_KINH_DOANH: f"Hộ kinh doanh {person}",
        BeneficiaryType.TO_HOP_TAC: f"Tổ hợp tác {trade} {place}",
    }[kind]
    digits = 12 if kind is BeneficiaryType.HO_KINH_DOANH else 10
    tax = "24" + "".join(str(rng.randrange(10)) for _ in range(digits - 2))
    return {"name": name, "type": kind.value, "tax_code": tax}


def make_dossier(
    rng: random.Random,
    *,
    code: str,
    level: Level,
    year: int,
    district: str,
    content_area: str,
    packs: Sequence[RulePack],
    province: str = PROVINCE,
) -> DeAnDossier:
    """One đề án whose money adds up and whose support is within the pack's cap."""
    item, pattern, (low, high) = rng.choice(AREA_ITEMS[content_area])
    pack = _pack(packs, level, province, year)
    rule = pack.items[item]
    trade = rng.choice(TRADES)
    cost = rng.randrange(low, high + 1) * 1_000_000
    unsupported = cost // 10 if rule.rate_bp < 10_000 else 0
    eligible = cost - unsupported
    support = rule.max_support(eligible) // 1_000_000 * 1_000_000
    support = max(support, 1_000_000)
    start_month = rng.randrange(3, 7)
    lines = [{"description": f"Chi phí {trade}", "amount": eligible}]
    if unsupported:
        lines.append(
            {
                "description": "Nhà xưởng, chi phí không được hỗ trợ",
                "amount": unsupported,
                "eligible": False,
            }
        )
    return DeAnDossier.model_validate(
        {
            "code": code,
            "title": pattern.format(trade=trade, place=district),
            "level": level,
            "province": province,
            "district": district,
            "content_area": content_area,
            "support_item": item,
            "beneficiary": _beneficiary(rng, trade, district),
            "implementing_unit": CENTRE,
            "plan_year": year,
            "schedule": {
                "start": date(year, start_month, 1),
                "end": date(year, rng.randrange(start_month + 3, 12), 28),
            },
            "cost_lines": lines,
            "requested_support": support,
            "counterpart_funds": cost - support,
        }
    )


def generate(
    seed: int,
    *,
    year: int,
    level: Level,
    count: int,
    province: str = PROVINCE,
    districts: Sequence[str] = BAC_GIANG_DISTRICTS,
    content_areas: Sequence[str] = INTERVIEW_CONTENT_AREAS,
    code_prefix: str | None = None,
    packs: Sequence[RulePack] | None = None,
    registered_on: date | None = None,
) -> list[PlanRegistration]:
    """``count`` đề án of one plan. Districts and content areas are dealt round-robin (so
    every one appears once there are enough đề án), the rest is drawn from ``seed``."""
    rng = random.Random(f"{seed}:{year}:{level.value}")
    packs = list(packs) if packs is not None else load_packs()
    tag = "QG" if level is Level.QUOC_GIA else "DP"
    prefix = code_prefix or f"BG-{year}-{tag}"
    areas = list(content_areas)
    rng.shuffle(areas)
    out = []
    for n in range(count):
        dossier = make_dossier(
            rng,
            code=f"{prefix}-{n + 1:03d}",
            level=level,
            year=year,
            district=districts[n % len(districts)],
            content_area=ContentArea(areas[n % len(areas)]).value,
            packs=packs,
            province=province,
        )
        out.append(
            PlanRegistration(
                dossier=dossier,
                registered_by=REGISTRAR,
                registered_on=registered_on or date(year - 1, 12, 15),
            )
        )
    return out


# --- the Bắc Giang 2014–2018 scenario ---------------------------------------------------------

NATIONAL_PER_YEAR = {2014: 4, 2015: 4, 2016: 3, 2017: 3, 2018: 2}
"""16 national đề án; 2018 had 2 (machinery for concrete pipes and unfired bricks)."""
PROVINCIAL_PER_YEAR = {year: 30 for year in range(2014, 2019)}
"""150 provincial đề án, 30 a year."""


def bac_giang_2014_2018(seed: int = 2019) -> list[PlanRegistration]:
    """166 đề án: 150 provincial + 16 national, all 10 districts, the 7 content areas."""
    entries: list[PlanRegistration] = []
    for year in range(2014, 2019):
        entries += generate(
            seed, year=year, level=Level.DIA_PHUONG, count=PROVINCIAL_PER_YEAR[year]
        )
        national = generate(
            seed,
            year=year,
            level=Level.QUOC_GIA,
            count=NATIONAL_PER_YEAR[year],
            content_areas=["3", "1", "4", "2"],
            districts=BAC_GIANG_DISTRICTS[year - 2014 :: 2],
        )
        entries += national
    return entries


# --- loading history into the read model ----------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """A past đề án as the read model holds it, and its plan item."""

    de_an: DeAnRow
    plan_item: PlanItemRow


def history_row(
    *,
    code: str,
    title: str,
    level: str,
    province: str,
    district: str | None,
    commune: str | None,
    content_area: str,
    support_item: str,
    beneficiary_name: str,
    beneficiary_type: str,
    plan_year: int,
    stage: str,
    requested: int,
    approved: int,
    advanced: int,
    paid: int,
    counterpart_funds: int,
    total_cost: int,
    at: datetime,
) -> HistoryRow:
    """One backfilled đề án as its read-model row and its plan
    item: contracted as approved, nothing owed or refunded, never on hold or overdue."""
    return HistoryRow(
        de_an=DeAnRow(
            de_an_id=code,
            workflow_id=f"de-an/{code}",
            seq=1,
            code=code,
            title=title,
            level=level,
            province=province,
            district=district,
            commune=commune,
            content_area=content_area,
            support_item=support_item,
            beneficiary_name=beneficiary_name,
            beneficiary_type=beneficiary_type,
            plan_year=plan_year,
            stage=Stage(stage),
            requested_support=requested,
            approved_support=approved,
            contracted_support=approved,
            advanced=advanced,
            paid=paid,
            refund_owed=0,
            refunded=0,
            payments_on_hold=False,
            overdue=False,
            rule_pack_id=None,
            created_at=at,
            updated_at=at,
        ),
        plan_item=PlanItemRow(
            de_an_id=code,
            plan_id=plan_id_for(level, province, plan_year),
            plan_year=plan_year,
            requested_support=requested,
            counterpart_funds=counterpart_funds,
            total_cost=total_cost,
        ),
    )


def history_rows(entries: Iterable[PlanRegistration], *, stage: str = "closed") -> list[HistoryRow]:
    """Closed đề án: approved as requested, advanced 70 % and fully paid."""
    rows = []
    for e in entries:
        d = e.dossier
        approved = d.requested_support
        advanced = approved * 7 // 10
        rows.append(
            history_row(
                code=d.code,
                title=d.title,
                level=d.level.value,
                province=d.province,
                district=d.district,
                commune=d.commune,
                content_area=d.content_area.value,
                support_item=d.support_item,
                beneficiary_name=d.beneficiary.name,
                beneficiary_type=d.beneficiary.type.value,
                plan_year=d.plan_year,
                stage=stage,
                requested=d.requested_support,
                approved=approved,
                advanced=advanced,
                paid=approved if stage in ("closed", "settled") else advanced,
                counterpart_funds=d.counterpart_funds,
                total_cost=d.total_cost,
                at=datetime(d.plan_year, d.schedule.end.month, 1, tzinfo=UTC),
            )
        )
    return rows


def plan_rows(rows: Iterable[HistoryRow]) -> list[PlanRow]:
    """One ``plan`` row per (level, province, year): the envelope is what was approved."""
    plans: dict[str, PlanRow] = {}
    for row in rows:
        d = row.de_an
        plan_id = row.plan_item.plan_id
        plan = plans.get(plan_id) or PlanRow(
            plan_id=plan_id,
            province=d.province,
            level=d.level,
            year=d.plan_year,
            envelope=0,
            intake_closes_on=date(d.plan_year - 1, 12, 31),
            checkpoints=[],
        )
        plans[plan_id] = plan.model_copy(update={"envelope": plan.envelope + d.approved_support})
    return list(plans.values())


async def load_history(pool: Any, entries: Iterable[PlanRegistration]) -> int:
    """Backfill closed đề án into the read model, idempotently; the number of new đề án."""
    rows = history_rows(entries)
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval(
            "SELECT count(*) FROM de_an WHERE de_an_id = ANY($1::text[])",
            [r.de_an.de_an_id for r in rows],
        )
        await plans_db.insert_plans(conn, plan_rows(rows))
        await de_an_db.insert_de_an_rows(conn, [r.de_an for r in rows])
        await plans_db.insert_plan_items(conn, [r.plan_item for r in rows])
    return len(rows) - int(before)


async def copy_history(conn: Any, rows: Sequence[HistoryRow]) -> None:
    """Bulk load (COPY) into an empty database: the benchmark's 100,000 đề án."""
    await plans_db.insert_plans(conn, plan_rows(rows))
    await de_an_db.copy_de_an_rows(conn, [r.de_an for r in rows])
    await plans_db.copy_plan_items(conn, [r.plan_item for r in rows])
