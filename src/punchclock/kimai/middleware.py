"""Request rewriting that Kimai's routing does before any route sees the request (pure ASGI)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class KimaiRouting:
    """- ``GET``/``HEAD`` with a trailing slash under /api/ redirect (301) to the path without it;
      other methods with a trailing slash match no route (404), as in Symfony's router.
    - Empty query values (``?visible=``) count as absent: Kimai's parameter checks skip them.
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
        raw: bytes = scope.get("query_string", b"")
        if raw and (b"=&" in raw or raw.endswith(b"=")):
            pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
            scope = {**scope, "query_string": urlencode([(k, v) for k, v in pairs if v]).encode("latin-1")}
        await self.app(scope, receive, send)
