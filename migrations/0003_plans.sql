-- 0003_plans: annual khuyến công plans (kế hoạch khuyến công năm N), written by the
-- KeHoachWorkflow activities, and the indexes the reports use.
--
-- Every write is keyed by business identity and inserted ON CONFLICT DO NOTHING, one
-- transaction per write, so a retried activity never writes a fact twice.

CREATE TABLE plan (
    plan_id            text        PRIMARY KEY,                 -- ke-hoach/{level}/{province}/{year}
    province           text        NOT NULL,
    level              text        NOT NULL CHECK (level IN ('quoc_gia', 'dia_phuong')),
    year               integer     NOT NULL,
    envelope           bigint      NOT NULL CHECK (envelope >= 0),
    intake_closes_on   date        NOT NULL,
    checkpoints        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_year_idx ON plan (year, province, level);

-- One row per đề án registered into a plan. The dossier figures the read model does not
-- carry (counterpart funds, total cost) are kept here for the reports.
CREATE TABLE plan_item (
    de_an_id           text        PRIMARY KEY,                 -- = đề án code
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    plan_year          integer     NOT NULL,
    requested_support  bigint      NOT NULL CHECK (requested_support >= 0),
    counterpart_funds  bigint      NOT NULL CHECK (counterpart_funds >= 0),
    total_cost         bigint      NOT NULL CHECK (total_cost >= 0),
    registered_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_item_plan_idx ON plan_item (plan_id);
CREATE INDEX plan_item_year_idx ON plan_item (plan_year) INCLUDE (de_an_id, counterpart_funds);

CREATE TABLE plan_decision (
    idempotency_key    text        PRIMARY KEY,                 -- {plan}:decision:{number}
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    number             text        NOT NULL,
    decision_date      date        NOT NULL,
    signer             text        NOT NULL,
    official_id        text        NOT NULL,
    approved           integer     NOT NULL,
    refused            integer     NOT NULL,
    rejected           integer     NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);

-- The verdict of one đề án in one decision.
CREATE TABLE plan_verdict (
    idempotency_key    text        PRIMARY KEY,                 -- {plan}:{code}:verdict:{number}
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    de_an_id           text        NOT NULL,
    decision_number    text        NOT NULL,
    verdict            text        NOT NULL CHECK (verdict IN ('approve', 'reject')),
    status             text        NOT NULL CHECK (status IN ('approved', 'refused', 'rejected')),
    approved_support   bigint      NOT NULL DEFAULT 0 CHECK (approved_support >= 0),
    refused_by_plan    boolean     NOT NULL DEFAULT false,
    error_type         text,
    message            text        NOT NULL DEFAULT ''
);
CREATE INDEX plan_verdict_plan_idx ON plan_verdict (plan_id, de_an_id);

-- What a settled or closed đề án did not use, given back to the envelope once.
CREATE TABLE plan_release (
    idempotency_key    text        PRIMARY KEY,                 -- {plan}:{code}:release
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    de_an_id           text        NOT NULL UNIQUE,
    amount             bigint      NOT NULL CHECK (amount >= 0),
    committed          bigint      NOT NULL CHECK (committed >= 0),
    final_support      bigint      NOT NULL CHECK (final_support >= 0),
    stage              text        NOT NULL,
    checkpoint_key     text        NOT NULL
);

CREATE TABLE plan_checkpoint (
    idempotency_key    text        PRIMARY KEY,                 -- {plan}:checkpoint:{key}
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    key                text        NOT NULL,
    label              text        NOT NULL,
    on_date            date        NOT NULL,
    kind               text        NOT NULL,
    recorded_at        timestamptz NOT NULL,
    approved_count     integer     NOT NULL,
    done_count         integer     NOT NULL,
    done_bp            integer     NOT NULL CHECK (done_bp BETWEEN 0 AND 10000),
    envelope           bigint      NOT NULL,
    committed          bigint      NOT NULL,
    approved_support   bigint      NOT NULL,
    advanced           bigint      NOT NULL,
    paid               bigint      NOT NULL,
    refunded           bigint      NOT NULL,
    behind_count       integer     NOT NULL,
    record             jsonb       NOT NULL                     -- the whole CheckpointRecord
);
CREATE INDEX plan_checkpoint_plan_idx ON plan_checkpoint (plan_id, on_date);

-- Reports: one covering index so the aggregates over any range of years read the index only
-- (no heap, no full scan of the table).
CREATE INDEX de_an_report_idx ON de_an (plan_year, level, province, district, content_area,
                                       beneficiary_type, stage)
    INCLUDE (de_an_id, requested_support, approved_support, advanced, paid, refunded);
