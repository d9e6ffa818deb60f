"""The API explorer at ``/explorer``.

The page is sent as one self-contained document: its style sheet, its script and this server's own
OpenAPI document are inlined, so a copy saved from the browser works from disk against any Kimai
compatible server (and falls back to the inlined routes on servers, like Kimai 2.66, that serve no
``/api/doc.json``). The inlined document is the live one, so it can never be stale.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

PATH = "/explorer"

# The tags of explorer.html that the served page replaces by what they load.
_STYLE_TAG = '<link rel="stylesheet" href="explorer.css">'
_SCRIPT_TAG = '<script src="explorer.js"></script>'
_SPEC_TAG = '<script type="application/json" id="bundled-spec"></script>'


@dataclass(frozen=True)
class Page:
    html: bytes
    headers: dict[str, str]


def _asset(name: str) -> str:
    return files("punchclock.web").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _inline(html: str, tag: str, replacement: str) -> str:
    if html.count(tag) != 1:
        raise RuntimeError(f"explorer.html must contain {tag!r} exactly once")
    return html.replace(tag, replacement)


def build_page(spec: dict[str, Any]) -> Page:
    css, script = _asset("explorer.css"), _asset("explorer.js")
    for name, text, end in (("explorer.css", css, "</style"), ("explorer.js", script, "</script")):
        if end in text.lower():
            raise RuntimeError(f"{name} contains {end!r}, which would end its inline element")
    # "<" only occurs inside JSON strings, where \u003c means the same: no "</script>" can appear.
    spec_json = orjson.dumps(spec).decode().replace("<", "\\u003c")
    html = _asset("explorer.html")
    html = _inline(html, _STYLE_TAG, f"<style>{css}</style>")
    html = _inline(html, _SCRIPT_TAG, f"<script>{script}</script>")
    html = _inline(html, _SPEC_TAG, f'<script type="application/json" id="bundled-spec">{spec_json}</script>')
    # Only the page's own script and styles run; requests may go to any server the user names.
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(script)}'",
            f"style-src '{_sha256(css)}'",
            "connect-src *",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return Page(html.encode(), headers)


async def explorer(request: Request) -> Response:
    page: Page | None = getattr(request.app.state, "explorer_page", None)
    if page is None:
        page = request.app.state.explorer_page = build_page(request.app.openapi())
    return Response(page.html, media_type="text/html; charset=utf-8", headers=page.headers)


router = APIRouter()
# A plain Starlette route: the page is no API operation, so it stays out of /api/doc.json.
router.add_route(PATH, explorer, methods=["GET"], include_in_schema=False)
