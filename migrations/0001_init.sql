-- 0001_init: the read model of đề án khuyến công, the append-only event log, and one
-- detail table per kind of fact.
--
-- The workflow is the source of truth; these tables are what it writes through activities.
-- Every write is keyed by an idempotency key built from business identity
-- ("{de_an}:{action}:{ref}"), so a retried activity never writes a fact twice.
-- Money is whole đồng in bigint, never negative.

-- ---------------------------------------------------------------------------------------
-- de_an: one row per đề án, the latest snapshot (ordered by seq)
-- ---------------------------------------------------------------------------------------

CREATE TABLE de_an (
    de_an_id           text        PRIMARY KEY,
    workflow_id        text        NOT NULL,
    seq                integer     NOT NULL CHECK (seq >= 0),   -- steps applied; orders snapshots
    code               text        NOT NULL,
    title              text        NOT NULL,
    level              text        NOT NULL,                    -- quoc_gia | dia_phuong
    province           text        NOT NULL,
    district           text,
    commune            text,
    content_area       text        NOT NULL,
    support_item       text        NOT NULL,
    beneficiary_name   text        NOT NULL,
    beneficiary_type   text        NOT NULL,
    plan_year          integer     NOT NULL,
    stage              text        NOT NULL,
    requested_support  bigint      NOT NULL DEFAULT 0 CHECK (requested_support >= 0),
    approved_support   bigint      NOT NULL DEFAULT 0 CHECK (approved_support >= 0),
    contracted_support bigint      NOT NULL DEFAULT 0 CHECK (contracted_support >= 0),
    advanced           bigint      NOT NULL DEFAULT 0 CHECK (advanced >= 0),
    paid               bigint      NOT NULL DEFAULT 0 CHECK (paid >= 0),  -- all money out
    refund_owed        bigint      NOT NULL DEFAULT 0 CHECK (refund_owed >= 0),
    refunded           bigint      NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    payments_on_hold   boolean     NOT NULL DEFAULT false,
    overdue            boolean     NOT NULL DEFAULT false,
    rule_pack_id       text,                                    -- fixed at approval
    created_at         timestamptz NOT NULL,                    -- occurred_at of the first step stored
    updated_at         timestamptz NOT NULL,                    -- occurred_at of the step shown

    -- `paid` is all money out: paid advances plus the settlement payout.
    CONSTRAINT de_an_paid_within_approved CHECK (paid <= approved_support),
    CONSTRAINT de_an_advanced_within_paid CHECK (advanced <= paid)
);

COMMENT ON TABLE de_an IS
    'Read model: the latest snapshot of each đề án. Written only by the workflow activities; '
    'a snapshot replaces the row only when its seq is higher.';

CREATE INDEX de_an_listing_idx ON de_an (plan_year, level, province, stage);
CREATE INDEX de_an_stage_idx ON de_an (stage);
CREATE INDEX de_an_overdue_idx ON de_an (overdue) WHERE overdue;

-- ---------------------------------------------------------------------------------------
-- de_an_event: append-only log, one row per applied step
-- ---------------------------------------------------------------------------------------

