"""The documentation keeps up with the code.

Fails when a route is missing from the OpenAPI document, when a setting or a command is missing from
README.md, or when the served document is not valid OpenAPI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator

from punchclock.app import create_app
from punchclock.config import Settings
from tests.test_cli import command_paths, leaf_commands

README = Path(__file__).resolve().parent.parent / "README.md"
METHODS = ("get", "post", "put", "patch", "delete")
# Routes that, as in Kimai, read no request body: toggling a pin, duplicating a project, and the
# removed team routes that only answer 410.
NO_BODY = {
    ("patch", "/api/customers/{id}/comments/{commentId}/pin"),
    ("patch", "/api/projects/{id}/comments/{commentId}/pin"),
    ("post", "/api/projects/{id}/duplicate"),
    ("post", "/api/customers/{id}/team"),
    ("post", "/api/projects/{id}/team"),
    ("post", "/api/activities/{id}/team"),
    ("patch", "/api/timesheets/{id}/stop"),
    ("patch", "/api/timesheets/{id}/duplicate"),
    ("patch", "/api/timesheets/{id}/export"),
    ("post", "/api/favorites/timesheets/{id}"),
    ("post", "/api/teams/{id}/members/{userId}"),
    ("post", "/api/teams/{id}/customers/{customerId}"),
    ("post", "/api/teams/{id}/projects/{projectId}"),
    ("post", "/api/teams/{id}/activities/{activityId}"),
}
# Writes whose body may be left out entirely besides an entity's PATCH.
OPTIONAL_BODY = {("patch", "/api/timesheets/{id}/restart")}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    # The documentation needs no database; the file is never created.
    return create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('docs') / 'docs.db'}"))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/doc.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every API route of the app, hidden ones included."""
    try:  # FastAPI >= 0.120 keeps included routers lazily; this walks into them.
        from fastapi.routing import iter_route_contexts
    except ImportError:
        routes: Any = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    found = []
    for route in routes:
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            continue
        path = route.path_format
        if path in (app.docs_url, app.openapi_url, "/api/doc"):
            continue  # the documentation itself
        found += [(method.lower(), path) for method in route.methods if method != "HEAD"]
    return sorted(found)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


# --- (1) every route is documented ----------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document(app: FastAPI, spec: dict[str, Any]) -> None:
    routes = api_routes(app)
    assert ("get", "/api/ping") in routes, "the route walk found nothing"
    assert all(path.startswith("/api/") for _, path in routes)
    missing = [
        f"{method.upper()} {path}" for method, path in routes if method not in spec["paths"].get(path, {})
    ]
    assert not missing, f"routes missing from /api/doc.json: {missing}"
    documented = {(method, path) for method, path, _ in operations(spec)}
    assert documented == set(routes), "the document describes routes the app does not have"


def test_every_operation_has_a_summary_and_documents_401(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        assert operation.get("summary"), f"{method.upper()} {path} has no summary"
        assert "401" in operation["responses"], f"{method.upper()} {path} does not document 401"


def test_no_operation_documents_a_status_kimai_never_sends(spec: dict[str, Any]) -> None:
    # Request validation answers Kimai's 400 or 404, never FastAPI's 422; the only 422 is a reused
    # Idempotency-Key's (tests/test_idempotency.py).
    with_422 = [
        f"{m.upper()} {p}"
        for m, p, op in operations(spec)
        if "422" in op["responses"] and "Idempotency-Key" not in op["responses"]["422"]["description"]
    ]
    assert not with_422, f"422 is documented but never sent: {with_422}"


# --- (5) request bodies -----------------------------------------------------------------------------


def test_every_post_and_patch_documents_its_request_body(spec: dict[str, Any]) -> None:
    writes = {(m, p): op for m, p, op in operations(spec) if m in ("post", "patch", "put")}
    assert set(writes) >= NO_BODY, f"stale NO_BODY entries: {NO_BODY - set(writes)}"
    for (method, path), operation in writes.items():
        name = f"{method.upper()} {path}"
        if (method, path) in NO_BODY:
            assert "requestBody" not in operation, f"{name} reads no body but documents one"
            continue
        body = operation.get("requestBody")
        assert body, f"{name} documents no requestBody"
        # An entity's PATCH may leave out every key; other writes need their body.
        partial = (method == "patch" and path.endswith("/{id}")) or (method, path) in OPTIONAL_BODY
        assert body.get("required") is not partial, name
        if partial:
            assert "required" not in body["content"]["application/json"]["schema"], name
        # Kimai's FOSRest decoder takes JSON; forms are accepted as well.
        assert {"application/json", "application/x-www-form-urlencoded"} <= set(body["content"]), name
        schema = body["content"]["application/json"]["schema"]
        assert schema.get("properties") or schema.get("items"), f"{name}: an empty body schema"


# --- (4) the served documentation ------------------------------------------------------------------


def test_swagger_ui_is_served_offline(client: TestClient) -> None:
    page = client.get("/api/doc")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert "'/api/doc.json'" in page.text or '"/api/doc.json"' in page.text
    assets = re.findall(r'(?:href|src)="(/api/doc/assets/[^"]+)"', page.text)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "cdn." not in page.text, "the UI must work without internet access"


def test_the_openapi_document_is_public(client: TestClient) -> None:
    response = client.get("/api/doc.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "www-authenticate" not in response.headers


def test_the_openapi_document_is_valid(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    try:
        from openapi_spec_validator import validate
    except ImportError:  # the meta-schema of OpenAPI 3.1, as shipped by schemathesis
        from schemathesis.specs.openapi.definitions import OPENAPI_31

        jsonschema.Draft202012Validator(OPENAPI_31).validate(spec)
    else:
        validate(spec)
    for name, schema in spec["components"]["schemas"].items():
        try:
            OAS31Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            pytest.fail(f"components.schemas.{name}: {exc.message}")


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(spec))
    assert found, "no references at all"
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"], f"dangling {ref}"


def test_the_security_schemes_are_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiToken"] == {"type": "http", "scheme": "bearer", "description": "An API token"}
    assert (schemes["legacyUser"]["in"], schemes["legacyUser"]["name"]) == ("header", "X-AUTH-USER")
    assert (schemes["legacyToken"]["in"], schemes["legacyToken"]["name"]) == ("header", "X-AUTH-TOKEN")
    assert spec["security"] == [{"apiToken": []}, {"legacyUser": [], "legacyToken": []}]


# --- (2), (3) README ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(readme: str, name: str) -> None:
    variable = f"PUNCHCLOCK_{name.upper()}"
    assert re.search(rf"\b{variable}\b", readme), f"README.md does not mention {variable}"


@pytest.mark.parametrize("path", leaf_commands())
def test_every_command_is_in_the_readme(readme: str, path: str) -> None:
    assert f"punchclock {path}" in readme, f"README.md does not mention `punchclock {path}`"


def test_the_readme_names_no_command_that_does_not_exist(readme: str) -> None:
    known = set(command_paths())
    groups = {p for p in known if " " not in p and any(q.startswith(p + " ") for q in known)}
    for words in re.findall(r"`punchclock ((?:[a-z][a-z-]* ?)+)", readme):
        words = words.split()
        command = " ".join(words[:2]) if words[0] in groups else words[0]
        assert command in known, f"README.md names `punchclock {command}`, which does not exist"


def test_cached_document_is_the_apps_own(app_settings: Settings, openapi_document: dict[str, Any]) -> None:
    """The suite checks responses against a document built once; it must be what an app serves."""
    app = create_app(app_settings)
    with TestClient(app) as client:
        assert client.get("/api/doc.json").json() == openapi_document
