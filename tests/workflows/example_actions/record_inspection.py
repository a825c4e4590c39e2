"""``record_inspection``: the Sở (or, for a national đề án, the Sở or the Cục) records a
thematic inspection (kiểm tra chuyên đề) of a đề án being carried out. Hypothetical: it shows
that an official action is written in one module (this one) plus its table's migration.

Everything about the action is here: the action and its Vietnamese label, its command model,
its detail row, its decider, and its definition (the stages that allow it, who may send it,
its inbox entry, its update ID's reference). The workflow's update and validator, the
dispatch, the admin client, the ``khuyencong de-an record-inspection`` command, the role ×
action matrix, the inbox and the write of its row are derived from it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from domain.model import Level, Role
from domain.stages import Action, Stage
from domain.text import Text
from workflows.action_definition import DISCRETIONARY, ActionDefinition
from workflows.de_an_contract import DeAnCommand, DeAnState
from workflows.de_an_decisions import Outcome, begin, check_not_duplicate, finish, step_key
from workflows.de_an_rows import InsertedRow

RECORD_INSPECTION = Action.define("record_inspection", "Kiểm tra chuyên đề")


class DeAnRecordInspection(DeAnCommand):
    """The command: the inspection's minutes."""

    topic: Text = Field(min_length=1, max_length=200, description="Chuyên đề kiểm tra")
    inspected_on: date
    minutes_number: Text = Field(min_length=1, max_length=60, description="Số biên bản")
    compliant: bool = Field(default=True, description="Đề án thực hiện đúng quy định")
    conclusion: Text = Field(default="", max_length=2000)


class InspectionRow(InsertedRow):
    """``inspection``: one thematic inspection (written by the generic insert)."""

    table: Literal["inspection"] = "inspection"
    topic: str
    inspected_on: date
    minutes_number: str
    compliant: bool
    conclusion: str = ""


def decide_record_inspection(state: DeAnState, cmd: DeAnRecordInspection, now: datetime) -> Outcome:
    """Stage, authority and jurisdiction, the minutes' date; one step per minutes."""
    target = begin(state, RECORD_INSPECTION, cmd, cmd.inspected_on, "inspected_on", now)
    key = step_key(state, "inspection", cmd.minutes_number)
    check_not_duplicate(state, key, f"biên bản kiểm tra chuyên đề {cmd.minutes_number}")
    after = state.model_copy(deep=True)
    after.stage = target
    verdict = "đúng quy định" if cmd.compliant else "có sai phạm"
    return finish(
        state,
        after,
        action=RECORD_INSPECTION,
        key=key,
        now=now,
        business_date=cmd.inspected_on,
        summary=f"Kiểm tra chuyên đề «{cmd.topic}» ngày {cmd.inspected_on:%d/%m/%Y}: {verdict}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
        row=InspectionRow(
            topic=cmd.topic,
            inspected_on=cmd.inspected_on,
            minutes_number=cmd.minutes_number,
            compliant=cmd.compliant,
            conclusion=cmd.conclusion,
        ),
    )


_S = Stage

DEFINITION = ActionDefinition(
    name="record_inspection",
    action=RECORD_INSPECTION,
    command=DeAnRecordInspection,
    decider=decide_record_inspection,
    label_en="Record a thematic inspection",
    writes=("inspection",),
    row=InspectionRow,
    moves={
        _S.IN_PROGRESS: _S.IN_PROGRESS,
        _S.STOPPED: _S.STOPPED,
        _S.ACCEPTED: _S.ACCEPTED,
    },
    sent_by={
        Level.QUOC_GIA: frozenset({Role.SO_CONG_THUONG, Role.CUC}),
        Level.DIA_PHUONG: frozenset({Role.SO_CONG_THUONG}),
    },
    inbox=DISCRETIONARY,
    update_ref="minutes_number",
    help="Ghi biên bản kiểm tra chuyên đề; không đổi giai đoạn.",
)
