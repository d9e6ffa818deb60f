"""OpenAPI shapes of the bulk routes: the request items (a kind's POST body plus ``externalId``) and
the result per item."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from punchclock.entities.schemas import ActionError, Error, Shape, ValidationFailed
from punchclock.routing import body

MAX_ITEMS = 1000
EXTERNAL_ID_MAX = 255

EXTERNAL_ID = (
    "Your key for this item, unique per kind among your own keys: 1 to 255 characters after trimming. "
    "An item whose key names an existing entity updates it (as PATCH would); otherwise it creates one "
    "and remembers the key, so sending the same item again changes nothing"
)


class BulkResult(Shape):
    """The outcome of one item, in the order of the request."""

    status: Literal["created", "updated", "unchanged", "error"] = Field(
        description="created, updated (a known externalId, something changed), unchanged (a known "
        "externalId, nothing to change: nothing was written) or error (nothing of this item was written)"
    )
    id: int | None = Field(
        description="The entity's id; null for an item that failed to create one (a failed update keeps "
        "the id of the entity it was meant for)"
    )
    externalId: str | SkipJsonSchema[None] = Field(
        None, description="The item's externalId, trimmed; only when it had one"
    )
    error: Error | ValidationFailed | ActionError | SkipJsonSchema[None] = Field(
        None,
        description="Only with status error: exactly the body the single POST (or, for a known externalId, "
        "PATCH) route answers for this item, its status code in `code`",
    )


def item_schema(form: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a JSON array of 1 to ``MAX_ITEMS`` bodies of ``form`` with ``externalId``."""
    item = create_model(
        f"Bulk{form.__name__}",
        __base__=form,
        externalId=(
            str | None,
            Field(None, min_length=1, max_length=EXTERNAL_ID_MAX, description=EXTERNAL_ID),
        ),
    )
    extra = body(item, array=True)
    for content in extra["requestBody"]["content"].values():
        content["schema"] = {**content["schema"], "minItems": 1, "maxItems": MAX_ITEMS}
    return extra
