"""Opaque cursors: a versioned, URL-safe encoding of a small JSON object.

Clients must treat a cursor as an opaque string; the server may change what is inside between
versions, so the prefix names the format and anything else is refused with Kimai's 400.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from punchclock.kimai.errors import KimaiError

_PREFIX = "c1."
_MAX_LENGTH = 1024


class InvalidCursor(KimaiError):
    def __init__(self) -> None:
        super().__init__(400, "Invalid cursor")


def encode(payload: dict[str, Any]) -> str:
    raw = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=")
    return _PREFIX + raw.decode("ascii")


def decode(cursor: str) -> dict[str, Any]:
    """The payload of a cursor made by ``encode``; InvalidCursor (400) for anything else."""
    if not cursor.startswith(_PREFIX) or len(cursor) > _MAX_LENGTH:
        raise InvalidCursor()
    data = cursor[len(_PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not isinstance(payload, dict):
        raise InvalidCursor()
    return payload
