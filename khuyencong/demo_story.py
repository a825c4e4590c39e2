"""The demo tells a story: Bắc Giang's 2019 plan as it stood at mid-year.

In the interview the demo comes from (``khuyencong/demo/bac_giang_2019.json``), the director of
Bắc Giang's centre says that six months into 2019 half the plan of 25 đề án (23 provincial, 2
national) was carried out. ``khuyencong dev`` registers those 25 đề án; this module then moves
them on, each to where it stood on 30/06/2019 (:data:`STORY_DAY`), so the web desk's inbox,
its reports and the Temporal UI show a living year from the first minute:

======================  ==========================================================
ends in                 đề án (what it shows)
======================  ==========================================================
registered              DP-01, DP-02 (the README's walkthrough and the web demo
                        start here: untouched)
returned                DP-15 (the Sở asked for the missing quotations)
base_appraised          QG-01 (national: the Sở passed it, it waits at the Cục)
appraised               DP-11 (waits for the chairman's decision)
rejected                DP-10 (not selected by decision 427/QĐ-UBND)
approved                DP-13 (waits for its contract)
in_progress             DP-03 (advance paid, monitoring visit), DP-07 (advance
                        requested, waits for finance), DP-12 (a report waits for
                        the Sở's confirmation), DP-21 (a visit's findings hold its
                        payments), QG-02 (national: Cục contract, Minister's approval)
stopped                 DP-08 (stopped by the UBND, waits for acceptance of the
                        volume done)
accepted                DP-14 (waits for its settlement dossier), DP-05, DP-19
                        (dossier filed, wait for the settlement)
settled                 DP-16 (the payout waits for finance)
closed                  DP-04, DP-06, DP-09, DP-17, DP-18, DP-23 (settled and paid
                        out), DP-22 (settled below its advance: 20.000.000 đ
                        refunded), DP-20 (stopped before its contract)
======================  ==========================================================

Every step is an official's action sent through the admin client
(:meth:`khuyencong.admin.client.AdminClient.act`), signed for the demo official who takes it
(the dev stack vouches for its own demo officials, as it does for the plan it seeds), and
judged by the workflow's validators like any other. Papers are dated in 2019, so every
deadline they open had passed before the đề án entered the engine: the workflow records them
as missed at once (``past-deadlines-v1``), which makes the contracted đề án still open
overdue, as a year typed in late is.

Idempotent: the steps a đề án already took are read from the read model (``de_an_event``)
and only the rest are sent; update IDs come from business identity (the paper's number), so
a step sent again after a lost answer is applied once. A đề án someone moved another way (an
official in the web desk) is left alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog

from domain.model import Actor, DeAnDossier, Level
from domain.stages import Action, Stage
from khuyencong.demo_data import DEMO_OFFICIALS, demo_entries

log = structlog.get_logger(__name__)

STORY_DAY = date(2019, 6, 30)
"""The day the story stands still: «6 tháng đầu năm, trung tâm đã triển khai và hoàn thành 50%
kế hoạch được giao»."""

CENTRE = "BG-TTKC-012"
SO = "BG-SCT-003"
UBND = "BG-UBND-001"
FINANCE = "BG-KT-007"
CUC = "CUC-KC-001"
MINISTER = "BCT-BT-001"

PLAN_DECISION = "427/QĐ-UBND"
PLAN_DECISION_DATE = date(2019, 3, 9)
PLAN_SIGNER = "Lê Ánh Dương"
"""The chairman's decision on the year's plan (the README's walkthrough cites the same paper)."""

COUNCIL_MINUTES = "12/BB-HĐTĐ"
COUNCIL_DATE = date(2019, 2, 20)

NOT_STEPS = (Action.REGISTER.value, Action.DEADLINE_MISSED.value)
"""What the event log holds that is not an official's step of the story."""

STEPS_TAKEN = """
SELECT de_an_id, action FROM de_an_event
WHERE de_an_id = ANY($1::text[]) AND action <> ALL($2::text[])
ORDER BY de_an_id, seq, id
"""


@dataclass(frozen=True)
class Step:
    """One official's action: what (``action``), who (the official's ID) and the paper's
    fields (the action's command model without ``actor``)."""

    action: Action
    by: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Chapter:
    """One đề án of the story: its steps, the stage they leave it in and why it is there."""

    code: str
    ends_in: Stage
    about: str
    steps: tuple[Step, ...] = ()


# --- the steps, as papers ------------------------------------------------------------------


def _n(code: str) -> str:
    """``BG-2019-DP-07`` → ``07`` (numbers the đề án's own papers)."""
    return code.rsplit("-", 1)[1]


def _eligible(d: DeAnDossier) -> int:
    return sum(line.amount for line in d.cost_lines if line.eligible)


def appraised(d: DeAnDossier, verdict: str = "pass", reason: str = "") -> Step:
    """The Sở's council passes (or returns) the dossier, 20/02/2019; a national đề án's base
    appraisal in 2018, before the Ministry's round."""
    national = d.level is Level.QUOC_GIA
    fields: dict[str, Any] = {
        "verdict": verdict,
        "appraised_on": date(2018, 7, 20) if national else COUNCIL_DATE,
        "minutes_number": "45/BB-SCT" if national else COUNCIL_MINUTES,
        "by_council": True,
    }
    if reason:
        fields["reason"] = reason
    return Step(Action.APPRAISE, SO, fields)


def approved(d: DeAnDossier) -> Step:
    """Decision 427/QĐ-UBND of 09/03/2019 approves what the đề án asked."""
    return Step(
        Action.APPROVE,
        UBND,
        {
            "decision_number": PLAN_DECISION,
            "decision_date": PLAN_DECISION_DATE,
            "signer": PLAN_SIGNER,
            "approved_support": d.requested_support,
        },
    )


def contracted(d: DeAnDossier, on: date) -> Step:
    return Step(
        Action.SIGN_CONTRACT,
        SO,
        {
            "contract_number": f"{_n(d.code)}/2019/HĐ-KC",
            "signed_on": on,
            "contracted_support": d.requested_support,
        },
    )


def reported(
    d: DeAnDossier, month: int, done_bp: int, *, confirmed: bool = True
) -> tuple[Step, ...]:
    """The centre's report for ``month`` (on the 20th), confirmed by the Sở on the 23rd."""
    key = f"2019-{month:02d}"
    report = Step(
        Action.REPORT_PROGRESS,
        CENTRE,
        {
            "month": key,
            "investment_done_bp": done_bp,
            "spent_cost": _eligible(d) * done_bp // 10_000,
            "reported_on": date(2019, month, 20),
        },
    )
    if not confirmed:
        return (report,)
    confirm = Step(
        Action.CONFIRM_PROGRESS, SO, {"month": key, "confirmed_on": date(2019, month, 23)}
    )
    return report, confirm


def advanced(d: DeAnDossier, on: date, *, paid: bool = True) -> tuple[Step, ...]:
    """70 % of the support requested on ``on`` (TT 36/2013 Điều 13), paid four days later."""
    request = Step(
        Action.REQUEST_ADVANCE,
        CENTRE,
        {"amount": d.requested_support * 7 // 10, "requested_on": on},
    )
    if not paid:
        return (request,)
    pay = Step(
        Action.PAY_ADVANCE,
        FINANCE,
        {
            "request_no": 1,
            "paid_on": on + timedelta(days=4),
            "voucher_number": f"UNC-{_n(d.code)}01",
        },
    )
    return request, pay


def visited(d: DeAnDossier, on: date, findings: Sequence[str] = (), *, hold: bool = False) -> Step:
    return Step(
        Action.RECORD_VISIT,
        SO,
        {
            "visited_on": on,
            "minutes_number": f"{_n(d.code)}/BB-KTGS",
            "findings": list(findings),
            "hold_payments": hold,
        },
    )


def accepted(d: DeAnDossier, on: date, cost: int | None = None) -> Step:
    return Step(
        Action.ACCEPT,
        SO,
        {
            "minutes_number": f"{_n(d.code)}/BB-NT",
            "accepted_on": on,
            "accepted_cost": _eligible(d) if cost is None else cost,
            "accepted_volume_bp": 10_000,
        },
    )


def dossier_filed(on: date) -> Step:
    return Step(Action.SUBMIT_SETTLEMENT_DOSSIER, CENTRE, {"submitted_on": on})


def settled(d: DeAnDossier, on: date) -> Step:
    return Step(Action.SETTLE, SO, {"settlement_number": f"{_n(d.code)}/BB-QT", "settled_on": on})


def paid_out(d: DeAnDossier, on: date) -> Step:
    return Step(
        Action.PAY_SETTLEMENT,
        FINANCE,
        {"paid_on": on, "voucher_number": f"UNC-{_n(d.code)}02"},
    )


def through_settlement(
    d: DeAnDossier,
    contract_on: date,
    accepted_on: date,
    *,
    advance_on: date | None = None,
    accepted_cost: int | None = None,
) -> tuple[Step, ...]:
    """Appraised, approved, contracted, (progress confirmed and 70 % advanced,) accepted, the
    dossier filed five days later and settled five days after that."""
    steps: list[Step] = [appraised(d), approved(d), contracted(d, contract_on)]
    if advance_on is not None:
        if d.support_item in ("training", "brand", "consulting", "media"):
            steps += advanced(d, advance_on)  # on the contract
        else:
            steps += [*reported(d, advance_on.month, 7_500), *advanced(d, advance_on)]
    steps += [
        accepted(d, accepted_on, accepted_cost),
        dossier_filed(accepted_on + timedelta(days=3)),
        settled(d, accepted_on + timedelta(days=6)),
    ]
    return tuple(steps)


# --- the story -----------------------------------------------------------------------------


def chapters() -> list[Chapter]:
    """The story, one chapter per đề án of the demo, in the demo's order."""
    by_code = {e.dossier.code: e.dossier for e in demo_entries()}

    def d(n: str) -> DeAnDossier:
        return by_code[f"BG-2019-{n}"]

    apr, may, jun = (date(2019, m, 1) for m in (4, 5, 6))
    late_may = may.replace(day=27)  # after May's report was confirmed (on the 23rd)
    story = [
        Chapter("BG-2019-DP-01", Stage.REGISTERED, "the README's walkthrough starts here"),
        Chapter("BG-2019-DP-02", Stage.REGISTERED, "waits for the Sở's appraisal"),
        Chapter(
            "BG-2019-DP-03",
            Stage.IN_PROGRESS,
            "advance paid, monitoring visit without findings",
            (
                appraised(d("DP-03")),
                approved(d("DP-03")),
                contracted(d("DP-03"), date(2019, 3, 25)),
                *reported(d("DP-03"), 5, 4_000),
                *reported(d("DP-03"), 6, 7_500),
                *advanced(d("DP-03"), jun.replace(day=24)),
                visited(d("DP-03"), jun.replace(day=27)),
            ),
        ),
        Chapter(
            "BG-2019-DP-04",
            Stage.CLOSED,
            "training: advance on the contract, settled and paid out",
            (
                *through_settlement(
                    d("DP-04"), apr.replace(day=25), jun.replace(day=10), advance_on=may
                ),
                paid_out(d("DP-04"), jun.replace(day=20)),
            ),
        ),
        Chapter(
            "BG-2019-DP-05",
            Stage.ACCEPTED,
            "settlement dossier filed, waits for the Sở's settlement",
            (
                appraised(d("DP-05")),
                approved(d("DP-05")),
                contracted(d("DP-05"), date(2019, 3, 28)),
                *reported(d("DP-05"), 5, 7_500),
                *advanced(d("DP-05"), may.replace(day=27)),
                accepted(d("DP-05"), jun.replace(day=21)),
                dossier_filed(jun.replace(day=27)),
            ),
        ),
        Chapter(
            "BG-2019-DP-06",
            Stage.CLOSED,
            "enterprise set-up: settled and paid out",
            (
                *through_settlement(d("DP-06"), apr.replace(day=2), jun.replace(day=5)),
                paid_out(d("DP-06"), jun.replace(day=17)),
            ),
        ),
        Chapter(
            "BG-2019-DP-07",
            Stage.IN_PROGRESS,
            "advance requested, waits for finance",
            (
                appraised(d("DP-07")),
                approved(d("DP-07")),
                contracted(d("DP-07"), apr.replace(day=12)),
                *reported(d("DP-07"), 6, 7_200),
                *advanced(d("DP-07"), jun.replace(day=26), paid=False),
            ),
        ),
        Chapter(
            "BG-2019-DP-08",
            Stage.STOPPED,
            "stopped by the UBND, waits for acceptance of the volume done",
            (
                appraised(d("DP-08")),
                approved(d("DP-08")),
                contracted(d("DP-08"), apr.replace(day=26)),
                *reported(d("DP-08"), 5, 2_000),
                Step(
                    Action.STOP,
                    UBND,
                    {
                        "decision_number": "1106/QĐ-UBND",
                        "decision_date": jun.replace(day=14),
                        "reason": "Cơ sở di dời nhà xưởng theo quy hoạch cụm công nghiệp, "
                        "không tiếp tục lắp đặt hệ thống xử lý nước thải tại địa điểm cũ",
                    },
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-09",
            Stage.CLOSED,
            "advance paid, settled, the rest paid out",
            (
                *through_settlement(
                    d("DP-09"), date(2019, 3, 20), jun.replace(day=3), advance_on=late_may
                ),
                paid_out(d("DP-09"), jun.replace(day=14)),
            ),
        ),
        Chapter(
            "BG-2019-DP-10",
            Stage.REJECTED,
            "not selected by the year's decision",
            (
                appraised(d("DP-10")),
                Step(
                    Action.REJECT,
                    UBND,
                    {
                        "decision_number": PLAN_DECISION,
                        "decision_date": PLAN_DECISION_DATE,
                        "reason": "Không bố trí đủ kinh phí khuyến công địa phương năm 2019; "
                        "ưu tiên đề án xây dựng nhãn hiệu vải thiều Lục Ngạn năm 2020",
                    },
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-11",
            Stage.APPRAISED,
            "waits for the chairman's decision",
            (appraised(d("DP-11")),),
        ),
        Chapter(
            "BG-2019-DP-12",
            Stage.IN_PROGRESS,
            "June's report waits for the Sở's confirmation",
            (
                appraised(d("DP-12")),
                approved(d("DP-12")),
                contracted(d("DP-12"), apr.replace(day=16)),
                *reported(d("DP-12"), 6, 3_500, confirmed=False),
            ),
        ),
        Chapter(
            "BG-2019-DP-13",
            Stage.APPROVED,
            "approved, waits for its contract",
            (appraised(d("DP-13")), approved(d("DP-13"))),
        ),
        Chapter(
            "BG-2019-DP-14",
            Stage.ACCEPTED,
            "accepted, waits for the centre's settlement dossier",
            (
                appraised(d("DP-14")),
                approved(d("DP-14")),
                contracted(d("DP-14"), date(2019, 3, 27)),
                *reported(d("DP-14"), 5, 8_000),
                accepted(d("DP-14"), jun.replace(day=25)),
            ),
        ),
        Chapter(
            "BG-2019-DP-15",
            Stage.RETURNED,
            "returned to the centre for missing quotations",
            (
                appraised(
                    d("DP-15"),
                    "return",
                    "Hồ sơ thiếu 03 báo giá dịch vụ tư vấn theo quy định; đề nghị Trung tâm bổ "
                    "sung trước khi trình Hội đồng",
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-16",
            Stage.SETTLED,
            "settled, the payout waits for finance",
            through_settlement(
                d("DP-16"), apr.replace(day=3), jun.replace(day=12), advance_on=late_may
            ),
        ),
        Chapter(
            "BG-2019-DP-17",
            Stage.CLOSED,
            "brand: settled and paid out",
            (
                *through_settlement(d("DP-17"), apr.replace(day=5), may.replace(day=30)),
                paid_out(d("DP-17"), jun.replace(day=11)),
            ),
        ),
        Chapter(
            "BG-2019-DP-18",
            Stage.CLOSED,
            "training: advance on the contract, settled and paid out",
            (
                *through_settlement(
                    d("DP-18"), apr.replace(day=22), jun.replace(day=7), advance_on=may
                ),
                paid_out(d("DP-18"), jun.replace(day=19)),
            ),
        ),
        Chapter(
            "BG-2019-DP-19",
            Stage.ACCEPTED,
            "settlement dossier filed, waits for the Sở's settlement",
            (
                appraised(d("DP-19")),
                approved(d("DP-19")),
                contracted(d("DP-19"), date(2019, 3, 29)),
                accepted(d("DP-19"), jun.replace(day=18)),
                dossier_filed(jun.replace(day=24)),
            ),
        ),
        Chapter(
            "BG-2019-DP-20",
            Stage.CLOSED,
            "stopped before its contract: closed",
            (
                appraised(d("DP-20")),
                approved(d("DP-20")),
                Step(
                    Action.STOP,
                    UBND,
                    {
                        "decision_number": "812/QĐ-UBND",
                        "decision_date": may.replace(day=10),
                        "reason": "Cơ sở có văn bản xin không thực hiện do thay đổi phương án "
                        "sản xuất",
                    },
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-21",
            Stage.IN_PROGRESS,
            "a monitoring visit's findings hold its payments",
            (
                appraised(d("DP-21")),
                approved(d("DP-21")),
                contracted(d("DP-21"), apr.replace(day=18)),
                *reported(d("DP-21"), 5, 3_000),
                visited(
                    d("DP-21"),
                    jun.replace(day=19),
                    ["Máy lắp đặt chưa đúng chủng loại, công suất ghi trong hợp đồng"],
                    hold=True,
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-22",
            Stage.CLOSED,
            "settled below its advance: the difference refunded",
            (
                # 70 % advanced (210 tr); accepted cost 380 tr × 50 % = 190 tr: 20 tr back.
                *through_settlement(
                    d("DP-22"),
                    date(2019, 3, 26),
                    jun.replace(day=4),
                    advance_on=late_may,
                    accepted_cost=380_000_000,
                ),
                Step(
                    Action.RECORD_REFUND,
                    FINANCE,
                    {
                        "refunded_on": jun.replace(day=21),
                        "amount": 20_000_000,
                        "voucher_number": "GNT-2202",
                    },
                ),
            ),
        ),
        Chapter(
            "BG-2019-DP-23",
            Stage.CLOSED,
            "brand: settled and paid out",
            (
                *through_settlement(d("DP-23"), apr.replace(day=8), jun.replace(day=6)),
                paid_out(d("DP-23"), jun.replace(day=18)),
            ),
        ),
        Chapter(
            "BG-2019-QG-01",
            Stage.BASE_APPRAISED,
            "national: passed by the Sở, waits for the Cục's appraisal",
            (appraised(d("QG-01")),),
        ),
        Chapter(
            "BG-2019-QG-02",
            Stage.IN_PROGRESS,
            "national: appraised by the Sở and the Cục, approved by the Minister, Cục contract",
            (
                appraised(d("QG-02")),
                Step(
                    Action.APPRAISE,
                    CUC,
                    {
                        "verdict": "pass",
                        "appraised_on": date(2018, 9, 25),
                        "minutes_number": "118/BB-CCT",
                        "by_council": True,
                    },
                ),
                Step(
                    Action.APPROVE,
                    MINISTER,
                    {
                        "decision_number": "4822/QĐ-BCT",
                        "decision_date": date(2018, 12, 28),
                        "signer": "Bộ trưởng Bộ Công Thương",
                        "approved_support": d("QG-02").requested_support,
                    },
                ),
                Step(
                    Action.SIGN_CONTRACT,
                    CUC,
                    {
                        "contract_number": "27/2019/HĐ-KCQG",
                        "signed_on": apr.replace(day=10),
                        "contracted_support": d("QG-02").requested_support,
                    },
                ),
                *reported(d("QG-02"), 6, 4_000),
            ),
        ),
    ]
    return story


def story_stages(story: Sequence[Chapter] | None = None) -> Counter[Stage]:
    """How many đề án the story leaves in each stage."""
    return Counter(c.ends_in for c in (chapters() if story is None else story))


# --- telling it ----------------------------------------------------------------------------


@dataclass
class StoryReport:
    """What one telling did: steps sent, đề án already where the story leaves them, đề án
    someone moved another way (left alone) and failures (with the refusal)."""

    sent: int = 0
    finished: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        parts = [
            f"{self.sent} steps sent",
            f"{len(self.finished)} đề án moved on",
            f"{len(self.already)} already there",
        ]
        if self.left_alone:
            parts.append(f"{len(self.left_alone)} moved another way (left alone)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


async def steps_taken(pool: Any, codes: Sequence[str]) -> dict[str, list[str]]:
    """The official steps each đề án took so far (registration and missed deadlines aside),
    in order, from the read model."""
    taken: dict[str, list[str]] = {code: [] for code in codes}
    for row in await pool.fetch(STEPS_TAKEN, list(codes), list(NOT_STEPS)):
        taken[row["de_an_id"]].append(row["action"])
    return taken


async def tell(
    admin: Any,
    *,
    story: Sequence[Chapter] | None = None,
    concurrency: int = 6,
) -> StoryReport:
    """Move each đề án of the story to where the story leaves it, through ``admin``
    (an :class:`~khuyencong.admin.client.AdminClient` on the dev stack's clients: the stack
    vouches for its demo officials, so no password is asked). Sends only the steps a đề án
    has not taken yet; a đề án whose steps are not a beginning of its chapter's is left alone."""
    from khuyencong.admin.errors import AdminError
    from workflows.de_an_actions import BY_ACTION

    story = chapters() if story is None else list(story)
    actors: dict[str, Actor] = {}
    for official in DEMO_OFFICIALS:
        actors[official.official_id] = await admin.authenticate_trusted(official.official_id)
    taken = await steps_taken(admin.pool, [c.code for c in story])
    report = StoryReport()
    gate = asyncio.Semaphore(concurrency)

    async def one(chapter: Chapter) -> None:
        planned = [s.action.value for s in chapter.steps]
        done = taken[chapter.code]
        if done[: len(planned)] == planned:
            report.already.append(chapter.code)
            return
        if planned[: len(done)] != done:
            log.info("demo story: đề án moved another way, left alone", code=chapter.code)
            report.left_alone.append(chapter.code)
            return
        async with gate:
            for step in chapter.steps[len(done) :]:
                command = BY_ACTION[step.action].command.model_validate(
                    {"actor": actors[step.by], **step.fields}
                )
                try:
                    await admin.act(chapter.code, command)
                except Exception as exc:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        # Stopped: Temporal's client reports a cancelled update as its own error.
                        raise asyncio.CancelledError from None
                    # The message only, never a traceback (its locals hold signed statements).
                    kind = "refused" if isinstance(exc, AdminError) else "failed"
                    log.warning(
                        f"demo story: step {kind}",
                        code=chapter.code,
                        action=step.action.value,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    report.failed.append((chapter.code, f"{step.action.value}: {exc}"))
                    return
                report.sent += 1
        report.finished.append(chapter.code)
        log.info("demo story: đề án ready", code=chapter.code, stage=chapter.ends_in.value)

    await asyncio.gather(*(one(c) for c in story))
    return report
