"""The one way a đề án is registered: one ``DeAnWorkflow`` started per đề án, the same way
for every caller.

The starter (``starter.py`` / ``khuyencong register FILE``), the admin tool
(``khuyencong de-an register``, :meth:`khuyencong.admin.client.AdminClient.register`), a
plan's import (the activity ``start_plan_de_an``), the backfill of a paper year and the dev
stack's demo all call :func:`register` or :func:`register_all`, so every đề án gets:

- the workflow ID ``de-an/<code>`` (:func:`domain.model.workflow_id_for`);
- its search attributes (:func:`khuyencong.search_attributes.start_attributes`, with
  ``KcTaxCodeHash`` whenever the caller holds the hash key), its static summary and details;
- a start signed for its registrar (:func:`khuyencong.identity_interceptors.vouching`; the
  worker still verifies it against its register, ``verify_registration``);
- the same ID policies, :data:`ID_REUSE_POLICY` and :data:`ID_CONFLICT_POLICY`, and the same
  answer when the ID is taken.

The policy, and why:

- **A retry of the same registration is idempotent.** Each start carries a fingerprint of
  what is registered (the dossier, the registrar, the registration day) in its memo
  (:data:`FINGERPRINT_MEMO`). When the ID exists, running or closed, and its fingerprint is
  the same, the answer is :attr:`Outcome.EXISTING` and nothing is started: running a file
  twice, an activity retried after a crash, an official who presses Enter twice.
- **A duplicate code is refused clearly.** When the ID exists with another fingerprint, the
  answer is :attr:`Outcome.DUPLICATE` (:class:`DuplicateCode`, refusal code ``Duplicate``),
  naming the code: two dossiers never share one workflow. A đề án registered before
  fingerprints existed has none and is counted as existing, as it always was.
- **A refused registration can be made again.** The workflow fails only when its
  registration is refused (registrar not proven, dossier refused): a start finding the ID's
  last run *failed* starts it anew (:data:`REFUSED_REUSE_POLICY`), whatever its dossier, so
  fixing the cause (the register, the dossier) and running the same command is enough. A
  running, completed, terminated or cancelled đề án is never started again
  (:data:`ID_REUSE_POLICY`, :data:`ID_CONFLICT_POLICY`): it is ``existing`` or ``duplicate``.

**Registering and waiting in one request** (:func:`register_and_wait`, the admin tool): the
start is an *update-with-start* carrying the read-only update ``registered``
(:data:`workflows.de_an.REGISTERED_UPDATE`), so one request starts the workflow and answers
once the registration step is recorded (the read model holds the đề án), or fails with the
typed refusal that fails the workflow (``IdentityNotProven``, ``NotStored``, a rule's code).
Same ID, policies, memo, search attributes and signed start as :func:`register`; a start that
finds the ID taken is answered as there, and an existing đề án is read with one ``state``
query (the ``registered`` update only while its registration is still being recorded).

:func:`register_all` (the starter, a plan's import, the backfill) keeps plain starts: it does
not wait for each registration, so a start is one short request and its throughput is the
worker's. Its starts ask for *eager* start (``request_eager_start``): when the calling client
also runs the worker of the task queue (a plan's import activity), the server hands the first
workflow task back in the start's answer, saving the worker a poll; from a client without a
worker the flag is ignored. Update-with-start cannot be eager (the SDK has no such option).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain.errors import RefusalCode
from domain.model import Actor, DeAnDossier, workflow_id_for
from domain.money import format_dong
from khuyencong.identity_interceptors import vouching
from khuyencong.search_attributes import start_attributes
from workflows.de_an_contract import DeAnInput, DeAnRegistration, DeAnState

DE_AN_WORKFLOW = "DeAnWorkflow"
ID_REUSE_POLICY = WorkflowIDReusePolicy.REJECT_DUPLICATE
"""A closed đề án is not started again (a terminated one neither)..."""
REFUSED_REUSE_POLICY = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
"""...except one whose last run failed (its registration refused): the second start, made
only after ``describe`` found the run failed."""
ID_CONFLICT_POLICY = WorkflowIDConflictPolicy.FAIL
"""A running đề án is never replaced nor joined: the start fails and is answered here."""
FINGERPRINT_MEMO = "kc_registration"
"""Memo key of the registration's fingerprint (:func:`fingerprint`)."""
SUMMARY_MAX_BYTES = 380
"""The server keeps at most 400 bytes of a summary payload (a JSON string)."""
DEFAULT_CONCURRENCY = 8
REGISTERED_UPDATE = "registered"
"""The workflow's read-only update answering once the registration is decided
(:data:`workflows.de_an.REGISTERED_UPDATE`)."""
STATE_QUERY = "state"
REGISTRATION_TIMEOUT = 30.0
"""How long :func:`register_and_wait` waits for a worker to record the registration."""
BUSY_RETRY_SECONDS = 3.0
"""``registered`` refused ``DeAnBusy`` (it arrived with a result of the workflow's): sent
again for this long."""


