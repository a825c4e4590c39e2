"""Stages of a đề án and the actions that move it between them.

The table :data:`TRANSITIONS` is the whole state machine: ``(stage, action) → next stage``.
Anything not in it is refused with ``WrongStage``. Some actions keep the stage (a progress
report, a visit, an adjustment): they are listed with the same stage on both sides.
"""

from __future__ import annotations

from enum import StrEnum

from domain.model import Level


class Stage(StrEnum):
    REGISTERED = "registered"
    RETURNED = "returned"
    BASE_APPRAISED = "base_appraised"
    APPRAISED = "appraised"
    REJECTED = "rejected"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    STOPPED = "stopped"
    ACCEPTED = "accepted"
    SETTLED = "settled"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def terminal(self) -> bool:
        return self in {Stage.REJECTED, Stage.CLOSED}


STAGE_LABELS: dict[Stage, str] = {
    Stage.REGISTERED: "Đã đăng ký, chờ thẩm định",
    Stage.RETURNED: "Trả lại để bổ sung hồ sơ",
    Stage.BASE_APPRAISED: "Đạt thẩm định cấp cơ sở, chờ thẩm định cấp Bộ",
    Stage.APPRAISED: "Đạt thẩm định, chờ phê duyệt",
    Stage.REJECTED: "Không được phê duyệt",
    Stage.APPROVED: "Đã phê duyệt, chờ ký hợp đồng",
    Stage.IN_PROGRESS: "Đang triển khai",
    Stage.STOPPED: "Ngừng thực hiện, chờ nghiệm thu khối lượng",
    Stage.ACCEPTED: "Đã nghiệm thu cơ sở, chờ quyết toán",
    Stage.SETTLED: "Đã quyết toán, chờ chi trả hoặc thu hồi",
    Stage.CLOSED: "Đã thanh lý, kết thúc",
}


class Action(StrEnum):
    REGISTER = "register"
    RESUBMIT = "resubmit"
    APPRAISE = "appraise"
    APPROVE = "approve"
    REJECT = "reject"
    SIGN_CONTRACT = "sign_contract"
    REPORT_PROGRESS = "report_progress"
    CONFIRM_PROGRESS = "confirm_progress"
    RECORD_VISIT = "record_visit"
    RESOLVE_FINDINGS = "resolve_findings"
    REQUEST_ADVANCE = "request_advance"
    PAY_ADVANCE = "pay_advance"
    ADJUST = "adjust"
    STOP = "stop"
    ACCEPT = "accept"
    SUBMIT_SETTLEMENT_DOSSIER = "submit_settlement_dossier"
    SETTLE = "settle"
    PAY_SETTLEMENT = "pay_settlement"
    RECORD_REFUND = "record_refund"
    DEADLINE_MISSED = "deadline_missed"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.REGISTER: "Đăng ký đề án",
    Action.RESUBMIT: "Nộp lại hồ sơ đã bổ sung",
    Action.APPRAISE: "Thẩm định",
    Action.APPROVE: "Phê duyệt",
    Action.REJECT: "Không phê duyệt",
    Action.SIGN_CONTRACT: "Ký hợp đồng",
    Action.REPORT_PROGRESS: "Báo cáo tiến độ tháng",
    Action.CONFIRM_PROGRESS: "Xác nhận báo cáo tiến độ",
    Action.RECORD_VISIT: "Kiểm tra, giám sát",
    Action.RESOLVE_FINDINGS: "Khắc phục kiến nghị kiểm tra",
    Action.REQUEST_ADVANCE: "Đề nghị tạm ứng",
    Action.PAY_ADVANCE: "Chi tạm ứng",
    Action.ADJUST: "Điều chỉnh đề án",
    Action.STOP: "Ngừng thực hiện",
    Action.ACCEPT: "Nghiệm thu cơ sở",
    Action.SUBMIT_SETTLEMENT_DOSSIER: "Nộp hồ sơ quyết toán",
    Action.SETTLE: "Quyết toán",
    Action.PAY_SETTLEMENT: "Chi trả quyết toán",
    Action.RECORD_REFUND: "Thu hồi kinh phí",
    Action.DEADLINE_MISSED: "Quá hạn",
}

