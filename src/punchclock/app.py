"""The application factory: routers, Kimai's error bodies, CORS, and the OpenAPI document."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from punchclock import __version__
from punchclock.activities.routes import router as activities_router
from punchclock.auth.dependencies import FailureLimiter
from punchclock.config import Settings, get_settings
from punchclock.customers.routes import router as customers_router
from punchclock.db import Database
from punchclock.ext import idempotency
from punchclock.ext.bulk.routes import router as bulk_router
from punchclock.ext.changes.routes import router as changes_router
from punchclock.invoices.routes import router as invoices_router
from punchclock.kimai.errors import KimaiError, reason
from punchclock.kimai.middleware import KimaiRouting, ServerErrors
from punchclock.kimai.responses import json_response
from punchclock.projects.routes import router as projects_router
from punchclock.system import router as system_router
from punchclock.tags.routes import router as tags_router
from punchclock.teams.routes import router as teams_router
from punchclock.timesheets.routes import config as timesheet_config_router
from punchclock.timesheets.routes import favorites as favorites_router
from punchclock.timesheets.routes import router as timesheets_router
from punchclock.users.routes import router as users_router
from punchclock.web.routes import router as web_router

log = logging.getLogger("punchclock")

EXPOSED_HEADERS = [
    "X-Page",
    "X-Total-Count",
    "X-Total-Pages",
    "X-Per-Page",
    "X-Next-Cursor",
    idempotency.REPLAYED,
]
ALLOWED_HEADERS = ["Content-Type", "Authorization", "X-AUTH-USER", "X-AUTH-TOKEN", idempotency.HEADER]

DESCRIPTION = """
Punchclock speaks the Kimai 2 JSON API (version 2.66). Authenticate every call with
`Authorization: Bearer <token>` (create one with `punchclock token create USER --name NAME`), or with the
legacy pair `X-AUTH-USER` / `X-AUTH-TOKEN`.

Request datetimes are HTML5 local times (`2024-05-01T09:00:00`) in the user's timezone; responses carry
an offset (`2024-05-01T09:00:00+0200`). Lists return plain arrays; only timesheets and invoices paginate.

Try requests in the browser with the [API explorer](/explorer).
"""


@functools.cache
def _freeze_start_up_heap() -> None:
    """What start-up built (modules, routes, models) lives as long as the process: frozen, the garbage
    collector stops walking it in every full collection (bench/bench_bulk.py: ~15 µs per timesheet
    went to collections, ~4 µs with the freeze). Once per process, after a collection: freezing
    again at each app start would also freeze the garbage of apps that ran before (tests start
    thousands in one process), which then is never collected."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(
        settings.database_url, threads=settings.db_threads, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _freeze_start_up_heap()
        yield
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Punchclock (Kimai 2 compatible API)",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        openapi_url="/api/doc.json",
        redoc_url=None,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.legacy_limiter = FailureLimiter(
        settings.legacy_auth_max_failures, settings.legacy_auth_window_seconds
    )

    for router in (
        system_router,
        customers_router,
        projects_router,
        activities_router,
        timesheets_router,
        favorites_router,
        timesheet_config_router,
        tags_router,
        users_router,
        teams_router,
        invoices_router,
        bulk_router,
        changes_router,
        web_router,
    ):
        app.include_router(router)

    _install_docs(app)
    _install_error_handlers(app)
    # Inside KimaiRouting (it sees the normalised request) and ServerErrors (its own failures get
    # Kimai's 500), so all its answers carry the CORS headers too.
    app.add_middleware(idempotency.Idempotency)
    # Added last, so outermost: redirects, routing and error answers carry the CORS headers too.
    app.add_middleware(ServerErrors)
    app.add_middleware(KimaiRouting)
    if origins := [origin.strip() for origin in settings.cors_allow_origin.split(",") if origin.strip()]:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=3600,
        )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /api/doc, served from the packaged assets (no CDN: works offline)."""
    assets = "/api/doc/assets"
    app.mount(assets, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-assets")

    @app.get("/api/doc", include_in_schema=False)
    async def swagger_ui() -> Response:
        return get_swagger_ui_html(
            openapi_url="/api/doc.json",
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KimaiError)
    async def kimai_error(_request: Request, exc: KimaiError) -> Response:
        body = exc.body()
        if body is None:
            return Response(status_code=exc.status, headers=exc.headers)
        return json_response(body, exc.status, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        body = {"code": exc.status_code, "message": reason(exc.status_code)}
        return json_response(body, exc.status_code, dict(exc.headers or {}))  # keeps Allow on a 405

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(_request: Request, exc: RequestValidationError) -> Response:
        # Kimai's routes require digits for path ids: anything else matches no route (404).
        if any(error.get("loc", ())[:1] == ("path",) for error in exc.errors()):
            return json_response({"code": 404, "message": "Not Found"}, 404)
        return json_response({"code": 400, "message": "Bad Request"}, 400)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        "apiToken": {"type": "http", "scheme": "bearer", "description": "An API token"},
        "legacyUser": {"type": "apiKey", "in": "header", "name": "X-AUTH-USER"},
        "legacyToken": {"type": "apiKey", "in": "header", "name": "X-AUTH-TOKEN"},
    }
    schema["security"] = [{"apiToken": []}, {"legacyUser": [], "legacyToken": []}]
    # Every request body is capped (see kimai.body): writes may answer 413.
    too_large = {
        "description": "The request body is larger than 1 MiB",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                operation["responses"].setdefault("413", too_large)
    _drop_fastapi_422(schema)
    idempotency.document(schema)  # after the drop: its 422 is a real answer
    app.openapi_schema = schema
    return schema


def _drop_fastapi_422(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 on every route with parameters, but request validation answers Kimai's
    400 or 404 (see ``bad_parameter``): drop those responses and their schemas."""
    for item in schema["paths"].values():
        for operation in item.values():
            operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    if {"loc", "msg", "type"} <= set(schemas.get("ValidationError", {}).get("properties", {})):
        del schemas["ValidationError"]