class RegistrationEntry(BaseModel):
    """One đề án to register: its dossier, its registrar and (optionally) the day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dossier: DeAnDossier
    registered_by: Actor
    registered_on: date | None = None
    flag_past_deadlines: bool = Field(
        default=True,
        description="Record deadlines already past when they become known as missed; False "
        "only for a complete paper record (plan load-history --through-workflows)",
    )

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.dossier.code)

    def to_input(self) -> DeAnInput:
        return DeAnInput(
            dossier=self.dossier,
            registered_by=self.registered_by,
            registered_on=self.registered_on,
            flag_past_deadlines=self.flag_past_deadlines,
        )


def fingerprint(entry: RegistrationEntry) -> str:
    """What makes two registrations the same one: the dossier as registered, the registrar
    and the registration day (SHA-256 of their canonical JSON)."""
    canonical = json.dumps(
        {
            "dossier": entry.dossier.model_dump(mode="json"),
            "registered_by": entry.registered_by.official_id,
            "registered_on": None if entry.registered_on is None else str(entry.registered_on),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Outcome(StrEnum):
    STARTED = "started"
    EXISTING = "existing"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True)
class Registered:
    """The answer for one đề án; ``registration``: the recorded registration, when the
    caller waited for it (:func:`register_and_wait`)."""

    workflow_id: str
    outcome: Outcome
    message: str = ""
    registration: DeAnRegistration | None = None


class RegistrationRefused(Exception):
    """The workflow refused the registration (and failed with it): ``error`` is its typed
    ``ApplicationError`` (type = the refusal's code, details = the problems)."""

    def __init__(self, workflow_id: str, error: ApplicationError) -> None:
        self.workflow_id = workflow_id
        self.error = error
        super().__init__(f"{workflow_id}: {error.type}: {error.message}")


def _refused(workflow_id: str, failure: BaseException) -> BaseException:
    cause = (
        failure.cause
        if isinstance(failure, WorkflowUpdateFailedError | WorkflowFailureError)
        else None
    )
    return (
        RegistrationRefused(workflow_id, cause) if isinstance(cause, ApplicationError) else failure
    )


class DuplicateCode(Exception):
    """The code is already registered for another dossier (or another registrar)."""

    refusal_code = RefusalCode.DUPLICATE

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"mã đề án {code} đã được đăng ký với một hồ sơ khác; không đăng ký lại "
            f"(code {code} is already registered with another dossier)"
        )


# --- what the UI shows ---------------------------------------------------------------------


def static_summary(dossier: DeAnDossier) -> str:
    """One line for the UI: ``BG-2019-DP-01 · <tên đề án> · hỗ trợ 150.000.000 đ``."""
    head = f"{dossier.code} · "
    tail = f" · đề nghị hỗ trợ {format_dong(dossier.requested_support)}"
    title = dossier.title
    budget = SUMMARY_MAX_BYTES - len((head + tail).encode("utf-8"))
    if len(title.encode("utf-8")) > budget:
        while len((title + "…").encode("utf-8")) > budget:
            title = title[:-1]
        title = title.rstrip() + "…"
    return head + title + tail


def mask_tax_code(tax_code: str) -> str:
    """``024072001583`` → ``••••••••1583``: a household business's tax code is a personal ID
    number; the UI shows its last four digits only (the full code is in the encrypted input)."""
    return "•" * (len(tax_code) - 4) + tax_code[-4:]


