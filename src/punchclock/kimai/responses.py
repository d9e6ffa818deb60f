"""JSON output as Kimai writes it, serialised with orjson (no jsonable_encoder on hot paths)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class KimaiJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # Floats keep their zero fraction (1000.0), as Kimai's JSON_PRESERVE_ZERO_FRACTION does.
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> KimaiJSONResponse:
    return KimaiJSONResponse(content, status_code=status_code, headers=headers)
