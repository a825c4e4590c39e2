-- 0004_plan_commitments: a plan's commitments follow its đề án between checkpoints.
--
-- An adjustment decision that raises or lowers an approved đề án's support moves its
-- commitment in the plan's envelope (one row per decision), and a đề án that settles or closes
-- releases what it did not use as soon as it says so, not at the next checkpoint.

CREATE TABLE plan_commitment_change (
    idempotency_key    text        PRIMARY KEY,                 -- {plan}:{code}:commitment:{number}
    plan_id            text        NOT NULL REFERENCES plan (plan_id),
    de_an_id           text        NOT NULL,
    decision_number    text        NOT NULL,
    decision_date      date        NOT NULL,
    committed_before   bigint      NOT NULL CHECK (committed_before >= 0),
    committed_after    bigint      NOT NULL CHECK (committed_after >= 0),
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_commitment_change_plan_idx ON plan_commitment_change (plan_id, de_an_id);

-- A release made on the đề án's signal names no checkpoint.
ALTER TABLE plan_release ALTER COLUMN checkpoint_key DROP NOT NULL;
ALTER TABLE plan_release ADD COLUMN released_at timestamptz;