def static_details(entry: RegistrationEntry) -> str:
    """Markdown shown in the UI's User Metadata tab."""
    d = entry.dossier
    place = ", ".join(p for p in (d.commune, d.district, d.province) if p)
    return "\n".join(
        [
            f"**{d.code}** — {d.title}",
            "",
            f"- Cấp: {d.level.label}",
            f"- Nội dung: {d.content_area.value}. {d.content_area.label}",
            f"- Hạng mục hỗ trợ: `{d.support_item}`",
            f"- Đơn vị thụ hưởng: {d.beneficiary.name} ({d.beneficiary.type.label}, "
            f"MST {mask_tax_code(d.beneficiary.tax_code)})",
            f"- Địa điểm: {place}",
            f"- Đơn vị thực hiện: {d.implementing_unit}",
            f"- Năm kế hoạch: {d.plan_year}; tiến độ {d.schedule.start:%d/%m/%Y} – "
            f"{d.schedule.end:%d/%m/%Y}",
            f"- Tổng kinh phí: {format_dong(d.total_cost)}; đề nghị hỗ trợ "
            f"{format_dong(d.requested_support)}; vốn đối ứng {format_dong(d.counterpart_funds)}",
            f"- Đăng ký bởi: {entry.registered_by.describe()}",
        ]
    )


# --- starting -------------------------------------------------------------------------------


async def register(
    client: Client, task_queue: str, entry: RegistrationEntry, *, hash_key: bytes | None
) -> Registered:
    """Start ``entry``'s ``DeAnWorkflow`` (see the module's policy); answers
    :attr:`Outcome.STARTED`, :attr:`Outcome.EXISTING` or :attr:`Outcome.DUPLICATE`. Other
    failures (server unreachable, search attributes not registered, ...) raise.

    ``hash_key`` (``KHUYENCONG_TAX_CODE_HASH_KEY``,
    :func:`khuyencong.search_attributes.tax_code_hash_key`) adds ``KcTaxCodeHash``; None leaves it out. The start is signed for
    ``entry.registered_by`` when ``client`` has a signing key."""
    try:
        await _start(client, task_queue, entry, hash_key, ID_REUSE_POLICY)
        return Registered(entry.workflow_id, Outcome.STARTED)
    except WorkflowAlreadyStartedError:
        pass
    handle = client.get_workflow_handle(entry.workflow_id)
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.FAILED:  # its registration was refused
        try:
            await _start(client, task_queue, entry, hash_key, REFUSED_REUSE_POLICY)
            return Registered(entry.workflow_id, Outcome.STARTED)
        except WorkflowAlreadyStartedError:  # started again meanwhile, by another caller
            description = await handle.describe()
    recorded = await description.memo_value(FINGERPRINT_MEMO, None, type_hint=str)
    if recorded is None or recorded == fingerprint(entry):
        return Registered(entry.workflow_id, Outcome.EXISTING)
    return Registered(entry.workflow_id, Outcome.DUPLICATE, str(DuplicateCode(entry.dossier.code)))


def start_options(
    entry: RegistrationEntry,
    task_queue: str,
    hash_key: bytes | None,
    reuse: WorkflowIDReusePolicy,
) -> dict[str, Any]:
    """How every đề án is started, by a plain start or an update-with-start: its business ID,
    the policies, the fingerprint that tells a repeat from a duplicate, what the Temporal UI
    shows, and the search attributes."""
    return {
        "id": entry.workflow_id,
        "task_queue": task_queue,
        "id_reuse_policy": reuse,
        "id_conflict_policy": ID_CONFLICT_POLICY,
        "memo": {FINGERPRINT_MEMO: fingerprint(entry)},
        "static_summary": static_summary(entry.dossier),
        "static_details": static_details(entry),
        "search_attributes": start_attributes(entry.dossier, hash_key=hash_key),
    }


async def _start(
    client: Client,
    task_queue: str,
    entry: RegistrationEntry,
    hash_key: bytes | None,
    reuse: WorkflowIDReusePolicy,
) -> None:
    with vouching(entry.registered_by.official_id):
        await client.start_workflow(
            DE_AN_WORKFLOW,
            entry.to_input(),
            **start_options(entry, task_queue, hash_key, reuse),
            request_eager_start=True,
        )


# --- registering and waiting in one request --------------------------------------------------


def registered_update_id(entry: RegistrationEntry) -> str:
    """``{workflow_id}:registered:{fingerprint}``: callers waiting for the same registration
    of a running đề án wait on one update, which Temporal answers once."""
    return f"{entry.workflow_id}:{REGISTERED_UPDATE}:{fingerprint(entry)[:16]}"


def _with_start_update_id(entry: RegistrationEntry) -> str:
    """A fresh ID for the update sent with a start. Not :func:`registered_update_id`: an
    update-with-start whose update ID the running workflow already holds is answered with
    that update's outcome *despite* the conflict policy ``FAIL``, so a second registration
    would look started. With a fresh ID the server answers ``WorkflowAlreadyStarted`` and the
    policy of :func:`register` decides (existing or duplicate). The SDK's own retries of the
    request keep this ID (and the start's request ID): they are answered once."""
    return f"{entry.workflow_id}:{REGISTERED_UPDATE}:{uuid.uuid4().hex}"


