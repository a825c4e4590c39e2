"""Domain refusals: a rule said no.

A :class:`Refusal` names the rule (a stable ``code`` scripts can match on), the field at
fault, a message in Vietnamese for officials and, where one exists, the legal basis. The
workflow turns it into a non-retryable Temporal ``ApplicationError`` whose ``type`` is the
code, so the same refusal reads the same in the CLI, the UI and the history.
"""

from __future__ import annotations

from dataclasses import dataclass


class RefusalCode:
    """Stable names of refusals, the one catalogue: the đề án's rules, the annual plan's
    (:mod:`workflows.plan_rules`) and the proven identity's. Never rename one: scripts and
    histories depend on them."""

    WRONG_STAGE = "WrongStage"
    WRONG_AUTHORITY = "WrongAuthority"
    WRONG_JURISDICTION = "WrongJurisdiction"
    FOUR_EYES = "FourEyesViolation"
    SUPPORT_OVER_CAP = "SupportOverCap"
    SUPPORT_OVER_REQUEST = "SupportOverRequest"
    COUNTERPART_TOO_LOW = "CounterpartTooLow"
    ADVANCE_NOT_ALLOWED = "AdvanceNotAllowed"
    ADVANCE_OVER_LIMIT = "AdvanceOverLimit"
    PAID_OVER_APPROVED = "PaidOverApproved"
    PAYMENTS_ON_HOLD = "PaymentsOnHold"
    INVALID_FIELD = "InvalidField"
    DUPLICATE = "Duplicate"
    NO_RULE_PACK = "NoRulePack"
    INACTIVE_OFFICIAL = "InactiveOfficial"
    BUSY = "DeAnBusy"
    """Not a rule: the đề án is registering or recording another action. Nothing was judged;
    the admin client sends the action again a moment later."""
    NOT_STORED = "NotStored"
    """The database could not hold a value of an accepted action (the workflow is unchanged)."""
    ADVANCE_LAPSED = "AdvanceLapsed"
    DECISION_NUMBER_REUSED = "DecisionNumberReused"
    CONFLICT_OF_INTEREST = "ConflictOfInterest"
    """A member of the appraisal council is tied to the beneficiary (domain.councils)."""
    # proven identity (khuyencong.identity): checked before the workflow's own rules
    IDENTITY_NOT_PROVEN = "IdentityNotProven"
    IDENTITY_EXPIRED = "IdentityExpired"
    IDENTITY_MISMATCH = "IdentityMismatch"
    OFFICIAL_UNKNOWN = "OfficialUnknown"
    # the annual plan (workflows.plan_rules), met by a đề án's approval and adjustment too
    INTAKE_CLOSED = "IntakeClosed"
    ENVELOPE_EXCEEDED = "EnvelopeExceeded"
    NOT_IN_PLAN = "NotInPlan"
    WRONG_PLAN = "WrongPlan"
    ALREADY_DECIDED = "AlreadyDecided"
    COMMITMENT_CLOSED = "CommitmentClosed"
    PLAN_CLOSED = "PlanClosed"
    PLAN_UNAVAILABLE = "PlanUnavailable"
    """The plan did not answer an adjustment's change of commitment in time."""
    PLAN_REFUSED = "PlanRefused"
    """The plan refused a change of commitment without naming its rule."""

    ALL = (
        WRONG_STAGE,
        WRONG_AUTHORITY,
        WRONG_JURISDICTION,
        FOUR_EYES,
        SUPPORT_OVER_CAP,
        SUPPORT_OVER_REQUEST,
        COUNTERPART_TOO_LOW,
        ADVANCE_NOT_ALLOWED,
        ADVANCE_OVER_LIMIT,
        PAID_OVER_APPROVED,
        PAYMENTS_ON_HOLD,
        INVALID_FIELD,
        DUPLICATE,
        NO_RULE_PACK,
        INACTIVE_OFFICIAL,
        BUSY,
        NOT_STORED,
        ADVANCE_LAPSED,
        DECISION_NUMBER_REUSED,
        CONFLICT_OF_INTEREST,
        IDENTITY_NOT_PROVEN,
        IDENTITY_EXPIRED,
        IDENTITY_MISMATCH,
        OFFICIAL_UNKNOWN,
        INTAKE_CLOSED,
        ENVELOPE_EXCEEDED,
        NOT_IN_PLAN,
        WRONG_PLAN,
        ALREADY_DECIDED,
        COMMITMENT_CLOSED,
        PLAN_CLOSED,
        PLAN_UNAVAILABLE,
        PLAN_REFUSED,
    )


@dataclass(frozen=True)
class Refusal(Exception):
    """A business rule refused an action. Nothing was changed."""

    code: str
    message: str
    field: str | None = None
    legal_basis: str | None = None

    def __str__(self) -> str:
        parts = [f"[{self.code}] {self.message}"]
        if self.field:
            parts.append(f"trường: {self.field}")
        if self.legal_basis:
            parts.append(f"căn cứ: {self.legal_basis}")
        return " — ".join(parts)

    def as_details(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "legal_basis": self.legal_basis,
        }
