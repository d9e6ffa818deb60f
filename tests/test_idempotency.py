"""Idempotency-Key on POST and PATCH under /api/: replays, conflicts, expiry, concurrency."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import Response
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select, update

from punchclock import models
from punchclock.app import create_app
from punchclock.config import Settings
from punchclock.context import Ctx
from punchclock.db import Database, utcnow
from punchclock.ext.idempotency.middleware import fingerprint
from punchclock.routing import ok
from tests.conftest import BAD_REQUEST, PEOPLE, UNAUTHORIZED, Api
from tests.test_projects import make_activity, make_customer, make_project

KEY = "Idempotency-Key"
REPLAYED = "idempotent-replayed"
DIFFERENT = {
    "code": 422,
    "message": "This Idempotency-Key was used with a different request (method, path, query or body)",
}
BAD_KEY = {"code": 400, "message": "The Idempotency-Key header must be 1 to 255 printable ASCII characters"}
STILL_RUNNING = {
    "code": 409,
    "message": "A request with this Idempotency-Key is still in progress: retry later",
}


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {KEY: key, **headers}


def stored(db: Database) -> list[tuple[int, str, str, int | None]]:
    table = models.IdempotencyKey
    with db.session() as session:
        rows = session.execute(select(table.user_id, table.key, table.state, table.status).order_by(table.id))
        return [(row.user_id, row.key, row.state, row.status) for row in rows]


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def same_answer(first: Any, again: Any) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"


# --- replays ---------------------------------------------------------------------------------------


def test_a_repeated_post_is_answered_from_the_first(api: Api, db: Database) -> None:
    first = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("create-acme"))
    assert first.status_code == 200
    again = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("create-acme"))
    same_answer(first, again)
    assert count(db, models.Customer) == 1
    assert stored(db) == [(PEOPLE["super"].id, "create-acme", "done", 200)]


def test_a_repeated_timesheet_post_creates_one_record(api: Api, db: Database) -> None:
    customer = make_customer(api)
    project = make_project(api, "Website", customer["id"])
    activity = make_activity(api, "Design", project["id"])
    body = {
        "project": project["id"],
        "activity": activity["id"],
        "begin": "2024-05-01T09:00:00",
        "end": "2024-05-01T17:00:00",
    }
    answers = [api.post("/api/timesheets", json=body, as_="user", headers=keyed("ts-0501")) for _ in range(3)]
    assert answers[0].status_code == 200
    assert answers[0].json()["duration"] == 8 * 3600
    same_answer(answers[0], answers[1])
    same_answer(answers[0], answers[2])
    assert count(db, models.Timesheet) == 1


def test_a_repeated_patch_is_not_applied_again(api: Api, db: Database) -> None:
    customer = make_customer(api, "Acme")
    url = f"/api/customers/{customer['id']}"
    first = api.patch(url, json={"comment": "first"}, headers=keyed("patch-1"))
    assert first.status_code == 200
    assert first.json()["comment"] == "first"
    assert api.patch(url, json={"comment": "second"}).status_code == 200  # a change without a key
    again = api.patch(url, json={"comment": "first"}, headers=keyed("patch-1"))
    same_answer(first, again)
    assert api.get(url).json()["comment"] == "second"  # the replay changed nothing


def test_a_validation_error_is_stored_and_replayed(api: Api, db: Database) -> None:
    first = api.post("/api/customers", json={"name": "A"}, headers=keyed("bad-name"))
    assert first.status_code == 400
    assert first.json()["message"] == "Validation Failed"
    assert first.json()["errors"]["children"]["name"] == {
        "errors": ["This value is too short. It should have 2 characters or more."]
    }
    again = api.post("/api/customers", json={"name": "A"}, headers=keyed("bad-name"))
    same_answer(first, again)
    # A corrected body is another request: it needs another key.
    fixed = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("bad-name"))
    assert (fixed.status_code, fixed.json()) == (422, DIFFERENT)
    assert count(db, models.Customer) == 0
    assert stored(db) == [(PEOPLE["super"].id, "bad-name", "done", 400)]


def test_a_form_body_is_replayed_too(api: Api, db: Database) -> None:
    form = {"name": "Acme", "visible": "1"}
    first = api.post("/api/customers", data=form, headers=keyed("form"))
    assert first.status_code == 200
    same_answer(first, api.post("/api/customers", data=form, headers=keyed("form")))
    assert count(db, models.Customer) == 1


# --- what counts as the same request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/customers", {"name": "Other"}),  # another body
        ("POST", "/api/customers?x=1", {"name": "Acme"}),  # another query
        ("POST", "/api/projects", {"name": "Acme"}),  # another path
        ("PATCH", "/api/customers/1", {"name": "Acme"}),  # another method and path
    ],
)
def test_the_key_with_another_request_is_422(
    api: Api, db: Database, method: str, url: str, body: dict[str, str]
) -> None:
    first = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("k"))
    assert first.status_code == 200
    response = api.request(method, url, json=body, headers=keyed("k"))
    assert (response.status_code, response.json()) == (422, DIFFERENT)
    assert REPLAYED not in response.headers
    assert [c["name"] for c in api.get("/api/customers").json()] == ["Acme"]


def test_the_same_json_as_a_form_is_another_request(api: Api) -> None:
    """The content type is part of the request: the same bytes may mean something else."""
    raw = b"name=Acme"
    first = api.post(
        "/api/customers",
        content=raw,
        headers=keyed("ct", **{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert first.status_code == 200
    other = api.post("/api/customers", content=raw, headers=keyed("ct", **{"Content-Type": "text/plain"}))
    assert (other.status_code, other.json()) == (422, DIFFERENT)


def test_keys_belong_to_their_user(api: Api, db: Database) -> None:
    """One key and one body from two users: two requests, each run and replayed on its own."""
    answers = {
        who: api.post("/api/customers", json={"name": "Acme"}, as_=who, headers=keyed("same"))
        for who in ("super", "admin")
    }
    for answer in answers.values():
        assert answer.status_code == 200
        assert REPLAYED not in answer.headers
    assert answers["super"].json()["id"] != answers["admin"].json()["id"]
    assert count(db, models.Customer) == 2
    assert sorted(row[:2] for row in stored(db)) == [
        (PEOPLE["super"].id, "same"),
        (PEOPLE["admin"].id, "same"),
    ]
    for who, answer in answers.items():
        same_answer(answer, api.post("/api/customers", json={"name": "Acme"}, as_=who, headers=keyed("same")))


# --- failures, expiry --------------------------------------------------------------------------------


@pytest.fixture
def flaky(db: Database, app_settings: Settings, openapi_document: dict[str, Any]) -> Any:
    """The app plus a write route that fails on its first call (an exception, so Kimai's 500), answers
    503 on its second and succeeds from the third on; each call records a tag first."""
    app = create_app(app_settings, db)
    app.openapi_schema = openapi_document
    calls: list[int] = []

    @app.post("/api/flaky")
    async def flaky_route(ctx: Ctx) -> Response:
        calls.append(1)

        def write(session: Any) -> None:
            session.add(models.Tag(name=f"call-{len(calls)}"))

        await ctx.write(write)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        if len(calls) == 2:
            return ok({"code": 503, "message": "Service Unavailable"}, 503)
        return ok({"calls": len(calls)})

    with TestClient(app) as client:
        yield Api(client, openapi_document)


def test_a_server_error_releases_the_key_so_a_retry_runs(flaky: Api, db: Database) -> None:
    def call() -> Any:
        return flaky.post("/api/flaky", json={"x": 1}, headers=keyed("retry-me"))

    crashed = call()
    assert (crashed.status_code, crashed.json()) == (500, {"code": 500, "message": "Internal Server Error"})
    assert stored(db) == []
    unavailable = call()
    assert (unavailable.status_code, unavailable.json()) == (
        503,
        {"code": 503, "message": "Service Unavailable"},
    )
    assert stored(db) == []
    succeeded = call()
    assert (succeeded.status_code, succeeded.json()) == (200, {"calls": 3})
    same_answer(succeeded, call())
    assert count(db, models.Tag) == 3  # the route ran three times, not four
    assert stored(db) == [(PEOPLE["super"].id, "retry-me", "done", 200)]


def test_an_expired_key_runs_again(api: Api, db: Database, app_settings: Settings) -> None:
    app_settings.idempotency_key_ttl_hours = 0.3 / 3600  # 0.3 s
    first = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("short"))
    assert first.status_code == 200
    time.sleep(0.4)
    again = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("short"))
    assert again.status_code == 200
    assert REPLAYED not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert count(db, models.Customer) == 2
    assert stored(db) == [(PEOPLE["super"].id, "short", "done", 200)]  # the old row made room


def test_expired_keys_are_purged(api: Api, db: Database) -> None:
    now = utcnow()
    with db.session(write=True) as session:
        for key, expires_at in (
            ("old", now - dt.timedelta(seconds=1)),
            ("live", now + dt.timedelta(hours=1)),
        ):
            session.execute(
                insert(models.IdempotencyKey).values(
                    user_id=PEOPLE["admin"].id,
                    key=key,
                    fingerprint="0" * 64,
                    state="done",
                    status=200,
                    headers=[],
                    body=b"{}",
                    created_at=now - dt.timedelta(days=1),
                    expires_at=expires_at,
                )
            )
    # The first claim of a freshly started app purges (then at most every ten minutes).
    assert api.post("/api/customers", json={"name": "Acme"}, headers=keyed("new")).status_code == 200
    assert sorted(row[1] for row in stored(db)) == ["live", "new"]


# --- concurrency ---------------------------------------------------------------------------------------


def test_concurrent_requests_with_one_key_run_once(api: Api, db: Database) -> None:
    customer = make_customer(api)
    project = make_project(api, "Website", customer["id"])
    activity = make_activity(api, "Design", project["id"])
    body = {
        "project": project["id"],
        "activity": activity["id"],
        "begin": "2024-05-01T09:00:00",
        "end": "2024-05-01T10:00:00",
    }
    start = threading.Barrier(8)

    def send(_: int) -> Any:
        start.wait()
        return api.post("/api/timesheets", json=body, headers=keyed("together"))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}
    assert sum(REPLAYED in a.headers for a in answers) == 7
    assert count(db, models.Timesheet) == 1


def hold(db: Database, *, user: str, key: str, method: str, path: str, body: bytes) -> None:
    """An in-progress claim, as a request that is still running leaves it."""
    scope = {
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    now = utcnow()
    with db.session(write=True) as session:
        session.execute(
            insert(models.IdempotencyKey).values(
                user_id=PEOPLE[user].id,
                key=key,
                fingerprint=fingerprint(scope, body),
                state="in_progress",
                created_at=now,
                expires_at=now + dt.timedelta(minutes=5),
            )
        )


def later(seconds: float, action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


BODY = b'{"name":"Acme"}'


def post_raw(api: Api, key: str) -> Any:
    return api.post(
        "/api/customers", content=BODY, headers=keyed(key, **{"Content-Type": "application/json"})
    )


def test_a_second_request_waits_for_the_first_and_replays_it(api: Api, db: Database) -> None:
    made = api.post("/api/customers", json={"name": "Acme"})  # what the "running" request will answer
    hold(db, user="super", key="slow", method="POST", path="/api/customers", body=BODY)

    def finish() -> None:
        with db.session(write=True) as session:
            session.execute(
                update(models.IdempotencyKey)
                .where(models.IdempotencyKey.key == "slow")
                .values(
                    state="done",
                    status=200,
                    headers=[["content-type", "application/json"]],
                    body=made.content,
                )
            )

    started = time.monotonic()
    finisher = later(0.3, finish)
    response = post_raw(api, "slow")
    finisher.join()
    assert time.monotonic() - started >= 0.3
    assert (response.status_code, response.content, response.headers[REPLAYED]) == (200, made.content, "true")
    assert count(db, models.Customer) == 1


def test_a_waiting_request_runs_when_the_first_fails(api: Api, db: Database) -> None:
    hold(db, user="super", key="slow", method="POST", path="/api/customers", body=BODY)

    def fail() -> None:
        with db.session(write=True) as session:
            session.execute(delete(models.IdempotencyKey).where(models.IdempotencyKey.key == "slow"))

    releaser = later(0.3, fail)
    response = post_raw(api, "slow")
    releaser.join()
    assert response.status_code == 200
    assert REPLAYED not in response.headers
    assert count(db, models.Customer) == 1
    assert stored(db) == [(PEOPLE["super"].id, "slow", "done", 200)]


def test_a_request_still_running_after_the_wait_is_409(api: Api, db: Database) -> None:
    hold(db, user="super", key="stuck", method="POST", path="/api/customers", body=BODY)
    started = time.monotonic()
    response = post_raw(api, "stuck")
    assert 3 <= time.monotonic() - started < 6
    assert (response.status_code, response.json()) == (409, STILL_RUNNING)
    assert response.headers["retry-after"] == "1"
    assert count(db, models.Customer) == 0
    # A different request with the key is refused at once, running or not.
    started = time.monotonic()
    other = api.post("/api/customers", json={"name": "Other"}, headers=keyed("stuck"))
    assert (other.status_code, other.json()) == (422, DIFFERENT)
    assert time.monotonic() - started < 1


# --- the header itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", b"x" * 256, b"caf\xe9", b"tab\there", b"line\x7f"])
def test_a_malformed_key_is_400(api: Api, db: Database, key: bytes) -> None:
    for as_ in ("super", None):  # checked before the credentials
        response = api.client.post(
            "/api/customers",
            json={"name": "Acme"},
            headers={**api.headers(as_), KEY: key},  # type: ignore[dict-item]
        )
        assert (response.status_code, response.json()) == (400, BAD_KEY)
    assert count(db, models.Customer) == 0
    assert stored(db) == []


def test_two_keys_are_400_and_every_printable_character_is_a_key(api: Api, db: Database) -> None:
    twice = api.client.post(
        "/api/customers",
        json={"name": "Acme"},
        headers=[*api.headers("super").items(), (KEY, "a"), (KEY, "b")],
    )
    assert (twice.status_code, twice.json()) == (400, BAD_KEY)
    longest = "".join(chr(c) for c in range(0x20, 0x7F)) * 3  # 285: cut to the limit
    key = longest[:255]
    first = api.post("/api/customers", json={"name": "Acme"}, headers=keyed(key))
    assert first.status_code == 200
    same_answer(first, api.post("/api/customers", json={"name": "Acme"}, headers=keyed(key)))
    assert stored(db) == [(PEOPLE["super"].id, key, "done", 200)]


def test_a_body_over_the_cap_is_413_and_not_stored(api: Api, db: Database) -> None:
    huge = b'{"name":"' + b"x" * (1024 * 1024) + b'"}'
    for _ in range(2):
        response = api.post(
            "/api/customers", content=huge, headers=keyed("huge", **{"Content-Type": "application/json"})
        )
        assert (response.status_code, response.json()) == (413, {"code": 413, "message": "Content Too Large"})
    assert stored(db) == []


def test_requests_without_the_header_store_nothing(api: Api, db: Database) -> None:
    customer = make_customer(api)
    assert api.patch(f"/api/customers/{customer['id']}", json={"comment": "x"}).status_code == 200
    # Other methods and paths outside /api/ ignore the header.
    assert api.get("/api/customers", headers=keyed("get")).status_code == 200
    assert api.delete(f"/api/customers/{customer['id']}", headers=keyed("delete")).status_code == 204
    assert api.client.post("/explorer", headers=keyed("page")).status_code == 405
    assert stored(db) == []


def test_unauthenticated_requests_store_nothing(api: Api, db: Database) -> None:
    anonymous = api.post("/api/customers", json={"name": "Acme"}, as_=None, headers=keyed("anon"))
    assert (anonymous.status_code, anonymous.json()) == (401, UNAUTHORIZED)
    bad_token = api.client.post(
        "/api/customers", json={"name": "Acme"}, headers=keyed("anon", Authorization="Bearer nope")
    )
    assert (bad_token.status_code, bad_token.content) == (401, b"")
    assert "invalid_token" in bad_token.headers["www-authenticate"]
    assert stored(db) == []
    assert count(db, models.Customer) == 0


def test_legacy_logins_work_and_a_failure_counts_once(api: Api, db: Database) -> None:
    def legacy(secret: str) -> Any:
        headers = keyed("legacy", **{"X-AUTH-USER": "john_user", "X-AUTH-TOKEN": secret})
        return api.post("/api/tags", json={"name": "legacy"}, as_=None, headers=headers)

    # Five failures are allowed per window: were each attempt counted twice, the third would be 400.
    for _ in range(5):
        failed = legacy("wrong")
        assert (failed.status_code, failed.json()) == (403, {"message": "Invalid credentials"})
    assert legacy("wrong").json() == BAD_REQUEST
    assert stored(db) == []


def test_legacy_login_replays(api: Api, db: Database) -> None:
    def legacy() -> Any:
        headers = keyed("legacy", **{"X-AUTH-USER": "john_user", "X-AUTH-TOKEN": "legacy-secret"})
        return api.post("/api/tags", json={"name": "legacy"}, as_=None, headers=headers)

    first = legacy()
    assert first.status_code == 200
    same_answer(first, legacy())
    assert stored(db) == [(PEOPLE["user"].id, "legacy", "done", 200)]


def test_new_api_tokens_are_never_stored(api: Api, db: Database) -> None:
    """Their secret is shown once: the header is ignored there, and documented nowhere for it."""
    for _ in range(2):
        response = api.post("/api/users/me/api-tokens", json={"name": "laptop"}, headers=keyed("token"))
        assert response.status_code == 200
        assert REPLAYED not in response.headers
    assert stored(db) == []
    assert count(db, models.ApiToken) == len(PEOPLE) + 2


# --- documentation and CORS ------------------------------------------------------------------------------


def test_every_post_and_patch_documents_the_header(openapi_document: dict[str, Any]) -> None:
    guarded = 0
    for path, item in openapi_document["paths"].items():
        for method in ("post", "patch"):
            if method not in item:
                continue
            operation = item[method]
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            if path == "/api/users/me/api-tokens":
                assert KEY not in names
                continue
            guarded += 1
            assert names.count(KEY) == 1, f"{method} {path}"
            assert {"400", "409", "422"} <= set(operation["responses"]), f"{method} {path}"
    assert guarded > 40
    for method in ("get", "delete"):
        assert KEY not in str(openapi_document["paths"]["/api/customers/{id}"][method].get("parameters"))


def test_cors_lets_pages_send_the_key_and_read_the_replay_header(api: Api) -> None:
    origin = {"Origin": "https://app.example.org"}
    preflight = api.client.options(
        "/api/customers",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    first = api.post("/api/customers", json={"name": "Acme"}, headers=keyed("cors", **origin))
    conflict = api.post("/api/customers", json={"name": "Other"}, headers=keyed("cors", **origin))
    assert conflict.status_code == 422
    for answer in (first, conflict):
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "Idempotent-Replayed" in answer.headers["access-control-expose-headers"]


# --- bulk routes ----------------------------------------------------------------------------------------


def test_bulk_customer_creation_is_replayed(api: Api, db: Database) -> None:
    body = [{"name": "Acme"}, {"name": "Globex"}]
    first = api.post("/api/ext/bulk/customers", json=body, headers=keyed("bulk"))
    assert first.status_code == 200, first.text
    assert [item["status"] for item in first.json()] == ["created", "created"]
    same_answer(first, api.post("/api/ext/bulk/customers", json=body, headers=keyed("bulk")))
    assert count(db, models.Customer) == 2
