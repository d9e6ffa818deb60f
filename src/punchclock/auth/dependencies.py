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

import anyio.to_thread
from fastapi import Request
from sqlalchemy.orm import Session

from punchclock.auth.passwords import verify_password
from punchclock.auth.permissions import Caller
from punchclock.auth.service import (
    find_legacy_login,
    find_token,
    load_caller,
    store_api_password_hash,
    touch_token,
)
from punchclock.auth.tokens import BEARER
from punchclock.config import Settings
from punchclock.db import Database, utcnow
from punchclock.kimai.body import read_body
from punchclock.kimai.errors import (
    BadRequest,
    Forbidden,
    KimaiError,
    LegacyAuthFailed,
    NotFound,
    Unauthorized,
)

_DIGITS = re.compile(r"[0-9]+")


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("Id")


class FailureLimiter:
    """Failed legacy logins per client IP in a fixed window (per process)."""

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window = window_seconds
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, now: float) -> int:
        start, count = self._windows.get(key, (now, 0))
        return count if now - start < self.window else 0

    def exhausted(self, key: str) -> bool:
        with self._lock:
            return self._count(key, time.monotonic()) >= self.limit

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            count = self._count(key, now)
            start = self._windows[key][0] if count else now
            self._windows[key] = (start, count + 1)
            if len(self._windows) > 10_000:  # forget finished windows so the table cannot grow without bound
                self._windows = {k: v for k, v in self._windows.items() if now - v[0] < self.window}


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
    caller = await identify(request)
    if not caller.can("api_access"):
        raise Forbidden()  # every built-in role has it; a custom permission table may not
    request.state.caller = caller
    return caller


async def identify(request: Request) -> Caller:
    """The user the request's credentials name, else Kimai's 400/401/403 for them.

    The outcome is kept on the request: checked twice (the idempotency middleware, then the route),
    the credentials cost one lookup, one legacy delay and at most one counted failure.
    """
    outcome: Caller | KimaiError | None = getattr(request.state, "identity", None)
    if outcome is None:
        try:
            outcome = await _credentials(request)
        except KimaiError as error:
            outcome = error
        request.state.identity = outcome
    if isinstance(outcome, KimaiError):
        raise outcome
    return outcome


async def _credentials(request: Request) -> Caller:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization")
    match = BEARER.match(header) if header else None
    if match:
        return await _bearer(db, settings, match.group(1))
    if "x-auth-user" in request.headers and "x-auth-token" in request.headers:
        return await _legacy(request, db, settings)
    raise Unauthorized()


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
    # Once an address used up its failures, nothing is checked until the window ends: otherwise a
    # correct guess would still get through and the limit would not stop guessing.
    if limiter.exhausted(client):
        raise BadRequest()
    low, high = settings.legacy_auth_delay_ms
    if high > 0:
        await asyncio.sleep(random.uniform(low, high) / 1000)

    found = await db.run(lambda s: find_legacy_login(s, login=login, secret=secret))
    if found is not None and not found.enabled:
        raise LegacyAuthFailed()  # Kimai's user checker refuses before any credential is checked
    valid, rehashed = (found is not None and found.token_matches), None
    if found is not None and not valid and found.api_password:
        # argon2 takes ~100 ms: on the general worker threads, never holding a database thread or lock.
        valid, rehashed = await anyio.to_thread.run_sync(verify_password, secret, found.api_password)
    if found is None or not valid:
        limiter.failed(client)
        raise LegacyAuthFailed()
    if rehashed:
        user_id = found.user_id
        await db.run(lambda s: store_api_password_hash(s, user_id=user_id, hashed=rehashed), write=True)
    return found.caller
