"""``POST /api/ext/bulk/{customers,projects,activities,timesheets}``: many creates or upserts in one call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from punchclock.activities.schemas import ActivityForm
from punchclock.context import Ctx
from punchclock.customers.schemas import CustomerForm
from punchclock.entities.schemas import Error
from punchclock.ext.bulk import service
from punchclock.ext.bulk.schemas import MAX_ITEMS, BulkResult, item_schema
from punchclock.kimai.body import read_body, read_json_body
from punchclock.kimai.errors import Forbidden
from punchclock.projects.schemas import ProjectForm
from punchclock.routing import documented, ok
from punchclock.timesheets.schemas import TimesheetForm

router = APIRouter(prefix="/api/ext/bulk", tags=["extensions"])

DESCRIPTION = f"""
A JSON array of 1 to {MAX_ITEMS:,} items, each the body `POST /api/{{kind}}` takes plus an optional
`externalId`, written in one transaction. The answer (200) is an array of results in the order of the
items: `status`, the entity's `id`, the item's `externalId` and, for a failed item, `error`: exactly the
body the single route answers for it (the validation envelope, `{{"code":403,"message":"Forbidden"}}`, …).

- **Each item is validated and permitted as the single route does**: an item that fails leaves nothing of
  itself behind, the other items are written. All are committed together: if the commit fails (500),
  nothing is written. Every write is recorded like the single route's.
- **`externalId`** (1 to 255 characters after trimming; a JSON string) is your key for the item, unique
  among your own keys of this kind (another user's keys are theirs). An item whose key names an entity
  that still exists is applied to it as `PATCH /api/{{kind}}/{{id}}` does, with that route's permission
  and validation: `updated`, or `unchanged` when nothing would change (then nothing is written: its
  `modifiedAt` stays). Any other item creates an entity (`created`) and the key then names it, also when
  the entity it named before was deleted. So sending the same items again, after a timeout say,
  changes nothing, also when the retry arrives while the first call still runs (your calls with keys
  take turns). Items are applied in order: a key repeated in one call creates, then updates.
- An item that updates means what it means on POST: {{patch_notes}}
- **Errors of the whole call**: a body that is not an array of 1 to {MAX_ITEMS:,} items is 400
  (the message says why), as is malformed JSON or a NUL character anywhere; over 1 MiB is 413. Without
  the permission to create this kind at all, the call is 403. An item that is not an object fails alone,
  with what the single POST answers for such a body; an invalid `externalId` fails its item with a
  validation error on `externalId`.
"""

ENTITY_NOTES = "`teams` apply only when the item creates (PATCH has no `teams`)."
NOTES = {
    "customers": ENTITY_NOTES,
    "projects": ENTITY_NOTES + " Dates are `Y-m-d`, as on POST.",
    "activities": ENTITY_NOTES + " An empty `project` of a global activity is left out (a global activity "
    "stays global).",
    "timesheets": "`begin` and `end` without an offset are read in your timezone, as on POST (PATCH would "
    "read them in the record's).",
}
FORMS: dict[str, type[BaseModel]] = {
    "customers": CustomerForm,
    "projects": ProjectForm,
    "activities": ActivityForm,
    "timesheets": TimesheetForm,
}


def _route(kind: service.Kind) -> None:
    async def bulk(ctx: Ctx) -> Response:
        form = await read_body(ctx.request)  # malformed JSON is 400 before anything else, as on POST
        raw = await read_json_body(ctx.request)
        if not ctx.caller.can(kind.permission):
            raise Forbidden()  # before the body's shape, as the single POST checks it before its form
        items = service.read_items(form, raw)

        def work(s: Session) -> list[dict[str, Any]]:
            return service.apply(s, kind=kind, caller=ctx.caller, settings=ctx.settings, items=items)

        return ok(await ctx.write(work))

    route = documented(list[BulkResult], errors=(400, 401, 403))
    route["responses"][500] = {"model": Error, "description": "The commit failed: nothing was written"}
    router.post(
        f"/{kind.plural}",
        **route,
        summary=f"Create or update up to {MAX_ITEMS:,} {kind.plural} (upserts by externalId)",
        description=DESCRIPTION.replace("{kind}", kind.plural).replace("{patch_notes}", NOTES[kind.plural]),
        openapi_extra=item_schema(FORMS[kind.plural]),
        name=f"bulk_{kind.plural}",
    )(bulk)


for _kind in service.KINDS:
    _route(_kind)
