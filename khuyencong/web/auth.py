"""Who is logged in to the web desk: sessions, CSRF tokens, login with lockout, SSO.

- **Sessions** live in this process (:class:`SessionStore`): the cookie holds a random session
  ID signed with HMAC-SHA256 (``KHUYENCONG_WEB_SESSION_SECRET``, else a key drawn at start),
  HttpOnly, SameSite=Lax, Secure when the request came over https. A session ends on logout,
  after ``KHUYENCONG_WEB_SESSION_MINUTES`` idle, or when the process stops (the admin client
  then forgets whose password it checked, so a new login is needed anyway).
- **CSRF**: every form carries a token; a logged-in form the session's, the login form one of
  a signed cookie of its own (double submit). A POST without the right token is refused (403)
  and nothing is done.
- **Login**: the password is checked by :meth:`AdminClient.authenticate` (scrypt hashes set by
  ``khuyencong officials set-password``). ``KHUYENCONG_WEB_LOCKOUT_ATTEMPTS`` failures within
  ``KHUYENCONG_WEB_LOCKOUT_MINUTES`` lock the official out for that long. Every attempt, its
  outcome and every logout is recorded in ``web_logins`` (:mod:`db.web_logins`).
- **SSO**: when ``KHUYENCONG_WEB_SSO_HEADER`` is set, a request carrying that header (set by
  the trusted reverse proxy in front, which must strip it from clients) is logged in as the
  official it names, recorded as method ``sso``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from db.web_logins import LoginMethod, LoginOutcome, failures_since, record_login
from domain.errors import RefusalCode
from domain.model import Actor
from khuyencong.admin.client import AdminClient
from khuyencong.admin.errors import ActionRefused, NotFound
from khuyencong.settings import Settings

log = structlog.get_logger(__name__)

SESSION_COOKIE = "kc_session"
LOGIN_CSRF_COOKIE = "kc_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

BAD_LOGIN = "Mã cán bộ hoặc mật khẩu không đúng."


@dataclass
class Session:
    id: str
    official_id: str
    method: LoginMethod
    csrf: str
    created: float
    last_seen: float
    flash: list[str] = field(default_factory=list)


class Signer:
    """HMAC-SHA256 of cookie values with the web desk's secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"khuyencong-web:" + secret).digest()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{value}.{mac}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        expected = self.sign(value).rpartition(".")[2]
        return value if hmac.compare_digest(mac, expected) else None


class SessionStore:
    """The sessions of this process."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}

    def new(self, official_id: str, method: LoginMethod) -> Session:
        now = time.monotonic()
        for stale in [
            s.id for s in self._sessions.values() if now - s.last_seen > self.idle_seconds
        ]:
            self._sessions.pop(stale, None)
        session = Session(
            id=secrets.token_urlsafe(24),
            official_id=official_id,
            method=method,
            csrf=secrets.token_urlsafe(24),
            created=now,
            last_seen=now,
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if session_id is None:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self.idle_seconds:
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def drop(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)


@dataclass(frozen=True)
class LoginResult:
    actor: Actor | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.actor is not None


class Authenticator:
    """Checks logins as the admin client does, with lockout and the ``web_logins`` record."""

    def __init__(self, admin: AdminClient, settings: Settings) -> None:
        self.admin = admin
        self.attempts = settings.web_lockout_attempts
        self.window = timedelta(minutes=settings.web_lockout_minutes)

    async def locked(self, official_id: str) -> bool:
        since = datetime.now().astimezone() - self.window
        return await failures_since(self.admin.pool, official_id, since) >= self.attempts

    async def login(
        self, official_id: str, password: str, *, remote: str = "", agent: str = ""
    ) -> LoginResult:
        official_id = official_id.strip()[:64]

        async def record(outcome: LoginOutcome) -> None:
            await record_login(
                self.admin.pool,
                official_id,
                LoginMethod.PASSWORD,
                outcome,
                remote_addr=remote,
                user_agent=agent,
            )
            log.info("web login", official_id=official_id, outcome=outcome.value, remote=remote)

        if not official_id:
            return LoginResult(None, BAD_LOGIN)
        if await self.locked(official_id):
            await record(LoginOutcome.LOCKED)
            minutes = int(self.window.total_seconds() // 60)
            return LoginResult(
                None,
                f"Đăng nhập sai quá {self.attempts} lần: tài khoản {official_id} tạm khoá "
                f"{minutes} phút. Liên hệ quản trị viên nếu cần.",
            )
        try:
            actor = await self.admin.authenticate(official_id, password)
        except NotFound:
            await record(LoginOutcome.UNKNOWN)
            return LoginResult(None, BAD_LOGIN)
        except ActionRefused as refused:
            if refused.type == RefusalCode.INACTIVE_OFFICIAL:
                await record(LoginOutcome.INACTIVE)
            else:
                await record(LoginOutcome.WRONG_PASSWORD)
            return LoginResult(None, BAD_LOGIN)
        await record(LoginOutcome.OK)
        return LoginResult(actor)

    async def login_sso(
        self, official_id: str, *, remote: str = "", agent: str = ""
    ) -> LoginResult:
        """The reverse proxy vouches for ``official_id`` (no password here)."""
        official_id = official_id.strip()[:64]
        try:
            actor = await self.admin.authenticate_trusted(official_id)
        except (NotFound, ActionRefused) as refused:
            outcome = (
                LoginOutcome.UNKNOWN if isinstance(refused, NotFound) else LoginOutcome.INACTIVE
            )
            await record_login(
                self.admin.pool, official_id, LoginMethod.SSO, outcome,
                remote_addr=remote, user_agent=agent,
            )  # fmt: skip
            return LoginResult(None, f"Cán bộ {official_id} không được phép đăng nhập.")
        await record_login(
            self.admin.pool, official_id, LoginMethod.SSO, LoginOutcome.OK,
            remote_addr=remote, user_agent=agent,
        )  # fmt: skip
        return LoginResult(actor)

    async def logout(self, session: Session, *, remote: str = "", agent: str = "") -> None:
        await record_login(
            self.admin.pool, session.official_id, session.method, LoginOutcome.LOGOUT,
            remote_addr=remote, user_agent=agent,
        )  # fmt: skip


def session_secret(settings: Settings) -> bytes:
    if settings.web_session_secret is not None:
        return settings.web_session_secret.get_secret_value().encode()
    return secrets.token_bytes(32)
