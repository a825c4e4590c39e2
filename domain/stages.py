"""Stages of a đề án and the actions that move it between them.

The table :data:`TRANSITIONS` is the whole state machine: ``(stage, action) → next stage``.
Anything not in it is refused with ``WrongStage``. Some actions keep the stage (a progress
report, a visit, an adjustment): they are listed with the same stage on both sides. An
official action defined outside the lifecycle (``workflows/actions/``) adds its own rows when
its definition is registered (:func:`add_transitions`); the domain imports nothing of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

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


class _OpenActions(type):
    """Iterating ``Action`` gives every action defined so far, in the order defined."""

    def __iter__(cls) -> Iterator[Action]:
        return iter(list(_ACTIONS.values()))

    def __len__(cls) -> int:
        return len(_ACTIONS)

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and str(value) in _ACTIONS


class Action(str, metaclass=_OpenActions):
    """An action on a đề án: an open set of strings (the value is what histories and the
    database store; never change one). The lifecycle's own actions are defined below; an
    official action added later defines its own where it is defined
    (``Action.define("record_inspection", "Kiểm tra chuyên đề")``, ``workflows/actions/``).

    Behaves as the ``StrEnum`` it was: ``Action("settle") is Action.SETTLE``, ``.value``,
    ``.name``, ``.label``, iteration, pydantic fields validated and dumped as the value."""

    REGISTER: ClassVar[Action]
    RESUBMIT: ClassVar[Action]
    APPRAISE: ClassVar[Action]
    APPROVE: ClassVar[Action]
    REJECT: ClassVar[Action]
    SIGN_CONTRACT: ClassVar[Action]
    REPORT_PROGRESS: ClassVar[Action]
    CONFIRM_PROGRESS: ClassVar[Action]
    RECORD_VISIT: ClassVar[Action]
    RESOLVE_FINDINGS: ClassVar[Action]
    REQUEST_ADVANCE: ClassVar[Action]
    PAY_ADVANCE: ClassVar[Action]
    ADJUST: ClassVar[Action]
    STOP: ClassVar[Action]
    ACCEPT: ClassVar[Action]
    SUBMIT_SETTLEMENT_DOSSIER: ClassVar[Action]
    SETTLE: ClassVar[Action]
    PAY_SETTLEMENT: ClassVar[Action]
    RECORD_REFUND: ClassVar[Action]
    DEADLINE_MISSED: ClassVar[Action]

    def __new__(cls, value: str) -> Action:
        found = _ACTIONS.get(str(value))
        if found is None:
            raise ValueError(f"{value!r} is not a valid Action")
        return found

    @classmethod
    def define(cls, value: str, label: str) -> Action:
        """The action ``value`` with its Vietnamese ``label``, defined now if it is new.
        Idempotent (a module imported again defines the same action again); a value already
        defined with another label is refused."""
        found = _ACTIONS.get(value)
        if found is not None:
            if ACTION_LABELS[found] != label:
                raise ValueError(f"action {value!r} is already «{ACTION_LABELS[found]}»")
            return found
        if not _ACTION_VALUE.fullmatch(value):
            raise ValueError(f"action {value!r}: lower-case words joined by _")
        member = str.__new__(cls, value)
        _ACTIONS[value] = member
        ACTION_LABELS[member] = label
        return member

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return self.value.upper()

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"<Action.{self.name}: {self.value!r}>"

    def __reduce__(self) -> tuple[type[Action], tuple[str]]:
        return Action, (self.value,)

    def __copy__(self) -> Action:
        return self

    def __deepcopy__(self, memo: object) -> Action:
        return self

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: object, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda action: action.value, when_used="json"
            ),
        )


_ACTIONS: dict[str, Action] = {}
_ACTION_VALUE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")

ACTION_LABELS: dict[Action, str] = {}
"""The Vietnamese label of every action defined (:meth:`Action.define` adds to it)."""

for _value, _label in (
    ("register", "Đăng ký đề án"),
    ("resubmit", "Nộp lại hồ sơ đã bổ sung"),
    ("appraise", "Thẩm định"),
    ("approve", "Phê duyệt"),
    ("reject", "Không phê duyệt"),
    ("sign_contract", "Ký hợp đồng"),
    ("report_progress", "Báo cáo tiến độ tháng"),
    ("confirm_progress", "Xác nhận báo cáo tiến độ"),
    ("record_visit", "Kiểm tra, giám sát"),
    ("resolve_findings", "Khắc phục kiến nghị kiểm tra"),
    ("request_advance", "Đề nghị tạm ứng"),
    ("pay_advance", "Chi tạm ứng"),
    ("adjust", "Điều chỉnh đề án"),
    ("stop", "Ngừng thực hiện"),
    ("accept", "Nghiệm thu cơ sở"),
    ("submit_settlement_dossier", "Nộp hồ sơ quyết toán"),
    ("settle", "Quyết toán"),
    ("pay_settlement", "Chi trả quyết toán"),
    ("record_refund", "Thu hồi kinh phí"),
    ("deadline_missed", "Quá hạn"),
):
    setattr(Action, _value.upper(), Action.define(_value, _label))

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


def add_transitions(action: Action, moves: Mapping[Stage, Stage]) -> None:
    """Add ``action``'s rows to :data:`TRANSITIONS`: ``{stage that allows it: stage it
    leads to}`` (an action defined outside this module: ``ActionDefinition.moves``).
    Idempotent; a row that contradicts one already there is refused."""
    for stage, after in moves.items():
        known = TRANSITIONS.get((stage, action))
        if known is not None and known is not after:
            raise ValueError(f"{action.value} in {stage.value} already leads to {known.value}")
    for stage, after in moves.items():
        TRANSITIONS[(stage, action)] = after


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
