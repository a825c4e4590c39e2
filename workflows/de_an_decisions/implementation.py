"""Carrying a đề án out: the contract, progress reports and their confirmation,
monitoring visits and their findings, advances (requested, paid, lapsed), adjustments and
the stop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.authority import AdjustmentKind, check_four_eyes
from domain.deadlines import parse_month
from domain.errors import Refusal, RefusalCode
from domain.model import Actor, Schedule
from domain.money import advance_ceiling, advance_room, format_bp, format_dong, pays_over
from domain.rules import AdvanceKind
from domain.stages import TRANSITIONS, Action, Stage
from workflows.de_an_contract import (
    DeAnAdjust,
    DeAnAdvance,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnPayment,
    DeAnProgress,
    DeAnRecordVisit,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnSignContract,
    DeAnState,
    DeAnStop,
    PaymentKind,
)
from workflows.de_an_decisions.common import (
    BASIS_ADJUST_DETAILS,
    BASIS_HOLD,
    BASIS_PAID,
    BASIS_STOPPED_MONEY,
    CURRENT_RULES,
    TRANSITIONS_BEFORE_RESOLVE_SETTLED,
    Outcome,
    RuleSwitches,
    begin,
    check_cap,
    check_counterpart,
    check_not_duplicate,
    finish,
    fixed_pack,
    fork,
    item_rule,
    refuse,
    step_key,
)
from workflows.de_an_rows import (
    AdvanceRequestRow,
    ContractRow,
    DecisionRow,
    MonitoringVisitRow,
    ProgressConfirmationRow,
    ProgressReportRow,
)


def decide_sign_contract(state: DeAnState, cmd: DeAnSignContract, now: datetime) -> Outcome:
    target = begin(state, Action.SIGN_CONTRACT, cmd, cmd.signed_on, "signed_on", now)
    assert state.approval is not None
    if cmd.signed_on < state.approval.date:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"hợp đồng ký ngày {cmd.signed_on:%d/%m/%Y} trước ngày phê duyệt",
            "signed_on",
        )
    if not 0 < cmd.contracted_support <= state.approved_support:
        raise refuse(
            RefusalCode.SUPPORT_OVER_REQUEST,
            f"kinh phí hợp đồng {format_dong(cmd.contracted_support)} phải lớn hơn 0 và không "
            f"vượt kinh phí phê duyệt {format_dong(state.approved_support)}",
            "contracted_support",
            BASIS_PAID,
        )
    after = fork(state)
    after.stage = target
    after.contract_number = cmd.contract_number
    after.contract_signed_on = cmd.signed_on
    after.contracted_support = cmd.contracted_support
    return finish(
        state,
        after,
        action=Action.SIGN_CONTRACT,
        key=step_key(state, "contract", cmd.contract_number),
        now=now,
        business_date=cmd.signed_on,
        summary=(
            f"Ký hợp đồng {cmd.contract_number} ngày {cmd.signed_on:%d/%m/%Y}, kinh phí "
            f"{format_dong(cmd.contracted_support)}"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.contract_number,
        row=ContractRow(
            number=cmd.contract_number,
            signed_on=cmd.signed_on,
            contracted_support=cmd.contracted_support,
            via_bidding=cmd.via_bidding,
        ),
    )


def decide_report_progress(state: DeAnState, cmd: DeAnReportProgress, now: datetime) -> Outcome:
    target = begin(state, Action.REPORT_PROGRESS, cmd, cmd.reported_on, "reported_on", now)
    assert state.contract_signed_on is not None
    if parse_month(cmd.month) < state.contract_signed_on.replace(day=1):
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"tháng {cmd.month} trước tháng ký hợp đồng",
            "month",
        )
    if parse_month(cmd.month) > cmd.reported_on.replace(day=1):
        raise refuse(RefusalCode.INVALID_FIELD, f"chưa đến tháng {cmd.month}", "month")
    key = step_key(state, "progress", cmd.month)
    check_not_duplicate(state, key, f"báo cáo tiến độ tháng {cmd.month}")
    previous = max((p.investment_done_bp for p in state.progress), default=0)
    if cmd.investment_done_bp < previous:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"tiến độ {format_bp(cmd.investment_done_bp)} thấp hơn báo cáo trước "
            f"({format_bp(previous)})",
            "investment_done_bp",
        )
    after = fork(state)
    after.stage = target
    after.progress.append(
        DeAnProgress(
            month=cmd.month,
            investment_done_bp=cmd.investment_done_bp,
            spent_cost=cmd.spent_cost,
            reported_on=cmd.reported_on,
        )
    )
    return finish(
        state,
        after,
        action=Action.REPORT_PROGRESS,
        key=key,
        now=now,
        business_date=cmd.reported_on,
        summary=(
            f"Báo cáo tiến độ tháng {cmd.month}: đã thực hiện {format_bp(cmd.investment_done_bp)}"
            f", đã chi {format_dong(cmd.spent_cost)}"
        ),
        actor=cmd.actor,
        command=cmd,
        row=ProgressReportRow(
            month=cmd.month,
            investment_done_bp=cmd.investment_done_bp,
            spent_cost=cmd.spent_cost,
            reported_on=cmd.reported_on,
        ),
    )


def decide_confirm_progress(state: DeAnState, cmd: DeAnConfirmProgress, now: datetime) -> Outcome:
    target = begin(state, Action.CONFIRM_PROGRESS, cmd, cmd.confirmed_on, "confirmed_on", now)
    after = fork(state)
    report = next((p for p in after.progress if p.month == cmd.month), None)
    if report is None:
        raise refuse(
            RefusalCode.INVALID_FIELD, f"chưa có báo cáo tiến độ tháng {cmd.month}", "month"
        )
    if report.confirmed_by is not None:
        raise refuse(RefusalCode.DUPLICATE, f"báo cáo tháng {cmd.month} đã được xác nhận", "month")
    report.confirmed_by = cmd.actor.official_id
    after.stage = target
    return finish(
        state,
        after,
        action=Action.CONFIRM_PROGRESS,
        key=step_key(state, "progress-confirm", cmd.month),
        now=now,
        business_date=cmd.confirmed_on,
        summary=(
            f"Sở Công Thương xác nhận báo cáo tiến độ tháng {cmd.month} "
            f"({format_bp(report.investment_done_bp)})"
        ),
        actor=cmd.actor,
        command=cmd,
        row=ProgressConfirmationRow(month=cmd.month, confirmed_on=cmd.confirmed_on),
    )


def decide_record_visit(state: DeAnState, cmd: DeAnRecordVisit, now: datetime) -> Outcome:
    target = begin(state, Action.RECORD_VISIT, cmd, cmd.visited_on, "visited_on", now)
    findings = [f.strip() for f in cmd.findings if f.strip()]
    if cmd.hold_payments and not findings:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "tạm dừng chi trả phải ghi rõ kiến nghị, tồn tại phát hiện khi kiểm tra",
            "findings",
            BASIS_HOLD,
        )
    key = step_key(state, "visit", cmd.minutes_number)
    check_not_duplicate(state, key, f"biên bản kiểm tra {cmd.minutes_number}")
    after = fork(state)
    after.stage = target
    after.open_findings.extend(findings)
    after.payments_on_hold = state.payments_on_hold or cmd.hold_payments
    hold = "; tạm dừng chi trả đến khi khắc phục" if cmd.hold_payments else ""
    found = f"{len(findings)} kiến nghị" if findings else "không có kiến nghị"
    return finish(
        state,
        after,
        action=Action.RECORD_VISIT,
        key=key,
        now=now,
        business_date=cmd.visited_on,
        summary=f"Kiểm tra, giám sát ngày {cmd.visited_on:%d/%m/%Y}: {found}{hold}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
        row=MonitoringVisitRow(
            visited_on=cmd.visited_on,
            minutes_number=cmd.minutes_number,
            findings=list(cmd.findings),
            hold_payments=cmd.hold_payments,
        ),
    )


def decide_resolve_findings(
    state: DeAnState,
    cmd: DeAnResolveFindings,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    """The Sở (or, for a national đề án, the Cục) records that what a monitoring visit found
    was put right, which lifts the hold on payments.

    Possible in every open stage a visit can leave findings in, and also once SETTLED
    (``resolve-findings-settled-v1``): a hold stops *paying* (:func:`check_payer`), not the
    settlement, which is due by 22/01 of the next year whatever the findings (TT 36/2013/TT-BCT
    Điều 18 khoản 2, 3; settling is also how disallowed costs are cut and refunds claimed,
    Điều 12 khoản 6); the unit stays subject to inspection of the money it settles (Điều 12
    khoản 5) and the Sở resolves what monitoring found (Điều 21 khoản 6). Refusing the
    settlement instead would put the legal deadline and the recovery of refunds at the mercy
    of a finding. Without this, a đề án settled on hold could never be paid nor closed."""
    transitions = (
        TRANSITIONS if switches.resolve_after_settlement else TRANSITIONS_BEFORE_RESOLVE_SETTLED
    )
    target = begin(
        state, Action.RESOLVE_FINDINGS, cmd, cmd.resolved_on, "resolved_on", now, transitions
    )
    if not state.open_findings and not state.payments_on_hold:
        raise refuse(RefusalCode.INVALID_FIELD, "không có kiến nghị nào đang mở", None)
    after = fork(state)
    after.stage = target
    after.open_findings = []
    after.payments_on_hold = False
    after.resolutions += 1
    return finish(
        state,
        after,
        action=Action.RESOLVE_FINDINGS,
        key=step_key(state, "resolve", after.resolutions),
        now=now,
        business_date=cmd.resolved_on,
        summary=f"Đã khắc phục {len(state.open_findings)} kiến nghị; tiếp tục chi trả",
        actor=cmd.actor,
        command=cmd,
    )


def advance_limit(state: DeAnState) -> tuple[int, str]:
    """Most that may be advanced in total at this point, and the rule that says so."""
    pack = fixed_pack(state)
    rule = item_rule(pack, state.dossier).advance
    after_acceptance = rule.kind is AdvanceKind.AFTER_ACCEPTANCE
    pack_ceiling = None if after_acceptance else pack.advance_ceiling_bp
    return advance_ceiling(state.contracted_support, rule.max_bp, pack_ceiling), rule.citation


def check_advance_allowed(state: DeAnState) -> None:
    """The condition of the first advance for this kind of đề án (TT 36/2013 Điều 13)."""
    pack = fixed_pack(state)
    rule = item_rule(pack, state.dossier).advance
    if rule.kind is AdvanceKind.AFTER_ACCEPTANCE and state.stage is not Stage.ACCEPTED:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "loại đề án này chỉ được tạm ứng sau khi nghiệm thu cơ sở",
            "amount",
            rule.citation,
        )
    if rule.kind is not AdvanceKind.AFTER_ACCEPTANCE and state.stage is Stage.ACCEPTED:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "sau nghiệm thu cơ sở, kinh phí còn lại được thanh toán qua quyết toán",
            "amount",
            "Thông tư 36/2013/TT-BCT Điều 14",
        )
    if rule.kind is AdvanceKind.AFTER_PROGRESS:
        confirmed = max((p.investment_done_bp for p in state.progress if p.confirmed_by), default=0)
        if confirmed <= rule.progress_bp:
            raise refuse(
                RefusalCode.ADVANCE_NOT_ALLOWED,
                f"chỉ được tạm ứng khi báo cáo tiến độ được Sở Công Thương xác nhận đã thực hiện "
                f"trên {format_bp(rule.progress_bp)} (hiện được xác nhận "
                f"{format_bp(confirmed)})",
                "amount",
                rule.citation,
            )


def advance_lapsed(state: DeAnState, advance: DeAnAdvance, switches: RuleSwitches) -> bool:
    """An unpaid request lapses with the stop or with a cut of support below it
    (``cut-lapses-advances-v1``): marked by that step, or (a đề án stopped
    before the rule) judged so from the stop itself."""
    if advance.paid_on is not None:
        return False
    if advance.lapsed_on is not None:
        return True
    return switches.stop_lapses_advances and state.stopped


def open_advance_requests(state: DeAnState, switches: RuleSwitches) -> list[DeAnAdvance]:
    """Requests still waiting to be paid (not paid, not lapsed)."""
    return [
        a for a in state.advances if a.paid_on is None and not advance_lapsed(state, a, switches)
    ]


def describe_lapses(advances: list[DeAnAdvance]) -> str:
    return ", ".join(f"lần {a.no} ({format_dong(a.amount)})" for a in advances)


def committed_advances(state: DeAnState) -> int:
    """Advances paid plus requests not lapsed: what the advance ceiling must hold."""
    return sum(a.amount for a in state.advances if a.lapsed_on is None)


def lapses_for_cut(state: DeAnState, ceiling: int) -> list[DeAnAdvance]:
    """The open requests of ``state`` (its support already cut) that no longer fit under the
    new advance ceiling: in request order, each open request is kept while the advances paid
    plus the requests kept so far plus it stay within ``ceiling``; the first that does not
    fit lapses, and so does every later one.

    Why only those that no longer fit (TT 36/2013/TT-BCT Điều 13, 14): the ceiling is a share
    of the *contracted* support, and the cut amends that figure; a request within the amended
    ceiling is still one the law allows, so lapsing it would withhold money the centre is
    owed and make it file the same request again. A request above it cannot be paid as filed,
    and a request is a document for one amount (there is no partial payment of it), so it
    lapses whole and the centre files a new one within the room left. Later requests were
    filed on top of the earlier ones (advances go in order, by progress), so once one lapses
    the later ones lapse with it rather than jump ahead. Today a đề án has at most one open
    request (a second is refused while one is open), so this is: the open request lapses
    when it no longer fits, and only then."""
    kept = state.advanced
    lapsing: list[DeAnAdvance] = []
    for advance in state.advances:
        if advance.paid_on is not None or advance.lapsed_on is not None:
            continue
        if lapsing or kept + advance.amount > ceiling:
            lapsing.append(advance)
        else:
            kept += advance.amount
    return lapsing


def pays_past_ceiling(state: DeAnState, request_no: int) -> bool:
    """Paying request ``request_no`` (unpaid, not lapsed) would take the advances paid above
    the current advance ceiling (``cut-lapses-advances-v1`` is at stake)."""
    request = next((a for a in state.advances if a.no == request_no), None)
    if request is None or request.paid_on is not None or request.lapsed_on is not None:
        return False
    try:
        limit, _ = advance_limit(state)
    except Refusal:
        return False
    return state.advanced + request.amount > limit


def decide_request_advance(
    state: DeAnState,
    cmd: DeAnRequestAdvance,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    target = begin(state, Action.REQUEST_ADVANCE, cmd, cmd.requested_on, "requested_on", now)
    if cmd.amount <= 0:
        raise refuse(RefusalCode.INVALID_FIELD, "số tiền tạm ứng phải lớn hơn 0", "amount")
    if switches.stop_lapses_advances and state.stopped:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "đề án đã ngừng thực hiện: không tạm ứng thêm; khối lượng đã nghiệm thu được thanh "
            "toán qua quyết toán",
            "amount",
            BASIS_STOPPED_MONEY,
        )
    if open_advance_requests(state, switches):
        raise refuse(
            RefusalCode.DUPLICATE,
            "đề nghị tạm ứng trước chưa được chi; chi hoặc chờ xử lý trước khi đề nghị tiếp",
            "amount",
        )
    check_advance_allowed(state)
    limit, citation = advance_limit(state)
    already = committed_advances(state)  # a lapsed request moved no money, holds no room
    if already + cmd.amount > limit:
        raise refuse(
            RefusalCode.ADVANCE_OVER_LIMIT,
            f"tổng tạm ứng {format_dong(already + cmd.amount)} vượt mức được tạm ứng "
            f"{format_dong(limit)} (đã tạm ứng {format_dong(already)}, còn được "
            f"{format_dong(advance_room(limit, already))})",
            "amount",
            citation,
        )
    if pays_over(state.paid, cmd.amount, state.approved_support):
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + cmd.amount)} vượt kinh phí phê duyệt "
            f"{format_dong(state.approved_support)}",
            "amount",
            BASIS_PAID,
        )
    no = len(state.advances) + 1
    after = fork(state)
    after.stage = target
    after.advances.append(
        DeAnAdvance(
            no=no,
            amount=cmd.amount,
            requested_on=cmd.requested_on,
            requested_by=cmd.actor.official_id,
        )
    )
    return finish(
        state,
        after,
        action=Action.REQUEST_ADVANCE,
        key=step_key(state, "advance-request", no),
        now=now,
        business_date=cmd.requested_on,
        summary=f"Đề nghị tạm ứng lần {no}: {format_dong(cmd.amount)}",
        actor=cmd.actor,
        command=cmd,
        extra={"request_no": no},
        row=AdvanceRequestRow(request_no=no, amount=cmd.amount, requested_on=cmd.requested_on),
    )


def check_payer(state: DeAnState, actor: Actor, others: list[str]) -> None:
    approver = [state.approval.official_id] if state.approval else []
    check_four_eyes(actor, [*approver, *others], "phê duyệt, đề nghị hoặc quyết toán", BASIS_PAID)
    if state.payments_on_hold:
        raise refuse(
            RefusalCode.PAYMENTS_ON_HOLD,
            "chi trả đang tạm dừng theo kiến nghị kiểm tra: "
            + "; ".join(state.open_findings or ["chưa khắc phục"]),
            None,
            BASIS_HOLD,
        )


def decide_pay_advance(
    state: DeAnState,
    cmd: DeAnPayAdvance,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    target = begin(state, Action.PAY_ADVANCE, cmd, cmd.paid_on, "paid_on", now)
    request = next((a for a in state.advances if a.no == cmd.request_no), None)
    if request is None:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"không có đề nghị tạm ứng lần {cmd.request_no}",
            "request_no",
        )
    if request.paid_on is not None:
        raise refuse(
            RefusalCode.DUPLICATE,
            f"đề nghị tạm ứng lần {cmd.request_no} đã được chi ngày {request.paid_on:%d/%m/%Y}",
            "request_no",
        )
    if request.lapse_ceiling is not None and request.lapsed_on is not None:
        limit, citation = advance_limit(state)
        room = advance_room(limit, committed_advances(state))
        then = (
            "; đề án đã ngừng thực hiện, chỉ chi khoản do quyết toán xác định"
            if state.stopped
            else f"; {room_for_a_new_request(room)}"
        )
        raise refuse(
            RefusalCode.ADVANCE_LAPSED,
            f"đề nghị tạm ứng lần {cmd.request_no} ({format_dong(request.amount)}) đã hết hiệu "
            f"lực ngày {request.lapsed_on:%d/%m/%Y} ({request.lapse_reason}): vượt mức được tạm "
            f"ứng {format_dong(request.lapse_ceiling)} theo kinh phí đã điều chỉnh giảm" + then,
            "request_no",
            citation,
        )
    if advance_lapsed(state, request, switches):
        when = f" ngày {request.lapsed_on:%d/%m/%Y}" if request.lapsed_on else ""
        raise refuse(
            RefusalCode.ADVANCE_LAPSED,
            f"đề nghị tạm ứng lần {cmd.request_no} ({format_dong(request.amount)}) đã hết hiệu "
            f"lực{when} khi đề án ngừng thực hiện"
            + (f" ({request.lapse_reason})" if request.lapse_reason else "")
            + "; sau khi ngừng, chỉ chi khoản do quyết toán xác định",
            "request_no",
            BASIS_STOPPED_MONEY,
        )
    check_payer(state, cmd.actor, [request.requested_by])
    if pays_over(state.paid, request.amount, state.approved_support):
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + request.amount)} vượt kinh phí phê duyệt "
            f"{format_dong(state.approved_support)}",
            "request_no",
            BASIS_PAID,
        )
    if switches.cut_lapses_advances and pays_past_ceiling(state, cmd.request_no):
        limit, citation = advance_limit(state)
        raise refuse(
            RefusalCode.ADVANCE_OVER_LIMIT,
            f"chi đề nghị tạm ứng lần {cmd.request_no} ({format_dong(request.amount)}) đưa tổng "
            f"tạm ứng đã chi lên {format_dong(state.advanced + request.amount)}, vượt mức được "
            f"tạm ứng {format_dong(limit)} (đã chi {format_dong(state.advanced)}, còn được "
            f"{format_dong(advance_room(limit, state.advanced))})",
            "request_no",
            citation,
        )
    after = fork(state)
    after.stage = target
    paid = next(a for a in after.advances if a.no == cmd.request_no)
    paid.paid_on, paid.paid_by, paid.voucher_number = (
        cmd.paid_on,
        cmd.actor.official_id,
        cmd.voucher_number,
    )
    return finish(
        state,
        after,
        action=Action.PAY_ADVANCE,
        key=step_key(state, "advance-pay", cmd.request_no),
        now=now,
        business_date=cmd.paid_on,
        summary=(
            f"Chi tạm ứng lần {cmd.request_no}: {format_dong(request.amount)} "
            f"(chứng từ {cmd.voucher_number})"
        ),
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=step_key(state, "payment", "advance", cmd.request_no),
            kind=PaymentKind.ADVANCE,
            amount=request.amount,
            paid_on=cmd.paid_on,
            voucher_number=cmd.voucher_number,
        ),
    )


SITE_OR_TIMING = frozenset({AdjustmentKind.CHANGE_SITE, AdjustmentKind.CHANGE_TIMING})


_SITE_LABELS = {"address": "địa chỉ", "commune": "xã/phường", "district": "huyện"}


def check_adjust_details(state: DeAnState, cmd: DeAnAdjust) -> None:
    """A change of site names the new site; a change of timing names the new dates, inside
    the budget year (TT 36/2013 Điều 11 khoản 2 điểm b: «thời gian (trong năm tài chính)»).
    The fields of one kind are refused on another: an adjustment records what its decision
    changes, nothing silently ignored."""
    timing = cmd.new_start is not None or cmd.new_end is not None
    site = bool(cmd.site_fields)
    if cmd.kind is AdjustmentKind.CHANGE_SITE and not site:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thay đổi địa điểm phải ghi địa điểm mới (địa chỉ, xã/phường hoặc huyện)",
            "new_address",
            BASIS_ADJUST_DETAILS,
        )
    if cmd.kind is AdjustmentKind.CHANGE_TIMING and not timing:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thay đổi thời gian phải ghi ngày bắt đầu và/hoặc kết thúc mới",
            "new_start",
            BASIS_ADJUST_DETAILS,
        )
    if site and cmd.kind is not AdjustmentKind.CHANGE_SITE:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"địa điểm mới chỉ ghi khi thay đổi địa điểm (change_site), không phải «{cmd.kind.label}»",
            "kind",
        )
    if timing and cmd.kind is not AdjustmentKind.CHANGE_TIMING:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày mới chỉ ghi khi thay đổi thời gian (change_timing), không phải «{cmd.kind.label}»",
            "kind",
        )
    if timing:
        current = state.current_schedule
        start = cmd.new_start or current.start
        end = cmd.new_end or current.end
        if start > end:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"ngày bắt đầu {start:%d/%m/%Y} sau ngày kết thúc {end:%d/%m/%Y}",
                "new_start" if cmd.new_start else "new_end",
            )
        year = state.budget_year
        for field, day in (("new_start", cmd.new_start), ("new_end", cmd.new_end)):
            if day is not None and day.year != year:
                raise refuse(
                    RefusalCode.INVALID_FIELD,
                    f"ngày {day:%d/%m/%Y} ngoài năm kế hoạch {year}; sang năm sau là gia hạn "
                    "(extend_next_year, Bộ trưởng / Chủ tịch UBND tỉnh quyết định)",
                    field,
                    BASIS_ADJUST_DETAILS,
                )


def decide_adjust(
    state: DeAnState, cmd: DeAnAdjust, now: datetime, switches: RuleSwitches = CURRENT_RULES
) -> Outcome:
    target = begin(state, Action.ADJUST, cmd, cmd.decision_date, "decision_date", now)
    dossier = state.dossier
    key = step_key(state, "adjust", cmd.decision_number)
    check_not_duplicate(state, key, f"quyết định điều chỉnh {cmd.decision_number}")
    after = fork(state)
    after.stage = target
    change = cmd.kind.label
    extra: dict[str, Any] = {}
    if cmd.kind in (AdjustmentKind.INCREASE_SUPPORT, AdjustmentKind.DECREASE_SUPPORT):
        new = cmd.new_support
        if new is None:
            raise refuse(RefusalCode.INVALID_FIELD, "phải ghi mức hỗ trợ mới", "new_support")
        increase = cmd.kind is AdjustmentKind.INCREASE_SUPPORT
        if increase and new <= state.approved_support:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"mức mới {format_dong(new)} không cao hơn mức hiện tại "
                f"{format_dong(state.approved_support)}",
                "new_support",
            )
        if not increase and new >= state.approved_support:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"mức mới {format_dong(new)} không thấp hơn mức hiện tại "
                f"{format_dong(state.approved_support)}",
                "new_support",
            )
        if new < state.paid:
            raise refuse(
                RefusalCode.PAID_OVER_APPROVED,
                f"không thể giảm kinh phí xuống {format_dong(new)}, dưới số đã chi "
                f"{format_dong(state.paid)}",
                "new_support",
                BASIS_PAID,
            )
        check_cap(new, dossier, fixed_pack(state), "new_support")
        check_counterpart(dossier, new, "new_support")
        after.approved_support = new
        after.contracted_support = min(state.contracted_support, new)
        change = f"{change}: {format_dong(state.approved_support)} → {format_dong(new)}"
        if not increase and switches.cut_lapses_advances:
            change += lapse_for_cut(after, cmd, extra)
    elif cmd.kind is AdjustmentKind.EXTEND_NEXT_YEAR:
        if state.budget_year > dossier.plan_year:
            raise refuse(
                RefusalCode.DUPLICATE,
                f"đề án đã được gia hạn sang năm {state.budget_year}",
                "kind",
                "Thông tư 36/2013/TT-BCT Điều 11 khoản 2 điểm a",
            )
        after.budget_year = state.budget_year + 1
        change = f"{change} {after.budget_year}"
    elif cmd.kind in SITE_OR_TIMING and switches.adjust_needs_details:
        check_adjust_details(state, cmd)
        if cmd.kind is AdjustmentKind.CHANGE_SITE:
            before_site = state.current_site
            after.site = before_site.model_copy(update=cmd.site_fields)
            change = f"{change}: {before_site.describe()} → {after.site.describe()}"
        else:
            old = state.current_schedule
            after.schedule = Schedule(start=cmd.new_start or old.start, end=cmd.new_end or old.end)
            change = (
                f"{change}: {old.start:%d/%m/%Y}–{old.end:%d/%m/%Y} → "
                f"{after.schedule.start:%d/%m/%Y}–{after.schedule.end:%d/%m/%Y}"
            )
    if switches.adjust_needs_details and cmd.kind not in SITE_OR_TIMING:
        check_adjust_details(state, cmd)  # refuses site or dates on another kind
    return finish(
        state,
        after,
        action=Action.ADJUST,
        key=key,
        now=now,
        business_date=cmd.decision_date,
        summary=f"Điều chỉnh theo Quyết định {cmd.decision_number}: {change}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        extra=extra,
        row=DecisionRow(
            kind="adjust",
            number=cmd.decision_number,
            decision_date=cmd.decision_date,
            amount=cmd.new_support,
        ),
    )


def lapse_for_cut(after: DeAnState, cmd: DeAnAdjust, extra: dict[str, Any]) -> str:
    """Lapse, in ``after`` (support already cut), the open requests that no longer fit under
    the new advance ceiling (:func:`lapses_for_cut`), record them in ``extra`` (the step's
    details, like the stop's) and return what the step's summary adds."""
    if not any(a.paid_on is None and a.lapsed_on is None for a in after.advances):
        return ""
    ceiling, _ = advance_limit(after)
    lapsing = lapses_for_cut(after, ceiling)
    if not lapsing:
        return ""
    for advance in lapsing:
        advance.lapsed_on = cmd.decision_date
        advance.lapse_ceiling = ceiling
        advance.lapse_reason = (
            f"điều chỉnh giảm kinh phí theo Quyết định {cmd.decision_number}, mức được tạm ứng "
            f"còn {format_dong(ceiling)}"
        )
    room = advance_room(ceiling, committed_advances(after))
    extra["lapsed_advances"] = [{"request_no": a.no, "amount": a.amount} for a in lapsing]
    extra["advance_ceiling"] = ceiling
    return (
        f"; đề nghị tạm ứng chưa chi hết hiệu lực: {describe_lapses(lapsing)} — vượt mức được "
        f"tạm ứng mới {format_dong(ceiling)} (đã tạm ứng {format_dong(after.advanced)}); "
        + room_for_a_new_request(room)
    )


def room_for_a_new_request(room: int) -> str:
    """What a centre whose request lapsed with a cut may still request."""
    if room <= 0:
        return "không còn mức được tạm ứng, kinh phí còn lại được thanh toán qua quyết toán"
    return f"có thể đề nghị tạm ứng mới trong mức còn được tạm ứng {format_dong(room)}"


def decide_stop(
    state: DeAnState, cmd: DeAnStop, now: datetime, switches: RuleSwitches = CURRENT_RULES
) -> Outcome:
    target = begin(state, Action.STOP, cmd, cmd.decision_date, "decision_date", now)
    after = fork(state)
    after.stage = target
    after.stopped = True
    after.force_majeure = cmd.force_majeure
    why = "bất khả kháng" if cmd.force_majeure else "vi phạm hoặc không đáp ứng yêu cầu"
    summary = f"Ngừng thực hiện theo Quyết định {cmd.decision_number} ({why}): {cmd.reason}"
    extra: dict[str, Any] = {}
    if switches.stop_lapses_advances:
        lapsing = [a for a in after.advances if a.paid_on is None and a.lapsed_on is None]
        for advance in lapsing:
            advance.lapsed_on = cmd.decision_date
            advance.lapse_reason = f"ngừng thực hiện theo Quyết định {cmd.decision_number}"
        if lapsing:
            summary += (
                f"; đề nghị tạm ứng chưa chi hết hiệu lực: {describe_lapses(lapsing)} — sau khi ngừng "
                "chỉ chi theo quyết toán"
            )
            extra["lapsed_advances"] = [{"request_no": a.no, "amount": a.amount} for a in lapsing]
    return finish(
        state,
        after,
        action=Action.STOP,
        key=step_key(state, "stop", cmd.decision_number),
        now=now,
        business_date=cmd.decision_date,
        summary=summary,
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        extra=extra,
        row=DecisionRow(kind="stop", number=cmd.decision_number, decision_date=cmd.decision_date),
    )
