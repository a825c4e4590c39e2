-- 0011_web_logins: every login to the officials' web desk, accepted or refused (issue 12).
--
-- The web desk (khuyencong/web) records each attempt: who (the official ID typed, known or
-- not), when, how (password or a trusted SSO header), the outcome and where from. Repeated
-- failures lock an official out for a while (counted from this table). Only db/web_logins.py
-- writes it; the password is never stored.

CREATE TABLE web_logins (
    attempt_id   uuid        PRIMARY KEY,
    official_id  text        NOT NULL CHECK (length(official_id) <= 64),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    method       text        NOT NULL CHECK (method IN ('password', 'sso')),
    outcome      text        NOT NULL CHECK (
        outcome IN ('ok', 'wrong_password', 'unknown', 'inactive', 'locked', 'logout')
    ),
    remote_addr  text        NOT NULL DEFAULT '' CHECK (length(remote_addr) <= 100),
    user_agent   text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300)
);

CREATE INDEX web_logins_by_official ON web_logins (official_id, attempted_at DESC);

COMMENT ON TABLE web_logins IS
    'Logins to the web desk (accepted, refused, locked out, logouts); written only by '
    'db/web_logins.py. Never the password.';
