-- Advance requests that lapsed unpaid: with the stop (stop-lapses-advances-v1) or with a cut
-- of support that left them above the new advance ceiling (cut-lapses-advances-v1). The step
-- that lapses them names them in its details (``lapsed_advances``) and its write marks the
-- rows in the same transaction (db/de_an.py, LAPSE_ADVANCE_REQUESTS), so the inbox no longer
-- offers to pay a lapsed request nor counts it as open (a new request within the room left
-- is possible after a cut).

ALTER TABLE advance_request
    ADD COLUMN lapsed_on date,
    ADD COLUMN lapse_key text REFERENCES de_an_event (idempotency_key);

COMMENT ON COLUMN advance_request.lapsed_on IS
    'The request lapsed unpaid that day (a stop, or a cut of support below it); never paid';
COMMENT ON COLUMN advance_request.lapse_key IS
    'The step (de_an_event) whose decision lapsed the request';

-- Requests lapsed by steps written before this migration (stops since the rule).
UPDATE advance_request r
SET lapsed_on = e.business_date,
    lapse_key = e.idempotency_key
FROM de_an_event e
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(e.details -> 'lapsed_advances') = 'array'
         THEN e.details -> 'lapsed_advances' ELSE '[]'::jsonb END
) l
WHERE e.de_an_id = r.de_an_id
  AND e.action IN ('stop', 'adjust')
  AND (l ->> 'request_no')::integer = r.request_no
  AND r.lapsed_on IS NULL;

-- de_an_inbox: open_requests leaves the lapsed requests out (otherwise as in 0002, with the
-- columns de_an gained since).
DROP VIEW de_an_inbox;

CREATE VIEW de_an_inbox AS
SELECT
    d.*,
    COALESCE(e.waiting_since, d.updated_at) AS waiting_since,
    COALESCE((
        SELECT (x.details -> 'dossier' ->> 'group_project')::boolean
        FROM de_an_event x
        WHERE x.de_an_id = d.de_an_id AND x.action IN ('register', 'resubmit')
        ORDER BY x.seq DESC, x.id DESC
        LIMIT 1
    ), false) AS group_project,
    e.registered_by,
    e.appraised_by,
    e.approved_by,
    e.settled_by,
    (
        SELECT x.actor_official_id
        FROM de_an_event x
        WHERE x.de_an_id = d.de_an_id AND x.action = 'request_advance'
        ORDER BY x.seq DESC, x.id DESC
        LIMIT 1
    ) AS last_requested_by,
    GREATEST(e.requests - e.advance_payments - (
        SELECT count(*) FROM advance_request r
        WHERE r.de_an_id = d.de_an_id AND r.lapsed_on IS NOT NULL
    ), 0) AS open_requests,
    e.settlement_dossiers > 0 AS settlement_dossier_submitted,
    EXISTS (
        SELECT 1 FROM progress_report p
        WHERE p.de_an_id = d.de_an_id AND p.confirmed_by IS NULL
    ) AS unconfirmed_reports,
    ARRAY(
        SELECT p.month FROM progress_report p WHERE p.de_an_id = d.de_an_id ORDER BY p.month
    ) AS reported_months,
    (
        d.payments_on_hold
        OR EXISTS (
            SELECT 1 FROM de_an_event v
            WHERE v.de_an_id = d.de_an_id
              AND v.action = 'record_visit'
              AND jsonb_typeof(v.details -> 'findings') = 'array'
              AND EXISTS (
                  SELECT 1 FROM jsonb_array_elements_text(v.details -> 'findings') f
                  WHERE btrim(f) <> ''
              )
              AND v.seq > COALESCE(e.last_resolution_seq, -1)
        )
    ) AS open_findings
FROM de_an d
CROSS JOIN LATERAL (
    SELECT
        max(x.occurred_at) FILTER (WHERE x.action <> 'deadline_missed') AS waiting_since,
        array_agg(DISTINCT x.actor_official_id)
            FILTER (WHERE x.action = 'register' AND x.actor_official_id IS NOT NULL)
            AS registered_by,
        array_agg(DISTINCT x.actor_official_id)
            FILTER (WHERE x.action = 'appraise' AND x.actor_official_id IS NOT NULL)
            AS appraised_by,
        array_agg(DISTINCT x.actor_official_id)
            FILTER (WHERE x.action = 'approve' AND x.actor_official_id IS NOT NULL)
            AS approved_by,
        array_agg(DISTINCT x.actor_official_id)
            FILTER (WHERE x.action = 'settle' AND x.actor_official_id IS NOT NULL)
            AS settled_by,
        count(*) FILTER (WHERE x.action = 'request_advance') AS requests,
        count(*) FILTER (WHERE x.action = 'pay_advance') AS advance_payments,
        count(*) FILTER (WHERE x.action = 'submit_settlement_dossier') AS settlement_dossiers,
        max(x.seq) FILTER (WHERE x.action = 'resolve_findings') AS last_resolution_seq
    FROM de_an_event x
    WHERE x.de_an_id = d.de_an_id
) e
WHERE d.stage NOT IN ('closed', 'rejected');

COMMENT ON VIEW de_an_inbox IS
    'Open đề án with what the admin tool''s inbox needs (waiting_since, participants for '
    'four-eyes, pending requests and reports); derived from de_an, de_an_event and advance_request (lapsed requests are not open).';
