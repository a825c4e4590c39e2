-- 0002_officials: the officials register of the admin tool, and the inbox view.
--
-- An official is who acts on a đề án: the CLI (and any internal tool built on
-- khuyencong.admin.AdminClient) loads the acting official from here and sends them in every
-- action. The workflow's validators stay the one choke point: deactivating an official sets
-- `active = false` here *and* signals `official_deactivated` to every open đề án.

-- ---------------------------------------------------------------------------------------
-- officials: who may act (role, organisation, jurisdiction), and whether they still may
-- ---------------------------------------------------------------------------------------

CREATE TABLE officials (
    id                  text        PRIMARY KEY
                                    CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    full_name           text        NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
    organisation        text        NOT NULL CHECK (length(btrim(organisation)) BETWEEN 1 AND 200),
    role                text        NOT NULL CHECK (role IN (
                                        'trung_tam', 'so_cong_thuong', 'cuc', 'bo_truong',
                                        'ubnd_tinh', 'tai_chinh')),
    province            text,                                   -- jurisdiction; null: central
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deactivated_at      timestamptz,
    deactivation_reason text        NOT NULL DEFAULT '',

    CONSTRAINT officials_deactivated_when_inactive CHECK (active = (deactivated_at IS NULL)),
    -- ministry roles have no province; provincial bodies must have one; finance may be either
    -- (provincial finance pays local đề án, the agency's finance national ones).
    CONSTRAINT officials_province_fits_role CHECK (
        (role IN ('cuc', 'bo_truong') AND province IS NULL)
        OR (role IN ('trung_tam', 'so_cong_thuong', 'ubnd_tinh') AND province IS NOT NULL)
        OR role = 'tai_chinh'
    )
);

COMMENT ON TABLE officials IS
    'Officials who act on đề án. Deactivation is final: the workflows are told by the signal '
    'official_deactivated and refuse the official''s actions from then on.';

CREATE INDEX officials_role_province_idx ON officials (role, province) WHERE active;

-- ---------------------------------------------------------------------------------------
-- de_an_inbox: every open đề án with what the inbox needs to know what waits, and since when
-- ---------------------------------------------------------------------------------------
-- Derived from the read model and the event log only (the activities write nothing new):
--   waiting_since   the last step a person took (missed deadlines do not reset the wait)
--   group_project   from the dossier registered (or resubmitted) last: adjustment routing
--   registered_by / appraised_by / approved_by / settled_by / last_requested_by
--                   officials who took part, for four-eyes
--   open_requests   advance requests not paid yet
--   unconfirmed_reports, reported_months, settlement_dossier_submitted, open_findings

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
    GREATEST(e.requests - e.advance_payments, 0) AS open_requests,
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
    'four-eyes, pending requests and reports); derived from de_an and de_an_event.';
