-- 0005_decisions_and_site: one decision number, one decision; the current site and dates.
--
-- decision_register: one row per decision number (per issuing scope and year), written by the
-- step that first records the number (approve, reject, adjust, stop) in the same transaction
-- as its event. A later step naming the same number must name the same date (and signer, when
-- both are known): otherwise the activity refuses it (DecisionNumberReused) and the whole
-- step is rolled back, so the đề án's state stays as it was. Decisions recorded before this
-- migration are not in the register.

CREATE TABLE decision_register (
    scope              text        NOT NULL,    -- quoc_gia | dia_phuong:<province key>
    year               integer     NOT NULL,    -- numbering restarts each year
    number_key         text        NOT NULL,    -- number in NFC, no spaces, upper case
    number             text        NOT NULL,    -- as first written
    decision_date      date        NOT NULL,
    signer             text,                    -- known for approvals (null: not given)
    first_key          text        NOT NULL REFERENCES de_an_event (idempotency_key),
    first_de_an        text        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, year, number_key)
);

COMMENT ON TABLE decision_register IS
    'One row per decision number: the date and signer every đề án naming it must share.';

-- The site and dates of a đề án as its adjustments left them (change_site, change_timing).
ALTER TABLE de_an ADD COLUMN address text;
ALTER TABLE de_an ADD COLUMN schedule_start date;
ALTER TABLE de_an ADD COLUMN schedule_end date;