_S = Stage
_A = Action

TRANSITIONS: dict[tuple[Stage, Action], Stage] = {
    (_S.RETURNED, _A.RESUBMIT): _S.REGISTERED,
    # appraise: the next stage depends on level and verdict, see next_stage_after_appraisal
    (_S.REGISTERED, _A.APPRAISE): _S.APPRAISED,
    (_S.BASE_APPRAISED, _A.APPRAISE): _S.APPRAISED,
    (_S.APPRAISED, _A.APPROVE): _S.APPROVED,
    (_S.APPRAISED, _A.REJECT): _S.REJECTED,
    (_S.APPROVED, _A.SIGN_CONTRACT): _S.IN_PROGRESS,
    (_S.APPROVED, _A.ADJUST): _S.APPROVED,
    (_S.APPROVED, _A.STOP): _S.CLOSED,  # nothing contracted, nothing to settle
    (_S.IN_PROGRESS, _A.REPORT_PROGRESS): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.CONFIRM_PROGRESS): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.RECORD_VISIT): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.RESOLVE_FINDINGS): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.REQUEST_ADVANCE): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.PAY_ADVANCE): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.ADJUST): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.STOP): _S.STOPPED,
    (_S.IN_PROGRESS, _A.ACCEPT): _S.ACCEPTED,
    (_S.STOPPED, _A.RECORD_VISIT): _S.STOPPED,
    (_S.STOPPED, _A.RESOLVE_FINDINGS): _S.STOPPED,
    (_S.STOPPED, _A.ACCEPT): _S.ACCEPTED,
    (_S.ACCEPTED, _A.RECORD_VISIT): _S.ACCEPTED,
    (_S.ACCEPTED, _A.RESOLVE_FINDINGS): _S.ACCEPTED,
    (_S.ACCEPTED, _A.REQUEST_ADVANCE): _S.ACCEPTED,
    (_S.ACCEPTED, _A.PAY_ADVANCE): _S.ACCEPTED,
    (_S.ACCEPTED, _A.SUBMIT_SETTLEMENT_DOSSIER): _S.ACCEPTED,
    (_S.ACCEPTED, _A.SETTLE): _S.SETTLED,  # CLOSED when nothing is left to pay or refund
    # Findings can still be resolved once settled: a hold stops paying (chi trả), not settling.
    # The settlement is due by 22/01 of the next year whatever the findings (TT 36/2013/TT-BCT
    # Điều 18 khoản 2, 3), and the unit stays subject to inspection of the money it settled
    # (Điều 12 khoản 5) while the Sở resolves what monitoring found (Điều 21 khoản 6). Without
    # this, a đề án settled on hold could be neither paid nor closed.
    (_S.SETTLED, _A.RESOLVE_FINDINGS): _S.SETTLED,
    (_S.SETTLED, _A.PAY_SETTLEMENT): _S.CLOSED,
    (_S.SETTLED, _A.RECORD_REFUND): _S.CLOSED,
}


def allowed_actions(stage: Stage) -> list[Action]:
    """Actions an official may take in ``stage`` (before role and rule checks)."""
    return [action for (s, action) in TRANSITIONS if s == stage]


def next_stage_after_appraisal(stage: Stage, level: Level, verdict: str) -> Stage:
    """National đề án are appraised twice (Sở, then Cục); provincial ones once."""
    if verdict == "return":
        return Stage.RETURNED
    if verdict == "fail":
        return Stage.REJECTED
    if level is Level.QUOC_GIA and stage is Stage.REGISTERED:
        return Stage.BASE_APPRAISED
    return Stage.APPRAISED