async def register_and_wait(
    client: Client,
    task_queue: str,
    entry: RegistrationEntry,
    *,
    hash_key: bytes | None,
    timeout: float = REGISTRATION_TIMEOUT,
) -> Registered:
    """:func:`register`, answered once the registration is recorded: ``registration`` holds
    it (not for :attr:`Outcome.DUPLICATE`). A new đề án is started by one update-with-start
    request, no polling. A refused registration raises :class:`RegistrationRefused` with the
    workflow's typed ``ApplicationError`` (the workflow fails with it, and the code can be
    registered again). No worker recording it within ``timeout`` seconds:
    ``TimeoutError``."""
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await _register_and_wait(client, task_queue, entry, hash_key)
    except (WorkflowUpdateFailedError, WorkflowFailureError) as failure:
        raise _refused(entry.workflow_id, failure) from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        # The SDK turns the cancellation of an update's request into its own error.
        if isinstance(exc, TimeoutError) or deadline.expired():
            raise TimeoutError(
                f"{entry.workflow_id}: the registration was not recorded within "
                f"{timeout:g} s; is a worker running on {task_queue}?"
            ) from None
        raise


async def _register_and_wait(
    client: Client, task_queue: str, entry: RegistrationEntry, hash_key: bytes | None
) -> Registered:
    try:
        recorded = await _start_and_wait(client, task_queue, entry, hash_key, ID_REUSE_POLICY)
        return Registered(entry.workflow_id, Outcome.STARTED, registration=recorded)
    except WorkflowAlreadyStartedError:
        pass
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(entry.workflow_id)
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.FAILED:  # its registration was refused
        try:
            recorded = await _start_and_wait(
                client, task_queue, entry, hash_key, REFUSED_REUSE_POLICY
            )
            return Registered(entry.workflow_id, Outcome.STARTED, registration=recorded)
        except WorkflowAlreadyStartedError:  # started again meanwhile, by another caller
            description = await handle.describe()
    known = await description.memo_value(FINGERPRINT_MEMO, None, type_hint=str)
    if known is not None and known != fingerprint(entry):
        return Registered(
            entry.workflow_id, Outcome.DUPLICATE, str(DuplicateCode(entry.dossier.code))
        )
    if description.status == WorkflowExecutionStatus.FAILED:  # refused again, by the other
        await handle.result()  # raises its refusal, as the workflow failed with it
    if description.status not in (None, WorkflowExecutionStatus.RUNNING):  # closed
        state: DeAnState = await handle.query(STATE_QUERY, result_type=DeAnState)
        return Registered(entry.workflow_id, Outcome.EXISTING, registration=_summary(state))
    try:
        state = await handle.query(STATE_QUERY, result_type=DeAnState)
        if state.seq >= 1:
            return Registered(entry.workflow_id, Outcome.EXISTING, registration=_summary(state))
    except (RPCError, WorkflowQueryFailedError):
        pass  # its first workflow task is not done yet
    # Its registration is being recorded (a start of a moment ago): wait for it there.
    recorded = await _wait_registered(handle, registered_update_id(entry))
    return Registered(entry.workflow_id, Outcome.EXISTING, registration=recorded)


async def _start_and_wait(
    client: Client,
    task_queue: str,
    entry: RegistrationEntry,
    hash_key: bytes | None,
    reuse: WorkflowIDReusePolicy,
) -> DeAnRegistration:
    """One update-with-start request: the start exactly as :func:`_start` makes it (signed
    for the registrar by the client's ``SigningInterceptor``), and ``registered``."""
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        DE_AN_WORKFLOW, entry.to_input(), **start_options(entry, task_queue, hash_key, reuse)
    )
    with vouching(entry.registered_by.official_id):
        try:
            recorded: DeAnRegistration = await client.execute_update_with_start_workflow(
                REGISTERED_UPDATE,
                start_workflow_operation=start,
                id=_with_start_update_id(entry),
                result_type=DeAnRegistration,
            )
            return recorded
        except WorkflowUpdateFailedError as failure:
            if not _unknown_update(failure):
                raise
    # A worker older than ``registered`` took the first task: the start stands; ask there.
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(entry.workflow_id)
    return await _poll_registered(handle)


