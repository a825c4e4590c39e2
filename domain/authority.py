"""Who may do what: the authority matrix, jurisdiction and four-eyes.

The matrix is ``(action, level) → roles``. Adjustments are routed by their kind
(TT 36/2013/TT-BCT Điều 11); appraisals by the stage (Sở first, then Cục for national).
Every check raises :class:`~domain.errors.Refusal`, so the workflow's validators are the one
choke point that no client can bypass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum

from domain.errors import Refusal, RefusalCode
from domain.model import CENTRAL_ROLES, Actor, DeAnDossier, Level, Role
from domain.places import UnitRegistry
from domain.rules import province_key
from domain.stages import Action, Stage

_T, _S, _C, _B, _U, _F = (
    Role.TRUNG_TAM,
    Role.SO_CONG_THUONG,
    Role.CUC,
    Role.BO_TRUONG,
    Role.UBND_TINH,
    Role.TAI_CHINH,
)
_N, _L = Level.QUOC_GIA, Level.DIA_PHUONG

BASIS_PROCESS = "Thông tư 36/2013/TT-BCT (sửa đổi bởi TT 17/2018/TT-BCT)"
BASIS_APPROVAL_NATIONAL = (
    "Thông tư 36/2013/TT-BCT Điều 8; Thông tư 46/2012/TT-BCT Điều 8 khoản 2 điểm a: Bộ trưởng "
    "Bộ Công Thương phê duyệt kế hoạch khuyến công quốc gia"
)
BASIS_APPROVAL_LOCAL = (
    "Thông tư 46/2012/TT-BCT Điều 8 khoản 2 điểm b: kế hoạch khuyến công địa phương do cấp có "
    "thẩm quyền (Chủ tịch UBND tỉnh) phê duyệt"
)
BASIS_ADJUST = "Thông tư 36/2013/TT-BCT Điều 11"

MATRIX: dict[tuple[Action, Level], frozenset[Role]] = {
    (Action.REGISTER, _N): frozenset({_T}),
    (Action.REGISTER, _L): frozenset({_T}),
    (Action.RESUBMIT, _N): frozenset({_T}),
    (Action.RESUBMIT, _L): frozenset({_T}),
    (Action.APPROVE, _N): frozenset({_B}),
    (Action.APPROVE, _L): frozenset({_U}),
    (Action.REJECT, _N): frozenset({_B}),
    (Action.REJECT, _L): frozenset({_U}),
    (Action.SIGN_CONTRACT, _N): frozenset({_C}),
    (Action.SIGN_CONTRACT, _L): frozenset({_S}),
    (Action.REPORT_PROGRESS, _N): frozenset({_T}),
    (Action.REPORT_PROGRESS, _L): frozenset({_T}),
    (Action.CONFIRM_PROGRESS, _N): frozenset({_S}),
    (Action.CONFIRM_PROGRESS, _L): frozenset({_S}),
    (Action.RECORD_VISIT, _N): frozenset({_S, _C}),
    (Action.RECORD_VISIT, _L): frozenset({_S}),
    (Action.RESOLVE_FINDINGS, _N): frozenset({_S, _C}),
    (Action.RESOLVE_FINDINGS, _L): frozenset({_S}),
    (Action.REQUEST_ADVANCE, _N): frozenset({_T}),
    (Action.REQUEST_ADVANCE, _L): frozenset({_T}),
    (Action.PAY_ADVANCE, _N): frozenset({_F}),
    (Action.PAY_ADVANCE, _L): frozenset({_F}),
    (Action.STOP, _N): frozenset({_B}),
    (Action.STOP, _L): frozenset({_U}),
    (Action.ACCEPT, _N): frozenset({_S, _C}),
    (Action.ACCEPT, _L): frozenset({_S}),
    (Action.SUBMIT_SETTLEMENT_DOSSIER, _N): frozenset({_T}),
    (Action.SUBMIT_SETTLEMENT_DOSSIER, _L): frozenset({_T}),
    (Action.SETTLE, _N): frozenset({_C}),
    (Action.SETTLE, _L): frozenset({_S}),
    (Action.PAY_SETTLEMENT, _N): frozenset({_F}),
    (Action.PAY_SETTLEMENT, _L): frozenset({_F}),
    (Action.RECORD_REFUND, _N): frozenset({_F}),
    (Action.RECORD_REFUND, _L): frozenset({_F}),
}


def add_senders(action: Action, senders: Mapping[Level, frozenset[Role]]) -> None:
    """Add ``action``'s rows to :data:`MATRIX`: who may send it at each level (an action
    defined outside this module: ``ActionDefinition.sent_by``). Idempotent; a row that
    contradicts one already there is refused."""
    for level, roles in senders.items():
        known = MATRIX.get((action, level))
        if known is not None and known != roles:
            raise ValueError(f"{action.value} ({level.value}) is already sent by {sorted(known)}")
    for level, roles in senders.items():
        MATRIX[(action, level)] = frozenset(roles)


class AdjustmentKind(StrEnum):
    INCREASE_SUPPORT = "increase_support"
    CHANGE_ACTIVITY = "change_activity"
    EXTEND_NEXT_YEAR = "extend_next_year"
    CHANGE_SITE = "change_site"
    CHANGE_BENEFICIARY = "change_beneficiary"
    CHANGE_PARTNER = "change_partner"
    CHANGE_TIMING = "change_timing"
    DECREASE_SUPPORT = "decrease_support"

    @property
    def label(self) -> str:
        return {
            "increase_support": "Tăng tổng mức kinh phí hỗ trợ",
            "change_activity": "Thay đổi nội dung hoạt động",
            "extend_next_year": "Gia hạn sang năm sau",
            "change_site": "Thay đổi địa điểm",
            "change_beneficiary": "Thay đổi đơn vị thụ hưởng",
            "change_partner": "Thay đổi đơn vị phối hợp",
            "change_timing": "Thay đổi thời gian trong năm",
            "decrease_support": "Giảm kinh phí hỗ trợ",
        }[self]


_TOP_DECIDER_KINDS = frozenset(
    {
        AdjustmentKind.INCREASE_SUPPORT,
        AdjustmentKind.CHANGE_ACTIVITY,
        AdjustmentKind.EXTEND_NEXT_YEAR,
    }
)
_GROUP_SO_KINDS = frozenset(
    {AdjustmentKind.CHANGE_SITE, AdjustmentKind.CHANGE_BENEFICIARY, AdjustmentKind.CHANGE_PARTNER}
)


def adjustment_deciders(kind: AdjustmentKind, dossier: DeAnDossier) -> frozenset[Role]:
    """TT 36/2013 Điều 11: the Minister for more money, another activity or another year; the
    agency for the rest; the Sở for site/partner/beneficiary of group projects. Provincial đề
    án mirror it with the Chairman of UBND and the Sở."""
    if dossier.level is Level.QUOC_GIA:
        if kind in _TOP_DECIDER_KINDS:
            return frozenset({_B})
        if dossier.group_project and kind in _GROUP_SO_KINDS:
            return frozenset({_C, _S})
        return frozenset({_C})
    if kind in _TOP_DECIDER_KINDS:
        return frozenset({_U})
    return frozenset({_S})


def appraisers(stage: Stage, level: Level) -> frozenset[Role]:
    """National: Sở Công Thương (cơ sở), then the Cục (cấp Bộ). Provincial: Sở / council."""
    if level is Level.QUOC_GIA and stage is Stage.BASE_APPRAISED:
        return frozenset({_C})
    return frozenset({_S})


def roles_for(action: Action, dossier: DeAnDossier, stage: Stage) -> frozenset[Role]:
    if action is Action.APPRAISE:
        return appraisers(stage, dossier.level)
    return MATRIX.get((action, dossier.level), frozenset())


def _labels(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(r.label for r in roles))


def check_role(
    actor: Actor, allowed: frozenset[Role], action: Action, dossier: DeAnDossier, basis: str
) -> None:
    if actor.role not in allowed:
        raise Refusal(
            RefusalCode.WRONG_AUTHORITY,
            f"{actor.role.label} không có thẩm quyền «{action.label}» đối với đề án "
            f"{dossier.level.label.lower()}; thẩm quyền thuộc: {_labels(allowed)}",
            field="actor.role",
            legal_basis=basis,
        )


BASIS_JURISDICTION = "Nghị định 45/2012/NĐ-CP Điều 8, 14 (phân cấp quản lý theo địa bàn)"


def check_jurisdiction(
    actor: Actor,
    dossier: DeAnDossier,
    *,
    units: UnitRegistry | None = None,
    registered_on: date | None = None,
    on: date | None = None,
) -> None:
    """Provincial bodies act only in their province; ministry bodies only on national đề án;
    finance acts for the budget that pays (provincial finance for local funds, central for
    national).

    With ``units``, ``registered_on`` and ``on``, jurisdiction follows the successor: the
    province that answers on ``on`` for the province the đề án was registered in (after
    1/7/2025, Bắc Ninh for a Bắc Giang đề án; Bắc Giang's former officials no longer). A
    province the registry does not know on ``registered_on`` is judged by its name alone."""
    if actor.role in CENTRAL_ROLES:
        return
    central_finance = actor.role is Role.TAI_CHINH and dossier.level is Level.QUOC_GIA
    if central_finance:
        if actor.province:
            raise Refusal(
                RefusalCode.WRONG_JURISDICTION,
                "đề án khuyến công quốc gia do tài chính của Cục chi trả, không phải tài chính "
                f"tỉnh {actor.province}",
                field="actor.province",
                legal_basis="Thông tư 36/2013/TT-BCT Điều 12 khoản 1",
            )
        return
    succession = None
    if units is not None and registered_on is not None and on is not None:
        succession = units.successor_province(dossier.province, registered_on, on)
    answering = dossier.province if succession is None else succession.to_name
    if province_key(actor.province or "") == province_key(answering):
        return
    if succession is None:
        raise Refusal(
            RefusalCode.WRONG_JURISDICTION,
            f"{actor.organisation} (tỉnh {actor.province or '—'}) không có thẩm quyền đối với "
            f"đề án của tỉnh {dossier.province}",
            field="actor.province",
            legal_basis=BASIS_JURISDICTION,
        )
    raise Refusal(
        RefusalCode.WRONG_JURISDICTION,
        f"{actor.organisation} (tỉnh {actor.province or '—'}) không có thẩm quyền đối với đề án "
        f"của tỉnh {dossier.province} ngày {on:%d/%m/%Y}: {succession.describe()}, đề án do "
        f"tỉnh {succession.to_name} tiếp tục quản lý",
        field="actor.province",
        legal_basis=f"{BASIS_JURISDICTION}; {succession.basis}",
    )


def check_authority(
    actor: Actor,
    action: Action,
    dossier: DeAnDossier,
    stage: Stage,
    *,
    units: UnitRegistry | None = None,
    registered_on: date | None = None,
    on: date | None = None,
) -> None:
    """Role, then jurisdiction, for every action but adjustments (see check_adjust_authority).
    ``units``, ``registered_on``, ``on``: jurisdiction follows the successor
    (:func:`check_jurisdiction`)."""
    if action is Action.APPROVE or action is Action.REJECT or action is Action.STOP:
        basis = BASIS_APPROVAL_NATIONAL if dossier.level is Level.QUOC_GIA else BASIS_APPROVAL_LOCAL
    else:
        basis = BASIS_PROCESS
    check_role(actor, roles_for(action, dossier, stage), action, dossier, basis)
    check_jurisdiction(actor, dossier, units=units, registered_on=registered_on, on=on)


def check_adjust_authority(
    actor: Actor,
    kind: AdjustmentKind,
    dossier: DeAnDossier,
    *,
    units: UnitRegistry | None = None,
    registered_on: date | None = None,
    on: date | None = None,
) -> None:
    check_role(actor, adjustment_deciders(kind, dossier), Action.ADJUST, dossier, BASIS_ADJUST)
    check_jurisdiction(actor, dossier, units=units, registered_on=registered_on, on=on)


def check_four_eyes(actor: Actor, earlier: Iterable[str], what: str, basis: str) -> None:
    """Refuse when ``actor`` already took part as one of ``earlier`` official IDs."""
    if actor.official_id in set(earlier):
        raise Refusal(
            RefusalCode.FOUR_EYES,
            f"{actor.full_name} đã {what} đề án này nên không được thực hiện bước này "
            "(nguyên tắc bốn mắt: người đăng ký, thẩm định không phê duyệt; người phê duyệt "
            "không chi tiền)",
            field="actor.official_id",
            legal_basis=basis,
        )
