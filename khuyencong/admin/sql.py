"""The admin client's SQL: the read model and the inbox view (the officials register's
statements are :mod:`db.officials`'s)."""

from __future__ import annotations

from db.officials import (
    DEACTIVATE_OFFICIAL,
    INSERT_OFFICIAL,
    LIST_OFFICIALS,
    OFFICIAL_COLUMNS,
    SEED_OFFICIAL,
    SELECT_OFFICIAL,
    UPDATE_OFFICIAL,
)

__all__ = [
    "DEACTIVATE_OFFICIAL",
    "INSERT_OFFICIAL",
    "LIST_OFFICIALS",
    "OFFICIAL_COLUMNS",
    "SEED_OFFICIAL",
    "SELECT_OFFICIAL",
    "UPDATE_OFFICIAL",
]
"""The officials register's statements live in its repository, :mod:`db.officials`."""

OPEN_WORKFLOWS = """
SELECT workflow_id FROM de_an WHERE stage NOT IN ('closed', 'rejected') ORDER BY de_an_id
"""

DE_AN_COLUMNS = """
    de_an_id, workflow_id, code, title, level, province, district, commune, content_area,
    support_item, beneficiary_name, plan_year, stage, requested_support, approved_support,
    contracted_support, advanced, paid, refund_owed, refunded, payments_on_hold, overdue,
    rule_pack_id, created_at, updated_at, address, schedule_start, schedule_end
"""

SELECT_DE_AN_COLUMNS = f"SELECT {DE_AN_COLUMNS} FROM de_an"

SELECT_DE_AN = f"{SELECT_DE_AN_COLUMNS} WHERE de_an_id = $1"

SELECT_REQUESTED = "SELECT de_an_id, requested_support FROM de_an WHERE de_an_id = ANY($1::text[])"

DISTINCT_PROVINCES = "SELECT DISTINCT province FROM de_an"

SELECT_TIMELINE = """
SELECT seq, occurred_at, business_date, action, stage_from, stage_to, actor_official_id,
       actor_name, actor_role, actor_organisation, decision_number, summary
FROM de_an_event
WHERE de_an_id = $1
ORDER BY seq, id
"""

SELECT_MISSED_DEADLINES = """
SELECT deadline_kind, ref, due_date, citation
FROM notification
WHERE de_an_id = $1 AND kind = 'deadline_missed'
ORDER BY due_date, id
"""

_INBOX = """
SELECT i.code, i.workflow_id, i.title, i.level, i.province, i.stage, i.waiting_since,
       i.overdue, i.payments_on_hold, i.approved_support, i.paid, i.refund_owed,
       i.group_project, i.registered_by, i.appraised_by, i.approved_by, i.settled_by,
       i.last_requested_by, i.open_requests, i.settlement_dossier_submitted,
       i.unconfirmed_reports, i.reported_months, i.open_findings, EXISTS (
    SELECT 1 FROM de_an_event s WHERE s.de_an_id = i.de_an_id AND s.action = 'stop'
) AS stopped, (
    SELECT r.business_date FROM de_an_event r
    WHERE r.de_an_id = i.de_an_id AND r.action = 'register'
    ORDER BY r.seq DESC, r.id DESC
    LIMIT 1
) AS registered_on
FROM de_an_inbox i
WHERE (i.level || ':' || i.stage) = ANY($1::text[])
"""
"""The inbox view's columns the inbox reads, whether the đề án was stopped (its unpaid advance requests lapsed) and
its registration date (the unit it was registered in is the one in force then: jurisdiction
follows its successor). The view's ``open_requests`` leaves out requests lapsed by a stop or a
cut of support (``advance_request.lapsed_on``, migration 0008).

``$1`` is the ``level:stage`` pairs in which the official's role may act at all
(:func:`khuyencong.admin.inbox.acting_stages`): the others wait for nobody of that role, and
the view's per-đề án subqueries are not run for them."""

INBOX_ALL = f"{_INBOX} ORDER BY waiting_since, code"

# Provincial officials see their province's đề án; finance of a province may not act on
# national ones, but the rules decide that (a province's Sở supervises national đề án there).
INBOX_IN_PROVINCES = f"""
{_INBOX} AND i.province = ANY($2::text[]) ORDER BY waiting_since, code
"""

# The k-th of an action without a paper of its own answers the k-th entry into a stage (a
# resubmission: a return) or the k-th step of an action (a resolution: a visit); see
# ActionDefinition.answers in workflows/de_an_actions.py.
COUNT_ENTERED = "SELECT count(*) FROM de_an_event WHERE de_an_id = $1 AND stage_to = $2"
COUNT_TAKEN = "SELECT count(*) FROM de_an_event WHERE de_an_id = $1 AND action = $2"
