"""Test data, in one place: officials, đề án dossiers, snapshots, steps, payments, deadlines.

Every builder gives valid data by default and takes keyword overrides::

    dossier = make_dossier(code=unique_code())               # the sample đề án, a fresh code
    dossier = dossier_on(today, requested_support=150_000_000)  # the same, dated from today
    actor = make_actor(Role.SO_CONG_THUONG)                  # Sở Công Thương Bắc Giang
    so = official("so-bg-1", Role.SO_CONG_THUONG)            # an official with a chosen ID
    step = make_step(Action.APPROVE, dossier=dossier, seq=3,
                     details=details_of(DeAnApprove(actor=..., decision_number=..., ...)),
                     snapshot={"approved_support": 200_000_000})

Tests that share the session database use :func:`unique_code` (or :func:`new_code`) so their
rows never collide. Tests that run a workflow use :func:`dossier_on`: the workflow refuses
paper dates in the future, so their dates come from the server's clock.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.deadlines import Deadline, DeadlineKind
from domain.model import CENTRAL_ROLES, Actor, ContentArea, DeAnDossier, Level, Role
from domain.stages import TRANSITIONS, Action, Stage
from workflows.de_an_contract import (
    DeAnCommand,
    DeAnPayment,
    DeAnSnapshot,
    DeAnStep,
    PaymentKind,
)

PROVINCE = BG = "Bắc Giang"
SAMPLE_CODE = "BG-2019-DP-01"

_counter = itertools.count(1)


def unique_code(prefix: str = "BG-2019-DP") -> str:
    """A đề án code no other test uses, e.g. ``BG-2019-DP-3F9A1C-7``."""
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}-{next(_counter)}"


def new_code(prefix: str = "T") -> str:
    """A short unique code, e.g. ``DP-3F9A1C0B2E`` (the workflow tests' codes)."""
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


# --- officials -----------------------------------------------------------------------------------


def organisation(role: Role, province: str | None = PROVINCE) -> str:
    """The organisation of an official of ``role`` in ``province`` (None: central)."""
    return {
        Role.TRUNG_TAM: f"Trung tâm Khuyến công tỉnh {province}",
        Role.SO_CONG_THUONG: f"Sở Công Thương tỉnh {province}",
        Role.UBND_TINH: f"UBND tỉnh {province}",
        Role.CUC: "Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công",
        Role.BO_TRUONG: "Văn phòng Bộ Công Thương",
        Role.TAI_CHINH: f"Kế toán — {province or 'Cục'}",
    }[role]


_NAMES: dict[Role, str] = {
    Role.TRUNG_TAM: "Nguyễn Văn An",
    Role.SO_CONG_THUONG: "Trần Thị Bình",
    Role.CUC: "Lê Văn Cường",
    Role.BO_TRUONG: "Phạm Minh Đức",
    Role.UBND_TINH: "Hoàng Thị Giang",
    Role.TAI_CHINH: "Vũ Thị Hạnh",
}

_UNSET: Any = object()


def make_actor(
    role: Role = Role.TRUNG_TAM,
    province: str | None = _UNSET,
    official_id: str | None = None,
    **overrides: Any,
) -> Actor:
    """An official of ``role``: in Bắc Giang, except ministry roles, which have no province."""
    if province is _UNSET:
        province = None if role in CENTRAL_ROLES else PROVINCE
    data: dict[str, Any] = {
        "official_id": official_id or f"{role.value}-01",
        "full_name": _NAMES[role],
        "role": role,
        "organisation": organisation(role, province),
        "province": province,
    }
    return Actor.model_validate({**data, **overrides})


def official(official_id: str, role: Role, province: str | None = BG, name: str = "") -> Actor:
    """:func:`make_actor` with its ID first (the named officials of the workflow tests)."""
    return make_actor(role, province, official_id, full_name=name or f"Cán bộ {official_id}")


TRUNG_TAM = official("tt-bg-1", Role.TRUNG_TAM, name="Nguyễn Văn An")
SO = official("so-bg-1", Role.SO_CONG_THUONG, name="Trần Thị Bình")
SO_2 = official("so-bg-2", Role.SO_CONG_THUONG, name="Đỗ Văn Giang")
SO_BAC_NINH = official("so-bn-1", Role.SO_CONG_THUONG, province="Bắc Ninh")
UBND = official("ubnd-bg-1", Role.UBND_TINH, name="Hoàng Văn Em")
UBND_BAC_NINH = official("ubnd-bn-1", Role.UBND_TINH, province="Bắc Ninh")
CUC = official("cuc-1", Role.CUC, province=None, name="Lê Văn Cường")
BO_TRUONG = official("bt-1", Role.BO_TRUONG, province=None, name="Phạm Minh Đức")
KE_TOAN_BG = official("kt-bg-1", Role.TAI_CHINH, name="Vũ Thị Hoa")
KE_TOAN_CUC = official("kt-cuc-1", Role.TAI_CHINH, province=None, name="Ngô Thị Lan")
LIFECYCLE_OFFICIALS = (TRUNG_TAM, SO, SO_2, UBND, CUC, BO_TRUONG, KE_TOAN_BG, KE_TOAN_CUC)
"""The officials above, for a register in PostgreSQL (a worker in another process)."""


def default_actor(action: Action, level: Level = Level.DIA_PHUONG) -> Actor | None:
    """An official allowed to take ``action`` on a đề án of ``level`` (None: system steps)."""
    if action is Action.DEADLINE_MISSED:
        return None
    local = {
        Action.APPRAISE: Role.SO_CONG_THUONG,
        Action.APPROVE: Role.UBND_TINH,
        Action.REJECT: Role.UBND_TINH,
        Action.ADJUST: Role.UBND_TINH,
        Action.STOP: Role.UBND_TINH,
        Action.SIGN_CONTRACT: Role.SO_CONG_THUONG,
        Action.CONFIRM_PROGRESS: Role.SO_CONG_THUONG,
        Action.RECORD_VISIT: Role.SO_CONG_THUONG,
        Action.RESOLVE_FINDINGS: Role.SO_CONG_THUONG,
        Action.ACCEPT: Role.SO_CONG_THUONG,
        Action.SETTLE: Role.SO_CONG_THUONG,
        Action.PAY_ADVANCE: Role.TAI_CHINH,
        Action.PAY_SETTLEMENT: Role.TAI_CHINH,
        Action.RECORD_REFUND: Role.TAI_CHINH,
    }
    national = {
        Action.APPROVE: Role.BO_TRUONG,
        Action.REJECT: Role.BO_TRUONG,
        Action.ADJUST: Role.CUC,
        Action.STOP: Role.BO_TRUONG,
        Action.SIGN_CONTRACT: Role.CUC,
        Action.SETTLE: Role.CUC,
    }
    role = (national.get(action) if level is Level.QUOC_GIA else None) or local.get(
        action, Role.TRUNG_TAM
    )
    if level is Level.QUOC_GIA and role is Role.TAI_CHINH:
        return make_actor(role, province=None)
    return make_actor(role)


# --- the dossier ----------------------------------------------------------------------------------


def make_dossier_data(**overrides: Any) -> dict[str, Any]:
    """The sample đề án as data: a provincial machinery demonstration of Bắc Giang, 2019;
    800 triệu total, 600 triệu eligible, 200 triệu requested, the rest the beneficiary's."""
    data: dict[str, Any] = {
        "code": SAMPLE_CODE,
        "title": "Hỗ trợ ứng dụng máy ép gạch không nung",
        "level": Level.DIA_PHUONG,
        "province": PROVINCE,
        "district": "Yên Dũng",
        "content_area": "3",
        "support_item": "machinery",
        "beneficiary": {
            "name": "HTX Vật liệu xây dựng Tiến Phong",
            "type": "hop_tac_xa",
            "tax_code": "2400123456",
        },
        "implementing_unit": "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang",
        "plan_year": 2019,
        "schedule": {"start": date(2019, 3, 1), "end": date(2019, 11, 30)},
        "cost_lines": [
            {"description": "Máy ép gạch thủy lực", "amount": 600_000_000},
            {"description": "Nhà xưởng", "amount": 200_000_000, "eligible": False},
        ],
        "requested_support": 200_000_000,
        "counterpart_funds": 600_000_000,
    }
    data.update(overrides)
    return data


def make_dossier(**overrides: Any) -> DeAnDossier:
    """The sample đề án (:func:`make_dossier_data`), with ``overrides``."""
    return DeAnDossier.model_validate(make_dossier_data(**overrides))


def make_national_dossier(**overrides: Any) -> DeAnDossier:
    return make_dossier(**{"code": "BG-2019-QG-01", "level": Level.QUOC_GIA, **overrides})


def dossier_on(
    today: date,
    *,
    level: Level = Level.DIA_PHUONG,
    support_item: str = "machinery",
    content_area: ContentArea = ContentArea.MO_HINH_MAY_MOC,
    cost: int = 600_000_000,
    requested_support: int = 200_000_000,
    code: str | None = None,
    **overrides: Any,
) -> DeAnDossier:
    """The sample đề án dated from ``today`` (its plan year, from today to the year's end),
    with a fresh code and ``cost`` in two eligible lines, the beneficiary paying the rest."""
    return make_dossier(
        **{
            "code": code or new_code("QG" if level is Level.QUOC_GIA else "DP"),
            "level": level,
            "content_area": content_area,
            "support_item": support_item,
            "plan_year": today.year,
            "schedule": {"start": today, "end": date(today.year, 12, 31)},
            "cost_lines": [
                {"description": "Máy ép gạch thủy lực", "amount": cost - 50_000_000},
                {"description": "Lắp đặt, chạy thử", "amount": 50_000_000},
            ],
            "requested_support": requested_support,
            "counterpart_funds": cost - requested_support,
            **overrides,
        }
    )


# --- snapshots, steps -----------------------------------------------------------------------------


def make_snapshot(
    dossier: DeAnDossier | None = None,
    *,
    seq: int = 1,
    stage: Stage = Stage.REGISTERED,
    **overrides: Any,
) -> DeAnSnapshot:
    """The read-model row of ``dossier`` at ``seq``: no money decided yet unless overridden."""
    dossier = dossier or make_dossier()
    data: dict[str, Any] = {
        "de_an_id": dossier.code,
        "workflow_id": dossier.workflow_id,
        "seq": seq,
        "code": dossier.code,
        "title": dossier.title,
        "level": dossier.level.value,
        "province": dossier.province,
        "district": dossier.district,
        "commune": dossier.commune,
        "content_area": dossier.content_area.value,
        "support_item": dossier.support_item,
        "beneficiary_name": dossier.beneficiary.name,
        "beneficiary_type": dossier.beneficiary.type.value,
        "plan_year": dossier.plan_year,
        "stage": stage,
        "requested_support": dossier.requested_support,
        "approved_support": 0,
        "contracted_support": 0,
        "advanced": 0,
        "paid": 0,
        "refund_owed": 0,
        "refunded": 0,
        "payments_on_hold": False,
        "overdue": False,
        "rule_pack_id": None,
    }
    return DeAnSnapshot.model_validate({**data, **overrides})


def stages_of(action: Action) -> tuple[Stage, Stage]:
    """A typical ``(stage_from, stage_to)`` for ``action`` (the first listed transition)."""
    if action is Action.REGISTER:
        return Stage.REGISTERED, Stage.REGISTERED
    if action is Action.DEADLINE_MISSED:
        return Stage.IN_PROGRESS, Stage.IN_PROGRESS
    for (stage_from, act), stage_to in TRANSITIONS.items():
        if act is action:
            return stage_from, stage_to
    raise ValueError(f"no transition for {action}")


BASE_TIME = datetime(2019, 3, 1, 2, 0, tzinfo=UTC)


def details_of(command: DeAnCommand) -> dict[str, Any]:
    """A command payload as a step carries it: JSON, without the actor."""
    return command.model_dump(mode="json", exclude={"actor"})


def make_step(
    action: Action,
    *,
    dossier: DeAnDossier | None = None,
    seq: int = 1,
    key: str | None = None,
    ref: str | None = None,
    actor: Actor | None = _UNSET,
    stage_from: Stage | None = None,
    stage_to: Stage | None = None,
    details: dict[str, Any] | None = None,
    snapshot: dict[str, Any] | None = None,
    payment: DeAnPayment | None = None,
    deadline: Deadline | None = None,
    occurred_at: datetime | None = None,
    decision_number: str | None = None,
    summary: str | None = None,
) -> DeAnStep:
    """A step of ``dossier``'s đề án. The key is ``{de_an}:{action}:{ref}`` (ref: the seq);
    ``snapshot`` overrides fields of the snapshot (its stage is ``stage_to``)."""
    dossier = dossier or make_dossier()
    default_from, default_to = stages_of(action)
    stage_from = stage_from or default_from
    stage_to = stage_to or default_to
    occurred_at = occurred_at or BASE_TIME + timedelta(hours=seq)
    de_an_id = dossier.code
    return DeAnStep(
        key=key or f"{de_an_id}:{action.value}:{ref or seq}",
        de_an_id=de_an_id,
        action=action,
        stage_from=stage_from,
        stage_to=stage_to,
        actor=default_actor(action, dossier.level) if actor is _UNSET else actor,
        occurred_at=occurred_at,
        business_date=(occurred_at + timedelta(hours=7)).date(),
        decision_number=decision_number,
        summary=summary or f"{action.label}: {dossier.code}",
        details=details or {},
        snapshot=make_snapshot(dossier, seq=seq, stage=stage_to, **(snapshot or {})),
        payment=payment,
        deadline=deadline,
    )


def make_payment(
    de_an_id: str,
    kind: PaymentKind = PaymentKind.ADVANCE,
    amount: int = 100_000_000,
    *,
    ref: str = "1",
    paid_on: date = date(2019, 6, 10),
    voucher_number: str = "PC-2019-0123",
) -> DeAnPayment:
    return DeAnPayment(
        key=f"{de_an_id}:payment:{kind.value}:{ref}",
        kind=kind,
        amount=amount,
        paid_on=paid_on,
        voucher_number=voucher_number,
    )


def make_deadline(
    kind: DeadlineKind = DeadlineKind.PROGRESS_REPORT,
    ref: str = "2019-05",
    due_date: date = date(2019, 5, 24),
    citation: str = "Thông tư 36/2013/TT-BCT: báo cáo trước ngày 25 hằng tháng",
) -> Deadline:
    return Deadline(kind=kind, ref=ref, due_date=due_date, citation=citation)
