"""The ``Idempotency-Key`` header on POST and PATCH under /api/ (pure ASGI).

A request with a key claims it for its user (one short transaction) and runs; its 2xx or 4xx answer
is stored, a 5xx or an error releases the key so a retry runs again. The same key with the same
request replays the stored answer (plus ``Idempotent-Replayed: true``); with another request it is
422; while the first still runs, a second waits a few seconds for its answer, else 409. Requests
without the header pass straight through, at no cost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from punchclock.auth.dependencies import identify
from punchclock.db import Database, utcnow
from punchclock.ext.idempotency import store
from punchclock.kimai.body import MAX_BODY_BYTES
from punchclock.kimai.errors import KimaiError
from punchclock.kimai.responses import json_response

log = logging.getLogger("punchclock")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Answers that carry a secret shown once (a new API token's): never stored, so the header is ignored.
UNGUARDED_PATHS = frozenset({"/api/users/me/api-tokens"})

WAIT_SECONDS = 3.0
"""How long a request waits for another one holding its key before answering 409."""
_POLL_SECONDS = 0.05
# A claim whose request died without answering (a crashed process) frees its key after this.
_LEASE = dt.timedelta(minutes=5)
_PURGE_EVERY_SECONDS = 600.0
_KEY = HEADER.lower().encode()


def _replayable(name: bytes) -> bool:
    return name == b"content-type" or name.startswith(b"x-")


def _valid_key(raw: bytes) -> str | None:
    if 1 <= len(raw) <= MAX_KEY_LENGTH and all(0x20 <= byte <= 0x7E for byte in raw):
        return raw.decode("ascii")
    return None


def fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests "the same": method, path, query, content type and body."""
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], content_type, body):
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: parts cannot run together
    return digest.hexdigest()


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None when over the cap or the client left) and a ``receive`` that hands the
    same bytes downstream, then whatever the client sends after them."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:  # the route reads on and answers 413
            break
        if not message.get("more_body", False):
            body = b"".join(m.get("body", b"") for m in messages)
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            return body, _replaying(messages, receive)
    return None, _replaying(messages, receive)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> ASGIApp:
    return json_response({"code": status, "message": message}, status, headers)


@dataclass(frozen=True)
class _Keyed:
    """What one guarded request needs: where to store, for how long, and under which key."""

    db: Database
    ttl: dt.timedelta
    user_id: int
    key: str
    fingerprint: str

    @property
    def lease(self) -> dt.timedelta:
        return min(self.ttl, _LEASE)


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._next_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PATCH")
            or not scope["path"].startswith("/api/")
            or scope["path"] in UNGUARDED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == _KEY]
        if not keys:
            await self.app(scope, receive, send)
            return
        key = _valid_key(keys[0]) if len(keys) == 1 else None
        if key is None:
            message = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
            await _error(400, message)(scope, receive, send)
            return
        try:
            caller = await identify(Request(scope))
        except KimaiError:  # the route answers it (the outcome is kept: no second lookup or delay)
            caller = None
        if caller is None or not caller.can("api_access"):
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive)
        if body is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        keyed = _Keyed(
            db=state.db,
            ttl=dt.timedelta(hours=state.settings.idempotency_key_ttl_hours),
            user_id=caller.id,
            key=key,
            fingerprint=fingerprint(scope, body),
        )
        await self._guarded(keyed, scope, receive, send)

    async def _guarded(self, keyed: _Keyed, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            now = utcnow()
            held = await self._claim(keyed, now)
            if isinstance(held, int):
                await self._run(keyed, scope, receive, send, row_id=held, claimed_at=now)
                return
            # Someone holds the key: wait while it runs (a different request is refused at once).
            while held is not None and not held.done and held.fingerprint == keyed.fingerprint:
                if time.monotonic() >= deadline:
                    message = f"A request with this {HEADER} is still in progress: retry later"
                    await _error(409, message, {"Retry-After": "1"})(scope, receive, send)
                    return
                await anyio.sleep(_POLL_SECONDS)
                held = await keyed.db.run(
                    lambda s: store.find(s, user_id=keyed.user_id, key=keyed.key, now=utcnow())
                )
            if held is None:
                continue  # released after a failure (or expired): claim it ourselves
            if held.fingerprint != keyed.fingerprint:
                message = f"This {HEADER} was used with a different request (method, path, query or body)"
                await _error(422, message)(scope, receive, send)
                return
            await _replay(send, held)
            return

    async def _claim(self, keyed: _Keyed, now: dt.datetime) -> int | store.Held | None:
        # Expired rows of other keys are deleted now and then, by whichever request comes along.
        purge = time.monotonic() >= self._next_purge
        if purge:
            self._next_purge = time.monotonic() + _PURGE_EVERY_SECONDS
        return await keyed.db.run(
            lambda s: store.claim(
                s,
                user_id=keyed.user_id,
                key=keyed.key,
                fingerprint=keyed.fingerprint,
                now=now,
                lease_until=now + keyed.lease,
                purge=purge,
            ),
            write=True,
        )

    async def _run(
        self,
        keyed: _Keyed,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        row_id: int,
        claimed_at: dt.datetime,
    ) -> None:
        status = 0
        kept: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        settled = False

        async def recording_send(message: Message) -> None:
            nonlocal status, kept, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [
                    (name.lower(), value)
                    for name, value in message.get("headers", ())
                    if _replayable(name.lower())
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the client sees the end: a retry right after it is a replay.
                    await _settle(keyed, row_id, status, kept, b"".join(chunks), claimed_at + keyed.ttl)
                    settled = True
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if not settled:  # an exception, or no complete answer: let a retry run
                with anyio.CancelScope(shield=True):
                    await _release(keyed.db, row_id)


async def _settle(
    keyed: _Keyed,
    row_id: int,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    expires_at: dt.datetime,
) -> None:
    """Store a 2xx or 4xx answer; release the key on anything else (5xx: a retry should run)."""
    if not (200 <= status < 300 or 400 <= status < 500):
        await _release(keyed.db, row_id)
        return
    try:
        await keyed.db.run(
            lambda s: store.finish(
                s, row_id=row_id, status=status, headers=headers, body=body, expires_at=expires_at
            ),
            write=True,
        )
    except Exception:
        # The answer itself is fine: deliver it. The claim frees itself when its lease ends.
        log.exception("could not store the answer for an %s", HEADER)


async def _release(db: Database, row_id: int) -> None:
    try:
        await db.run(lambda s: store.release(s, row_id=row_id), write=True)
    except Exception:  # never hide the error that got us here; the lease frees the key later
        log.exception("could not release an %s", HEADER)


async def _replay(send: Send, held: store.Held) -> None:
    headers = [*held.headers, (REPLAYED.lower().encode(), b"true")]
    if held.status != 204:  # a 204 carries no Content-Length
        headers.append((b"content-length", str(len(held.body)).encode()))
    await send({"type": "http.response.start", "status": held.status, "headers": headers})
    await send({"type": "http.response.body", "body": held.body})
