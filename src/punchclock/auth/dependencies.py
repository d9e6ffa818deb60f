"""The FastAPI dependency that authenticates every /api request.

Bearer tokens first; otherwise the legacy X-AUTH-USER/X-AUTH-TOKEN pair (both headers needed),
which Kimai slows down with a random delay and limits per client IP.
"""

from __future__ import annotations

import asyncio
import random
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
from punchclock.kimai.errors import BadRequest, LegacyAuthFailed, Unauthorized

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

    def exceeded(self, key: str) -> bool:
        with self._lock:
            return self._current(key, time.monotonic()) >= self.limit

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            count = self._current(key, now)
            start = self._counts.get(key, (now, 0))[0]
            self._counts[key] = (start, count + 1)


async def authenticate(request: Request) -> Caller:
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
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
    low, high = settings.legacy_auth_delay_ms
    if high > 0:
        await asyncio.sleep(random.uniform(low, high) / 1000)
    if limiter.exceeded(client):
        raise BadRequest()
    login = request.headers["x-auth-user"]
    secret = request.headers["x-auth-token"]
    if not login:
        raise LegacyAuthFailed("Authentication required, missing user header: X-AUTH-USER")
    if not secret:
        raise LegacyAuthFailed("Authentication required, missing token header: X-AUTH-TOKEN")

    def check(session: Session) -> Caller | None:
        user = check_legacy(session, login=login, secret=secret)
        if user is None or not user.enabled:
            return None
        return load_caller(session, user)

    caller = await db.run(check, write=True)
    if caller is None:
        limiter.failed(client)
        raise LegacyAuthFailed()
    return caller
