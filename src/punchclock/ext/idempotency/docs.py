"""The ``Idempotency-Key`` header and its answers in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from punchclock.ext.idempotency.middleware import (
    HEADER,
    MAX_KEY_LENGTH,
    REPLAYED,
    UNGUARDED_PATHS,
    WAIT_SECONDS,
)

_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Extension: makes a retry safe. The first request with a key runs and its answer (2xx or 4xx) "
        "is kept for the caller; the same key with the same request (method, path, query, content type "
        f"and body) answers it again, with `{REPLAYED}: true`, without running twice. A 5xx answer "
        "keeps nothing, so a retry runs again. Keys belong to the authenticated user and expire after "
        "`PUNCHCLOCK_IDEMPOTENCY_KEY_TTL_HOURS` (24 by default). A malformed key is 400."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RESPONSES = {
    "409": _error(
        f"Another request with this `{HEADER}` is still running after {WAIT_SECONDS:g} seconds of "
        "waiting: retry later"
    ),
    "422": _error(f"This `{HEADER}` was used with a different request"),
}


def document(schema: dict[str, Any]) -> None:
    """Adds the header, 409 and 422 to every POST and PATCH under /api/ that honours it."""
    for path, item in schema["paths"].items():
        if not path.startswith("/api/") or path in UNGUARDED_PATHS:
            continue
        for method in ("post", "patch"):
            if operation := item.get(method):
                operation.setdefault("parameters", []).append(dict(_PARAMETER))
                for status, response in _RESPONSES.items():
                    operation["responses"].setdefault(status, response)
