"""Request rewriting that Kimai's routing does before any route sees the request (pure ASGI)."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("punchclock")

# PHP reads ``name[0]=1&name[1]=2`` as the same array as ``name[]=1&name[]=2``.
_INDEXED = re.compile(r"([^\[\]]+)\[[0-9]+\]")


def normalise_query(raw: bytes) -> bytes:
    """``raw`` without empty values (``?visible`` and ``?visible=`` count as absent: Kimai's parameter
    checks skip them) and with ``name[N]`` keys as ``name[]``; unchanged when neither occurs."""
    # latin-1 both ways keeps every byte as it was, escaped or not.
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    kept = [(_array_key(key), value) for key, value in pairs if value]
    if kept == pairs:
        return raw
    return urlencode(kept, encoding="latin-1").encode("latin-1")


def _array_key(key: str) -> str:
    indexed = _INDEXED.fullmatch(key)
    return f"{indexed.group(1)}[]" if indexed else key


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only


class KimaiRouting:
    """- ``GET``/``HEAD`` with a trailing slash under /api/ redirect (301) to the path without it;
      other methods with a trailing slash match no route (404), as in Symfony's router.
    - ``HEAD`` is answered like ``GET`` (same status and headers, Content-Length included), without
      the body, as Symfony does for every GET route.
    - Query strings are normalised (see ``normalise_query``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] in ("GET", "HEAD") and path.endswith("/") and path != "/api/":
            query = scope.get("query_string", b"").decode("latin-1")
            target = path.rstrip("/") + (f"?{query}" if query else "")
            await RedirectResponse(target, status_code=301)(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        raw: bytes = scope.get("query_string", b"")
        if raw:
            scope = {**scope, "query_string": normalise_query(raw)}
        await self.app(scope, receive, send)


class ServerErrors:
    """Kimai's 500 body for an unhandled error, answered inside the CORS layer.

    Starlette's own catch-all sits outside every middleware, so its answer would reach a
    cross-origin page without CORS headers (the browser then reports a network failure, not a 500).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise  # too late for an error body: let the server close the connection
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = JSONResponse({"code": 500, "message": "Internal Server Error"}, status_code=500)
            await response(scope, receive, send)