async def _wait_registered(handle: WorkflowHandle[Any, Any], update_id: str) -> DeAnRegistration:
    """``registered`` sent to a running đề án (sent again while refused ``DeAnBusy``)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + BUSY_RETRY_SECONDS
    while True:
        try:
            recorded: DeAnRegistration = await handle.execute_update(
                REGISTERED_UPDATE, id=update_id, result_type=DeAnRegistration
            )
            return recorded
        except WorkflowUpdateFailedError as failure:
            if _unknown_update(failure):
                return await _poll_registered(handle)
            cause = failure.cause
            busy = isinstance(cause, ApplicationError) and cause.type == RefusalCode.BUSY
            if not busy or loop.time() > give_up:
                raise
        await asyncio.sleep(0.05)


def _unknown_update(failure: WorkflowUpdateFailedError) -> bool:
    """The worker does not know ``registered`` (deployed before it)."""
    return f"'{REGISTERED_UPDATE}' expected but not found" in str(failure.cause)


async def _poll_registered(handle: WorkflowHandle[Any, Any]) -> DeAnRegistration:
    """For a worker that does not know ``registered``: the ``state`` query until the
    registration is recorded; a refused one raises the workflow's failure."""
    while True:
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.FAILED:
            await handle.result()
        try:
            state: DeAnState = await handle.query(STATE_QUERY, result_type=DeAnState)
            if state.seq >= 1 or description.status != WorkflowExecutionStatus.RUNNING:
                return _summary(state)
        except Exception:  # the first workflow task not taken yet
            pass
        await asyncio.sleep(0.05)


def _summary(state: DeAnState) -> DeAnRegistration:
    return DeAnRegistration(
        de_an_id=state.de_an_id,
        stage=state.stage,
        seq=state.seq,
        registered_on=state.registered_on,
    )


@dataclass
class RegisterReport:
    """What :func:`register_all` did, by workflow ID."""

    started: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    duplicate: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """The đề án that are registered as asked (started now or before)."""
        return [*self.started, *self.existing]

    @property
    def problems(self) -> dict[str, str]:
        """Workflow ID → why it is not registered as asked (duplicates and failures)."""
        return {**dict(self.duplicate), **dict(self.failed)}

    def describe(self) -> str:
        text = f"{len(self.started)} started, {len(self.existing)} already existing"
        if self.duplicate:
            text += f", {len(self.duplicate)} duplicate code(s) refused"
        return text + (f", {len(self.failed)} failed" if self.failed else "")

    def print(self, out: TextIO) -> None:
        for workflow_id in self.started:
            print(f"  started   {workflow_id}", file=out)
        for workflow_id in self.existing:
            print(f"  existing  {workflow_id}", file=out)
        for workflow_id, problem in self.duplicate:
            print(f"  REFUSED   {workflow_id}: {problem}", file=out)
        for workflow_id, problem in self.failed:
            print(f"  FAILED    {workflow_id}: {problem}", file=out)
        print(self.describe(), file=out)


async def register_all(
    client: Client,
    task_queue: str,
    entries: Sequence[RegistrationEntry],
    *,
    hash_key: bytes | None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> RegisterReport:
    """:func:`register` each entry, ``concurrency`` at a time; a failure is reported with its
    đề án and the others go on."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(entry: RegistrationEntry) -> Registered:
        async with semaphore:
            try:
                return await register(client, task_queue, entry, hash_key=hash_key)
            except Exception as exc:  # report, and let the other starts go on
                return Registered(entry.workflow_id, Outcome.FAILED, f"{type(exc).__name__}: {exc}")

    report = RegisterReport()
    for answer in await asyncio.gather(*(one(e) for e in entries)):
        if answer.outcome is Outcome.STARTED:
            report.started.append(answer.workflow_id)
        elif answer.outcome is Outcome.EXISTING:
            report.existing.append(answer.workflow_id)
        elif answer.outcome is Outcome.DUPLICATE:
            report.duplicate.append((answer.workflow_id, answer.message))
        else:
            report.failed.append((answer.workflow_id, answer.message))
    return report


__all__ = [
    "DE_AN_WORKFLOW",
    "FINGERPRINT_MEMO",
    "ID_CONFLICT_POLICY",
    "ID_REUSE_POLICY",
    "REFUSED_REUSE_POLICY",
    "DuplicateCode",
    "Outcome",
    "RegisterReport",
    "Registered",
    "RegistrationEntry",
    "RegistrationRefused",
    "fingerprint",
    "mask_tax_code",
    "register",
    "register_all",
    "register_and_wait",
    "registered_update_id",
    "static_details",
    "static_summary",
]
