-- 0009_audit_chain: a tamper-evident record of every đề án, its evidence documents, and its
-- Temporal history exported at close.
--
-- The chain. Every row of de_an_event (a step) and of de_an_document (a document attached to
-- a step) is a link of two chains:
--   * the chain of its đề án: chain_seq = 1, 2, ... over both tables, prev_hash = chain_hash
--     of the previous link of the same đề án (64 zeros for the first);
--   * the chain of its day (recorded_at in Vietnam's time zone) over all đề án: day_seq,
--     day_prev_hash, day_hash. Publishing a day's last day_hash (khuyencong audit verify
--     prints it) anchors everything recorded that day.
--   content_hash = sha256(canonical content), the canonical content being the row's columns
--   (chain_seq included, id and the hashes excluded) as the text of a jsonb object;
--   chain_hash = sha256(prev_hash || content_hash), day_hash = sha256(day_prev_hash ||
--   content_hash), hashes as lower-case hex and concatenated as text.
-- The links are made by a BEFORE INSERT trigger (zz_audit_chain: it fires after every other
-- BEFORE INSERT trigger, so it hashes the row as stored): the writers are unchanged. It locks
-- the day's head row, then the đề án's (audit_chain_head), so concurrent writers queue and
-- never fork a chain. A retried write (INSERT ... ON CONFLICT DO NOTHING of a key already
-- stored) finds its row after the lock and leaves the chain as it was: PostgreSQL runs
-- BEFORE triggers before it detects the conflict.
-- khuyencong audit verify recomputes every hash in Python from the columns
-- (khuyencong/audit/chain.py builds the same canonical text) and names the first broken link:
-- an edited row (its content no longer matches its content_hash), a deleted one (a gap in
-- chain_seq, or a head longer than the chain) or a reordered one (a prev_hash that is not the
-- previous link's chain_hash).
--
-- Append-only. UPDATE, DELETE and TRUNCATE of de_an_event (0001), de_an_document and
-- de_an_history are refused by triggers, whoever asks. The migration also makes a NOLOGIN role
-- khuyencong_writer (when the migrating user may create roles) that may read and write the
-- application's tables but only INSERT into those three, and not touch audit_chain_head or
-- schema_migrations; the chain's trigger functions are SECURITY DEFINER, so the writer needs
-- no right on the heads. An operator runs the worker and the admin tool as a login role in
-- that group and keeps the owner (who runs `khuyencong migrate`) for migrations:
--     CREATE ROLE khuyencong_app LOGIN PASSWORD '…' IN ROLE khuyencong_writer;
-- The embedded PostgreSQL of `khuyencong dev` and of the tests connects as its superuser:
-- there only the triggers hold, and a superuser can disable them (which the chain exposes).

-- ---------------------------------------------------------------------------------------
-- Heads of the chains
-- ---------------------------------------------------------------------------------------

CREATE TABLE audit_chain_head (
    scope              text        PRIMARY KEY,                 -- de_an:<id> | day:<yyyy-mm-dd>
    length             bigint      NOT NULL CHECK (length >= 0),
    head_hash          text        NOT NULL
);

COMMENT ON TABLE audit_chain_head IS
    'The last link of each đề án''s chain and each day''s chain; written only by the '
    'SECURITY DEFINER functions of the chain trigger.';

CREATE FUNCTION audit_sha256(content text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(content, 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_time(at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION audit_day(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
$$;

-- The next link of a đề án's chain and of a day's chain, with both heads locked until the
-- transaction ends (the day first: every writer takes them in that order).
CREATE FUNCTION audit_chain_lock(
    p_de_an text, p_day date,
    OUT chain_seq integer, OUT prev_hash text, OUT day_seq integer, OUT day_prev_hash text
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    genesis constant text := repeat('0', 64);
    head record;
BEGIN
    INSERT INTO audit_chain_head (scope, length, head_hash)
    VALUES ('day:' || to_char(p_day, 'YYYY-MM-DD'), 0, genesis)
    ON CONFLICT (scope) DO NOTHING;
    SELECT h.length, h.head_hash INTO head FROM audit_chain_head h
    WHERE h.scope = 'day:' || to_char(p_day, 'YYYY-MM-DD') FOR UPDATE;
    day_seq := head.length + 1;
    day_prev_hash := head.head_hash;

    INSERT INTO audit_chain_head (scope, length, head_hash)
    VALUES ('de_an:' || p_de_an, 0, genesis)
    ON CONFLICT (scope) DO NOTHING;
    SELECT h.length, h.head_hash INTO head FROM audit_chain_head h
    WHERE h.scope = 'de_an:' || p_de_an FOR UPDATE;
    chain_seq := head.length + 1;
    prev_hash := head.head_hash;
END;
$$;

CREATE FUNCTION audit_chain_advance(
    p_de_an text, p_day date, p_chain_seq integer, p_chain_hash text,
    p_day_seq integer, p_day_hash text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE audit_chain_head SET length = p_chain_seq, head_hash = p_chain_hash
    WHERE scope = 'de_an:' || p_de_an;
    UPDATE audit_chain_head SET length = p_day_seq, head_hash = p_day_hash
    WHERE scope = 'day:' || to_char(p_day, 'YYYY-MM-DD');
END;
$$;

-- ---------------------------------------------------------------------------------------
-- de_an_event joins the chain
-- ---------------------------------------------------------------------------------------

ALTER TABLE de_an_event
    ADD COLUMN chain_seq     integer,
    ADD COLUMN content_hash  text,
    ADD COLUMN prev_hash     text,
    ADD COLUMN chain_hash    text,
    ADD COLUMN chain_day     date,
    ADD COLUMN day_seq       integer,
    ADD COLUMN day_prev_hash text,
    ADD COLUMN day_hash      text;

-- The canonical content of a step: khuyencong/audit/chain.py, canonical_event, builds the same
-- text from the columns (keep them in step).
CREATE FUNCTION audit_canonical_event(e de_an_event) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'table', 'de_an_event',
        'v', 1,
        'de_an_id', e.de_an_id,
        'chain_seq', e.chain_seq,
        'idempotency_key', e.idempotency_key,
        'seq', e.seq,
        'action', e.action,
        'stage_from', e.stage_from,
        'stage_to', e.stage_to,
        'actor_official_id', e.actor_official_id,
        'actor_name', e.actor_name,
        'actor_role', e.actor_role,
        'actor_organisation', e.actor_organisation,
        'actor_province', e.actor_province,
        'occurred_at', audit_time(e.occurred_at),
        'business_date', to_char(e.business_date, 'YYYY-MM-DD'),
        'decision_number', e.decision_number,
        'summary', e.summary,
        'details', e.details,
        'recorded_at', audit_time(e.recorded_at)
    )::text
$$;

-- Existing steps, chained in the order they were stored (id): each đề án's and each day's.
ALTER TABLE de_an_event DISABLE TRIGGER de_an_event_no_update_or_delete;

DO $$
DECLARE
    r record;
    link record;
    content text;
    chain text;
    day_chain text;
BEGIN
    FOR r IN SELECT id, de_an_id, audit_day(recorded_at) AS day FROM de_an_event ORDER BY id LOOP
        link := audit_chain_lock(r.de_an_id, r.day);
        UPDATE de_an_event
        SET chain_seq = link.chain_seq, prev_hash = link.prev_hash, chain_day = r.day,
            day_seq = link.day_seq, day_prev_hash = link.day_prev_hash
        WHERE id = r.id;
        SELECT audit_sha256(audit_canonical_event(e)) INTO content FROM de_an_event e
        WHERE e.id = r.id;
        chain := audit_sha256(link.prev_hash || content);
        day_chain := audit_sha256(link.day_prev_hash || content);
        UPDATE de_an_event
        SET content_hash = content, chain_hash = chain, day_hash = day_chain
        WHERE id = r.id;
        PERFORM audit_chain_advance(r.de_an_id, r.day, link.chain_seq, chain,
                                    link.day_seq, day_chain);
    END LOOP;
END;
$$;

ALTER TABLE de_an_event ENABLE TRIGGER de_an_event_no_update_or_delete;

ALTER TABLE de_an_event
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN content_hash SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN chain_hash SET NOT NULL,
    ALTER COLUMN chain_day SET NOT NULL,
    ALTER COLUMN day_seq SET NOT NULL,
    ALTER COLUMN day_prev_hash SET NOT NULL,
    ALTER COLUMN day_hash SET NOT NULL;

CREATE UNIQUE INDEX de_an_event_chain_idx ON de_an_event (de_an_id, chain_seq);
CREATE INDEX de_an_event_day_chain_idx ON de_an_event (chain_day, day_seq);

CREATE FUNCTION de_an_event_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    link record;
    stored record;
BEGIN
    NEW.chain_day := audit_day(NEW.recorded_at);
    link := audit_chain_lock(NEW.de_an_id, NEW.chain_day);
    SELECT * INTO stored FROM de_an_event WHERE idempotency_key = NEW.idempotency_key;
    IF FOUND THEN
        -- A retried write: ON CONFLICT drops this row next; the chain does not move. (The
        -- stored row's links fill the NOT NULL columns checked before the conflict is.)
        NEW.chain_seq := stored.chain_seq; NEW.content_hash := stored.content_hash;
        NEW.prev_hash := stored.prev_hash; NEW.chain_hash := stored.chain_hash;
        NEW.chain_day := stored.chain_day; NEW.day_seq := stored.day_seq;
        NEW.day_prev_hash := stored.day_prev_hash; NEW.day_hash := stored.day_hash;
        RETURN NEW;
    END IF;
    NEW.chain_seq := link.chain_seq;
    NEW.prev_hash := link.prev_hash;
    NEW.day_seq := link.day_seq;
    NEW.day_prev_hash := link.day_prev_hash;
    NEW.content_hash := audit_sha256(audit_canonical_event(NEW));
    NEW.chain_hash := audit_sha256(NEW.prev_hash || NEW.content_hash);
    NEW.day_hash := audit_sha256(NEW.day_prev_hash || NEW.content_hash);
    PERFORM audit_chain_advance(NEW.de_an_id, NEW.chain_day, NEW.chain_seq, NEW.chain_hash,
                                NEW.day_seq, NEW.day_hash);
    RETURN NEW;
END;
$$;

CREATE TRIGGER zz_audit_chain
    BEFORE INSERT ON de_an_event
    FOR EACH ROW EXECUTE FUNCTION de_an_event_chain();

COMMENT ON TABLE de_an_event IS
    'Append-only history of each đề án: UPDATE, DELETE and TRUNCATE are refused by triggers; '
    'every row is a link of its đề án''s chain and of its day''s (migration 0009).';

-- A table's rows may only be added: the trigger of every append-only audit table.
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a new row instead of changing history.';
END;
$$;

-- ---------------------------------------------------------------------------------------
-- de_an_document: a document attached to a step (its file is in the document store)
-- ---------------------------------------------------------------------------------------

CREATE TABLE de_an_document (
    id                 bigserial   PRIMARY KEY,
    idempotency_key    text        NOT NULL UNIQUE,  -- {de_an}:document:{step key}:{kind}:{sha256}
    de_an_id           text        NOT NULL REFERENCES de_an (de_an_id),
    step_key           text        NOT NULL REFERENCES de_an_event (idempotency_key),
    step_action        text        NOT NULL,
    kind               text        NOT NULL CHECK (kind IN (
                           'decision', 'appraisal_minutes', 'contract', 'progress_report',
                           'acceptance_minutes', 'invoice', 'payment_voucher')),
    file_name          text        NOT NULL,
    media_type         text        NOT NULL,
    size_bytes         bigint      NOT NULL CHECK (size_bytes > 0),
    sha256             text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    actor_official_id  text        NOT NULL,
    actor_name         text        NOT NULL,
    actor_role         text        NOT NULL,
    actor_province     text,
    occurred_at        timestamptz NOT NULL,
    note               text        NOT NULL DEFAULT '',
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    chain_seq          integer     NOT NULL,
    content_hash       text        NOT NULL,
    prev_hash          text        NOT NULL,
    chain_hash         text        NOT NULL,
    chain_day          date        NOT NULL,
    day_seq            integer     NOT NULL,
    day_prev_hash      text        NOT NULL,
    day_hash           text        NOT NULL
);

COMMENT ON TABLE de_an_document IS
    'Documents attached to the steps of a đề án (decision, minutes, contract, invoices, ...): '
    'the file by its SHA-256 in the document store; append-only, chained with de_an_event.';

CREATE INDEX de_an_document_de_an_idx ON de_an_document (de_an_id, chain_seq);
CREATE INDEX de_an_document_day_chain_idx ON de_an_document (chain_day, day_seq);

-- Keep in step with khuyencong/audit/chain.py, canonical_document.
CREATE FUNCTION audit_canonical_document(d de_an_document) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'table', 'de_an_document',
        'v', 1,
        'de_an_id', d.de_an_id,
        'chain_seq', d.chain_seq,
        'idempotency_key', d.idempotency_key,
        'step_key', d.step_key,
        'step_action', d.step_action,
        'kind', d.kind,
        'file_name', d.file_name,
        'media_type', d.media_type,
        'size_bytes', d.size_bytes,
        'sha256', d.sha256,
        'actor_official_id', d.actor_official_id,
        'actor_name', d.actor_name,
        'actor_role', d.actor_role,
        'actor_province', d.actor_province,
        'occurred_at', audit_time(d.occurred_at),
        'note', d.note,
        'recorded_at', audit_time(d.recorded_at)
    )::text
$$;

CREATE FUNCTION de_an_document_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    link record;
    stored record;
BEGIN
    NEW.chain_day := audit_day(NEW.recorded_at);
    link := audit_chain_lock(NEW.de_an_id, NEW.chain_day);
    SELECT * INTO stored FROM de_an_document WHERE idempotency_key = NEW.idempotency_key;
    IF FOUND THEN  -- a retried write: see de_an_event_chain
        NEW.chain_seq := stored.chain_seq; NEW.content_hash := stored.content_hash;
        NEW.prev_hash := stored.prev_hash; NEW.chain_hash := stored.chain_hash;
        NEW.chain_day := stored.chain_day; NEW.day_seq := stored.day_seq;
        NEW.day_prev_hash := stored.day_prev_hash; NEW.day_hash := stored.day_hash;
        RETURN NEW;
    END IF;
    NEW.chain_seq := link.chain_seq;
    NEW.prev_hash := link.prev_hash;
    NEW.day_seq := link.day_seq;
    NEW.day_prev_hash := link.day_prev_hash;
    NEW.content_hash := audit_sha256(audit_canonical_document(NEW));
    NEW.chain_hash := audit_sha256(NEW.prev_hash || NEW.content_hash);
    NEW.day_hash := audit_sha256(NEW.day_prev_hash || NEW.content_hash);
    PERFORM audit_chain_advance(NEW.de_an_id, NEW.chain_day, NEW.chain_seq, NEW.chain_hash,
                                NEW.day_seq, NEW.day_hash);
    RETURN NEW;
END;
$$;

CREATE TRIGGER zz_audit_chain
    BEFORE INSERT ON de_an_document
    FOR EACH ROW EXECUTE FUNCTION de_an_document_chain();

CREATE TRIGGER de_an_document_no_update_or_delete
    BEFORE UPDATE OR DELETE ON de_an_document
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER de_an_document_no_truncate
    BEFORE TRUNCATE ON de_an_document
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- ---------------------------------------------------------------------------------------
-- de_an_history: each run of a closed đề án's workflow, exported from Temporal
-- ---------------------------------------------------------------------------------------

CREATE TABLE de_an_history (
    workflow_id        text        NOT NULL,
    run_id             text        NOT NULL,
    de_an_id           text        NOT NULL,
    run_index          integer     NOT NULL CHECK (run_index >= 1),  -- 1: the first run
    previous_run_id    text,                                          -- continued from
    status             text        NOT NULL,                          -- how the run ended
    event_count        integer     NOT NULL CHECK (event_count > 0),
    first_event_at     timestamptz NOT NULL,
    last_event_at      timestamptz NOT NULL,
    compression        text        NOT NULL CHECK (compression = 'gzip'),
    history            bytea       NOT NULL,   -- Temporal's history JSON, payloads decoded
    sha256             text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),  -- of the JSON
    size_bytes         bigint      NOT NULL CHECK (size_bytes > 0),           -- of the JSON
    exported_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, run_id)
);

COMMENT ON TABLE de_an_history IS
    'The Temporal history of each run of a closed đề án, decoded with the payload codec and '
    'gzip-compressed, so it stays readable after the namespace''s retention; append-only.';

CREATE INDEX de_an_history_de_an_idx ON de_an_history (de_an_id, run_index);

CREATE TRIGGER de_an_history_no_update_or_delete
    BEFORE UPDATE OR DELETE ON de_an_history
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER de_an_history_no_truncate
    BEFORE TRUNCATE ON de_an_history
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- ---------------------------------------------------------------------------------------
-- The application's role: insert-only on the audit tables
-- ---------------------------------------------------------------------------------------

DO $$
DECLARE
    schema_name constant text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'khuyencong_writer') THEN
        BEGIN
            CREATE ROLE khuyencong_writer NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- another database of the cluster made it meanwhile
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO khuyencong_writer', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO khuyencong_writer', schema_name);
    EXECUTE format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO khuyencong_writer',
        schema_name);
    EXECUTE format(
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO khuyencong_writer', schema_name);
    REVOKE UPDATE, DELETE, TRUNCATE ON de_an_event, de_an_document, de_an_history
        FROM khuyencong_writer;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_chain_head, schema_migrations
        FROM khuyencong_writer;
    -- Tables of later migrations (made by this same owner) are the writer's too; a migration
    -- that adds an audit table revokes as above.
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO khuyencong_writer', schema_name);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
        'GRANT USAGE, SELECT ON SEQUENCES TO khuyencong_writer', schema_name);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'khuyencong_writer not set up (the migrating user may not create roles or '
        'grant): only the triggers keep the audit tables append-only';
END;
$$;
