-- The table of the hypothetical action record_inspection (tests/workflows/example_actions):
-- what would be migrations/00NN_inspection.sql. The three columns every row written by the
-- generic insert has (workflows.de_an_rows.InsertedRow), then one per field of InspectionRow.
CREATE TABLE IF NOT EXISTS inspection (
    idempotency_key text PRIMARY KEY,
    de_an_id        text NOT NULL REFERENCES de_an (de_an_id),
    official_id     text,
    topic           text NOT NULL,
    inspected_on    date NOT NULL,
    minutes_number  text NOT NULL,
    compliant       boolean NOT NULL,
    conclusion      text NOT NULL DEFAULT ''
);
