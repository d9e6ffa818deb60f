"""The FastAPI dependency that authenticates every /api request.

Bearer tokens first; otherwise the legacy X-AUTH-USER/X-AUTH-TOKEN pair (both headers needed),
which Kimai slows down with a random delay and limits per client IP.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time

from fastapi import Request
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.auth.service import check_legacy, find_token, load_caller, touch_token
from punchclock.auth.tokens import BEARER
from punchclock.config import Settings
from punchclock.db import Database, utcnow
from punchclock.kimai.body import read_body
from punchclock.kimai.errors import BadRequest, LegacyAuthFailed, NotFound, Unauthorized
from punchclock.users.service import find_user

# Declared only so the OpenAPI document shows the schemes; reading is done by hand below.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")
legacy_user_scheme = APIKeyHeader(
    name="X-AUTH-USER", auto_error=False, description="Legacy: username or e-mail"
)
legacy_token_scheme = APIKeyHeader(
    name="X-AUTH-TOKEN",
    auto_error=False,
    description="Legacy: the user's API password, or one of their API tokens",
)


_DIGITS = re.compile(r"[0-9]+")


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("Id")


class FailureLimiter:
    """Failed legacy logins per client IP in a fixed window (per process)."""

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window = window_seconds
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> int:
        start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window:
            self._counts.pop(key, None)
            return 0
        return count

    def consume(self, key: str) -> bool:
        """Count one failure; False once the window's limit is used up (Kimai's limiter ``consume``)."""
        now = time.monotonic()
        with self._lock:
            count = self._current(key, now)
            if count >= self.limit:
                return False
            start = self._counts.get(key, (now, 0))[0]
            self._counts[key] = (start, count + 1)
            return True


async def authenticate(request: Request) -> Caller:
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    # Kimai's router runs before everything else and its path ids are \d+: another value matched no route.
    if not all(_DIGITS.fullmatch(value) for name, value in request.path_params.items() if _is_id(name)):
        raise NotFound()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        # Kimai decodes the body before its firewall runs: malformed JSON is 400 even without credentials.
        await read_body(request)
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization")
    match = BEARER.match(header) if header else None
    if match:
        caller = await _bearer(db, settings, match.group(1))
    elif "x-auth-user" in request.headers and "x-auth-token" in request.headers:
        caller = await _legacy(request, db, settings)
    else:
        raise Unauthorized()
    request.state.caller = caller
    return caller


async def _bearer(db: Database, settings: Settings, token: str) -> Caller:
    now = utcnow()

    def lookup(session: Session) -> tuple[Caller | None, bool, bool]:
        found = find_token(session, token=token, now=now)
        if found is None:
            return None, False, False
        api_token, user = found
        if not user.enabled:
            return None, True, False
        stale = api_token.last_usage is None or (now - api_token.last_usage).total_seconds() >= (
            settings.token_usage_interval_seconds
        )
        return load_caller(session, user, token_id=api_token.id), False, stale

    caller, disabled, stale = await db.run(lookup)
    if caller is None:
        raise Unauthorized(invalid_token=True, disabled=disabled)
    if stale:
        token_id = caller.token_id or 0
        await db.run(
            lambda s: touch_token(
                s, token_id=token_id, now=now, interval_seconds=settings.token_usage_interval_seconds
            ),
            write=True,
        )
    return caller


async def _legacy(request: Request, db: Database, settings: Settings) -> Caller:
    limiter: FailureLimiter = request.app.state.legacy_limiter
    client = request.client.host if request.client else "unknown"
    login = request.headers["x-auth-user"]
    secret = request.headers["x-auth-token"]
    # Kimai rejects empty headers before its delay and without counting a failure.
    if not login:
        raise LegacyAuthFailed("Authentication required, missing user header: X-AUTH-USER")
    if not secret:
        raise LegacyAuthFailed("Authentication required, missing token header: X-AUTH-TOKEN")
    low, high = settings.legacy_auth_delay_ms
    if high > 0:
        await asyncio.sleep(random.uniform(low, high) / 1000)

    def check(session: Session) -> tuple[Caller | None, bool]:
        """The caller, or None and whether the failure counts toward the limit."""
        found = find_user(session, login=login)
        if found is not None and not found.enabled:
            return None, False  # Kimai's user checker refuses before any credential is checked
        user = check_legacy(session, login=login, secret=secret)
        if user is None:
            return None, True
        return load_caller(session, user), False

    caller, counts = await db.run(check, write=True)
    if caller is None:
        # Only failed checks consume the limiter, so correct credentials always pass (as in Kimai).
        if counts and not limiter.consume(client):
            raise BadRequest()
        raise LegacyAuthFailed()
    return caller
