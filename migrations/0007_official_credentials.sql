-- 0007_official_credentials: officials prove who they are (issue 10, item 3).
--
-- An administrator sets each official's password (`khuyencong officials set-password ID`);
-- the admin tool checks it before it signs a short-lived statement of the official's
-- identity for each update (khuyencong.identity). Only khuyencong.admin.credentials writes
-- this table. The hash is scrypt (stdlib hashlib): the password itself is never stored.
--
-- Workers keep an in-memory copy of the officials register to check those statements; a
-- change to `officials` notifies them on the channel `khuyencong_officials` so the copy is
-- refreshed at once (they also re-read it every minute).

CREATE TABLE official_credentials (
    official_id  text        PRIMARY KEY REFERENCES officials (id),
    algorithm    text        NOT NULL CHECK (algorithm = 'scrypt'),
    cost_n       integer     NOT NULL CHECK (cost_n >= 16384 AND (cost_n & (cost_n - 1)) = 0),
    block_r      integer     NOT NULL CHECK (block_r BETWEEN 1 AND 64),
    parallel_p   integer     NOT NULL CHECK (parallel_p BETWEEN 1 AND 16),
    salt         bytea       NOT NULL CHECK (length(salt) >= 16),
    hash         bytea       NOT NULL CHECK (length(hash) = 32),
    set_at       timestamptz NOT NULL DEFAULT now(),
    set_by       text        NOT NULL DEFAULT '' CHECK (length(set_by) <= 200)
);

COMMENT ON TABLE official_credentials IS
    'Password hashes (scrypt) of officials, set by an administrator; written only by '
    'khuyencong.admin.credentials. Never the password itself.';

CREATE FUNCTION officials_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('khuyencong_officials', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER officials_changed
AFTER INSERT OR UPDATE OR DELETE ON officials
FOR EACH STATEMENT EXECUTE FUNCTION officials_notify();