CREATE TABLE de_an_event (
    id                 bigserial   PRIMARY KEY,
    idempotency_key    text        NOT NULL UNIQUE,
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    seq                integer     NOT NULL CHECK (seq >= 0),   -- seq of the snapshot after the step
    action             text        NOT NULL,
    stage_from         text        NOT NULL,
    stage_to           text        NOT NULL,
    actor_official_id  text,                                    -- null for system steps (deadlines)
    actor_name         text,
    actor_role         text,
    actor_organisation text,
    actor_province     text,
    occurred_at        timestamptz NOT NULL,
    business_date      date        NOT NULL,
    decision_number    text,
    summary            text        NOT NULL,
    details            jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- the command payload
    recorded_at        timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE de_an_event IS
    'Append-only history of each đề án: UPDATE, DELETE and TRUNCATE are refused by triggers.';

CREATE INDEX de_an_event_de_an_idx ON de_an_event (de_an_id, occurred_at, id);

CREATE FUNCTION de_an_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'de_an_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a correcting step instead of changing history.';
END;
$$;

CREATE TRIGGER de_an_event_no_update_or_delete
    BEFORE UPDATE OR DELETE ON de_an_event
    FOR EACH ROW EXECUTE FUNCTION de_an_event_append_only();

CREATE TRIGGER de_an_event_no_truncate
    BEFORE TRUNCATE ON de_an_event
    FOR EACH STATEMENT EXECUTE FUNCTION de_an_event_append_only();

-- ---------------------------------------------------------------------------------------
-- Detail tables: one row per fact, keyed by the idempotency key of the step that made it
-- ---------------------------------------------------------------------------------------

-- Thẩm định (appraise)
CREATE TABLE appraisal (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    round              text        NOT NULL CHECK (round IN ('co_so', 'bo', 'tinh')),
    verdict            text        NOT NULL CHECK (verdict IN ('pass', 'return', 'fail')),
    minutes_number     text        NOT NULL,                    -- số biên bản thẩm định
    by_council         boolean     NOT NULL DEFAULT false,
    appraised_on       date        NOT NULL,
    official_id        text,
    reason             text        NOT NULL DEFAULT ''
);
CREATE INDEX appraisal_de_an_idx ON appraisal (de_an_id);

-- Quyết định: phê duyệt, không phê duyệt, điều chỉnh, ngừng thực hiện
CREATE TABLE decision (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    kind               text        NOT NULL CHECK (kind IN ('approve', 'reject', 'adjust', 'stop')),
    number             text        NOT NULL,                    -- số quyết định, e.g. 427/QĐ-UBND
    decision_date      date        NOT NULL,
    signer             text,
    official_id        text,
    amount             bigint      CHECK (amount >= 0),         -- approved or new support, if any
    details            jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX decision_de_an_idx ON decision (de_an_id);

-- Hợp đồng (sign_contract)
CREATE TABLE contract (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    number             text        NOT NULL,
    signed_on          date        NOT NULL,
    contracted_support bigint      NOT NULL CHECK (contracted_support >= 0),
    via_bidding        boolean     NOT NULL DEFAULT false,
    official_id        text
);
CREATE INDEX contract_de_an_idx ON contract (de_an_id);

-- Báo cáo tiến độ tháng (report_progress); confirm_progress fills the confirmation columns.
CREATE TABLE progress_report (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    month              text        NOT NULL CHECK (month ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    investment_done_bp integer     NOT NULL CHECK (investment_done_bp BETWEEN 0 AND 10000),
    spent_cost         bigint      NOT NULL CHECK (spent_cost >= 0),
    reported_on        date        NOT NULL,
    reported_by        text,
    confirmed_by       text,                                    -- official_id of the Sở
    confirmed_on       date,
    confirm_key        text        REFERENCES de_an_event (idempotency_key),
    CONSTRAINT progress_report_confirmed_together
        CHECK ((confirmed_by IS NULL) = (confirmed_on IS NULL))
);
CREATE INDEX progress_report_de_an_idx ON progress_report (de_an_id, month);

-- Kiểm tra, giám sát (record_visit)
CREATE TABLE monitoring_visit (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    visited_on         date        NOT NULL,
    minutes_number     text        NOT NULL,
    findings           jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- list of findings (text)
    hold_payments      boolean     NOT NULL DEFAULT false,
    official_id        text
);
CREATE INDEX monitoring_visit_de_an_idx ON monitoring_visit (de_an_id);

-- Đề nghị tạm ứng (request_advance)
CREATE TABLE advance_request (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    request_no         integer     NOT NULL CHECK (request_no >= 1),
    amount             bigint      NOT NULL CHECK (amount >= 0),
    requested_on       date        NOT NULL,
    requested_by       text,
    CONSTRAINT advance_request_no_unique UNIQUE (de_an_id, request_no)
);

-- Money moved: advance or settlement paid out, refund received. The idempotency key is the
-- payment's own key ({de_an}:payment:...), so a payment is stored once even if the step that
-- carries it is retried under another step key.
CREATE TABLE payment (
    id                 bigserial   PRIMARY KEY,
    idempotency_key    text        NOT NULL UNIQUE,
    event_key          text        NOT NULL UNIQUE REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    kind               text        NOT NULL CHECK (kind IN ('advance', 'settlement', 'refund')),
    amount             bigint      NOT NULL CHECK (amount > 0),
    paid_on            date        NOT NULL,
    voucher_number     text        NOT NULL,                    -- số chứng từ
    official_id        text,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_de_an_idx ON payment (de_an_id, paid_on);

-- Nghiệm thu cơ sở (accept)
CREATE TABLE acceptance (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    minutes_number     text        NOT NULL,
    accepted_on        date        NOT NULL,
    accepted_cost      bigint      NOT NULL CHECK (accepted_cost >= 0),
    accepted_volume_bp integer     NOT NULL CHECK (accepted_volume_bp BETWEEN 0 AND 10000),
    force_majeure      boolean     NOT NULL DEFAULT false,
    official_id        text
);
CREATE INDEX acceptance_de_an_idx ON acceptance (de_an_id);

-- Quyết toán (settle): the numbers the workflow computed from the rule pack.
CREATE TABLE settlement (
    idempotency_key    text        PRIMARY KEY REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    number             text        NOT NULL,
    settled_on         date        NOT NULL,
    disallowed_cost    bigint      NOT NULL DEFAULT 0 CHECK (disallowed_cost >= 0),
    eligible_cost      bigint      NOT NULL CHECK (eligible_cost >= 0),
    rate_bp            integer     NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    cap                bigint      CHECK (cap >= 0),            -- null: no cap
    final_support      bigint      NOT NULL CHECK (final_support >= 0),
    payout             bigint      NOT NULL CHECK (payout >= 0),
    refund_owed        bigint      NOT NULL CHECK (refund_owed >= 0),
    official_id        text
);
CREATE INDEX settlement_de_an_idx ON settlement (de_an_id);

-- Notifications for people: a missed deadline, for now.
CREATE TABLE notification (
    id                 bigserial   PRIMARY KEY,
    idempotency_key    text        NOT NULL UNIQUE REFERENCES de_an_event (idempotency_key),
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    kind               text        NOT NULL,                    -- e.g. deadline_missed
    deadline_kind      text,                                    -- progress_report | settlement_dossier | settlement
    ref                text,
    due_date           date,
    citation           text,
    message            text        NOT NULL,
    created_at         timestamptz NOT NULL,
    read_at            timestamptz
);
CREATE INDEX notification_unread_idx ON notification (de_an_id, created_at) WHERE read_at IS NULL;
