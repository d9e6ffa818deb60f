"""Helpers that keep route declarations short and their OpenAPI description complete."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel

from punchclock.kimai.responses import KimaiJSONResponse, json_response

_ERRORS: dict[int, str] = {
    400: "Bad request, or a form that failed validation (`errors` names each field), "
    "or too many failed legacy logins",
    401: "No valid credentials (an invalid Bearer token: empty body and a `WWW-Authenticate` header)",
    403: "The caller lacks the permission, or the legacy X-AUTH headers were rejected "
    '(`{"message": …}`, without `code`)',
    404: "Unknown id",
}
# Authentication can answer these on every route, whatever the route itself does.
_AUTH_ERRORS = (400, 401, 403)


def documented(
    model: Any = None,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (401, 403, 404),
    summary: str | None = None,
) -> dict[str, Any]:
    """Route keyword arguments: the success shape plus Kimai's error bodies."""
    from punchclock.entities.schemas import ActionError, Error, LegacyLoginError, ValidationFailed

    responses: dict[int | str, dict[str, Any]] = {}
    if model is None:
        responses[status] = {"description": "No content" if status == 204 else "Success (empty body)"}
    else:
        responses[status] = {"model": model, "description": "Success"}
    shapes: dict[int, Any] = {
        # A 400 is either a failed form or a plain bad request (malformed body or parameter).
        400: Error | ValidationFailed | ActionError,
        403: Error | LegacyLoginError,
    }
    for code in sorted({*errors, *_AUTH_ERRORS}):
        responses[code] = {"model": shapes.get(code, Error), "description": _ERRORS.get(code, "Error")}
    kwargs: dict[str, Any] = {
        "responses": responses,
        "response_class": KimaiJSONResponse,
        "status_code": status,
    }
    if summary:
        kwargs["summary"] = summary
    return kwargs


def body(model: type[BaseModel], *, array: bool = False, partial: bool = False) -> dict[str, Any]:
    """``openapi_extra`` describing a request body; the body itself is read by the Kimai form layer.
    ``partial``: a PATCH, where every key may be left out."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    if partial:
        schema.pop("required", None)
    if array:
        schema = {"type": "array", "items": schema}
    content = {"schema": schema}
    return {
        "requestBody": {
            "required": not partial,
            "content": {"application/json": content, "application/x-www-form-urlencoded": content},
        }
    }


def ok(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> KimaiJSONResponse:
    return json_response(content, status, headers)


def no_content() -> Response:
    return Response(status_code=204)
