"""Appraisal (thẩm định): one round per level, the Sở then the Cục for national đề án."""

from __future__ import annotations

from datetime import datetime

from domain.authority import check_four_eyes
from domain.councils import check_council, council_minutes
from domain.errors import RefusalCode
from domain.model import Level
from domain.stages import Action, Stage, next_stage_after_appraisal
from workflows.de_an_contract import AppraisalVerdict, DeAnAppraisalRecord, DeAnAppraise, DeAnState
from workflows.de_an_decisions.common import (
    Outcome,
    begin,
    check_business_date,
    check_not_duplicate,
    finish,
    fork,
    refuse,
    step_key,
)
from workflows.de_an_rows import AppraisalRow


def appraisal_round(state: DeAnState) -> str:
    if state.dossier.level is Level.DIA_PHUONG:
        return "tinh"
    return "bo" if state.stage is Stage.BASE_APPRAISED else "co_so"


ROUND_LABELS = {
    "co_so": "Sở Công Thương thẩm định cấp cơ sở",
    "bo": "Cục thẩm định cấp Bộ",
    "tinh": "Sở Công Thương thẩm định",
}


def decide_appraise(state: DeAnState, cmd: DeAnAppraise, now: datetime) -> Outcome:
    begin(state, Action.APPRAISE, cmd, None, None, now)
    check_four_eyes(cmd.actor, [state.registered_by.official_id], "đăng ký", "nguyên tắc bốn mắt")
    check_business_date(state, cmd.appraised_on, "appraised_on", now)
    check_council(cmd.council, state.dossier.beneficiary)
    if cmd.verdict is not AppraisalVerdict.PASS and not cmd.reason.strip():
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thẩm định không đạt hoặc trả lại phải ghi lý do",
            "reason",
            "Thông tư 36/2013/TT-BCT Điều 9",
        )
    round_ = appraisal_round(state)
    key = step_key(state, "appraise", round_, cmd.minutes_number)
    check_not_duplicate(state, key, f"biên bản thẩm định {cmd.minutes_number}")
    after = fork(state)
    after.stage = next_stage_after_appraisal(state.stage, state.dossier.level, cmd.verdict.value)
    after.appraisals.append(
        DeAnAppraisalRecord(
            round=round_,
            verdict=cmd.verdict,
            official_id=cmd.actor.official_id,
            appraised_on=cmd.appraised_on,
            minutes_number=cmd.minutes_number,
        )
    )
    if cmd.verdict is AppraisalVerdict.RETURN:
        after.returns += 1
    council = " (qua hội đồng)" if cmd.by_council or cmd.council else ""
    if cmd.council:
        names = ", ".join(m.full_name for m in cmd.council)
        council += f"; hội đồng {len(cmd.council)} thành viên: {names}"
    return finish(
        state,
        after,
        action=Action.APPRAISE,
        key=key,
        now=now,
        business_date=cmd.appraised_on,
        summary=f"{ROUND_LABELS[round_]}{council}: {cmd.verdict.label}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
        extra={"round": round_, **_minutes(cmd)},
        row=AppraisalRow(
            round=round_,
            verdict=cmd.verdict.value,
            minutes_number=cmd.minutes_number,
            by_council=cmd.by_council,
            appraised_on=cmd.appraised_on,
            reason=cmd.reason,
        ),
    )


def _minutes(cmd: DeAnAppraise) -> dict[str, str]:
    """The council as the appraisal minutes list it (members and declarations), when given."""
    return {"council_minutes": council_minutes(cmd.council)} if cmd.council else {}
