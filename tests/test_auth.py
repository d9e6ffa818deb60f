"""Authentication as Kimai does it: Bearer API tokens, the legacy X-AUTH headers, and the role table.

Facts: Symfony's access-token authenticator (empty 401 with ``WWW-Authenticate``), Kimai's
``AccessTokenHandler`` (last usage at most once a minute), its deprecated ``TokenAuthenticator``
(403 ``{"message": …}``, a random delay, failures limited per client IP) and ``kimai.permissions``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import bcrypt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, select, update

from punchclock import models
from punchclock.app import create_app
from punchclock.auth.permission_table import ALL_PERMISSIONS, ROLE_PERMISSIONS
from punchclock.auth.permissions import permissions_for
from punchclock.auth.service import create_token
from punchclock.db import Database, utcnow
from punchclock.users.models import ApiToken, User
from tests.conftest import API_PASSWORD, PEOPLE, UNAUTHORIZED, Api
from tests.conftest import test_settings as settings_for

INVALID = {"message": "Invalid credentials"}
INVALID_TOKEN = 'Bearer error="invalid_token",error_description="Invalid credentials."'
DISABLED_TOKEN = 'Bearer error="invalid_token",error_description="Account is disabled."'

MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(db: Database, database_url: str) -> Iterator[MakeApi]:
    """A second app over the same seeded database, with settings changed."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Api:
            app = create_app(settings_for(database_url, **overrides), db)
            return Api(stack.enter_context(TestClient(app)))

        yield make


def legacy(login: str, secret: str) -> dict[str, str]:
    return {"X-AUTH-USER": login, "X-AUTH-TOKEN": secret}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ping(api: Api, headers: dict[str, str]) -> Any:
    return api.get("/api/ping", as_=None, headers=headers)


def token_rows(db: Database, key: str) -> list[ApiToken]:
    with db.session() as session:
        return list(
            session.scalars(select(ApiToken).where(ApiToken.user_id == PEOPLE[key].id).order_by(ApiToken.id))
        )


def set_token(db: Database, key: str, **values: Any) -> None:
    with db.session(write=True) as session:
        session.execute(update(ApiToken).where(ApiToken.user_id == PEOPLE[key].id).values(**values))


def set_user(db: Database, key: str, **values: Any) -> None:
    with db.session(write=True) as session:
        session.execute(update(User).where(User.id == PEOPLE[key].id).values(**values))


def api_password_of(db: Database, key: str) -> str | None:
    with db.session() as session:
        return session.scalar(select(User.api_password).where(User.id == PEOPLE[key].id))


def new_tokens(db: Database, key: str, count: int) -> list[str]:
    with db.session(write=True) as session:
        return [
            create_token(session, username=PEOPLE[key].username, name=f"extra {n}")[1] for n in range(count)
        ]


def assert_invalid_token(response: Any, header: str = INVALID_TOKEN) -> None:
    # Symfony's access-token authenticator answers with an empty body and the RFC 6750 header.
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == header
    assert response.content == b""


# --- Bearer tokens ---------------------------------------------------------------------------


def test_bearer_token_of_every_role_is_accepted(api: Api) -> None:
    for key in PEOPLE:
        response = api.get("/api/ping", as_=key)
        assert response.status_code == 200, key
        assert response.json() == {"message": "pong"}


def test_unknown_bearer_token_is_invalid_credentials(api: Api) -> None:
    assert_invalid_token(ping(api, bearer("no-such-token")))


def test_bearer_token_is_compared_exactly(api: Api) -> None:
    token = PEOPLE["user"].token
    assert_invalid_token(ping(api, bearer(token + "x")))


def test_expired_token_is_rejected_and_a_future_expiry_is_not(api: Api, db: Database) -> None:
    set_token(db, "user", expires_at=utcnow() + dt.timedelta(minutes=5))
    assert api.get("/api/ping", as_="user").status_code == 200
    set_token(db, "user", expires_at=utcnow() - dt.timedelta(seconds=1))
    assert_invalid_token(api.get("/api/ping", as_="user"))
    # Other people's tokens are unaffected.
    assert api.get("/api/ping", as_="admin").status_code == 200


def test_token_of_a_disabled_user_says_account_is_disabled(api: Api, db: Database) -> None:
    set_user(db, "teamlead", enabled=False)
    assert_invalid_token(api.get("/api/ping", as_="teamlead"), DISABLED_TOKEN)
    set_user(db, "teamlead", enabled=True)
    assert api.get("/api/ping", as_="teamlead").status_code == 200


MALFORMED_AUTHORIZATION = [
    "Bearer",
    "Bearer ",
    "Basic c3VzYW5fc3VwZXI6cGFzc3dvcmQxMjM=",
    "bearer token-of-susan_super",
    "Token token-of-susan_super",
    "Bearer token-of-susan_super x",
    "Bearer token,of",
    "token-of-susan_super",
]


def test_malformed_authorization_counts_as_no_credentials(api: Api) -> None:
    for authorization in MALFORMED_AUTHORIZATION:
        response = ping(api, {"Authorization": authorization})
        assert response.status_code == 401, authorization
        assert response.json() == UNAUTHORIZED, authorization
        assert "invalid_token" not in response.headers.get("www-authenticate", ""), authorization


def test_no_credentials_at_all(api: Api) -> None:
    response = ping(api, {})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_bearer_scheme_may_be_followed_by_any_whitespace(api: Api) -> None:
    # Symfony's header extractor: ^Bearer\s+(b64token)$
    for authorization in ("Bearer  token-of-john_user", "Bearer\ttoken-of-john_user"):
        assert ping(api, {"Authorization": authorization}).status_code == 200, authorization


def test_bearer_token_with_padding_characters_is_looked_up(api: Api) -> None:
    # The b64token grammar allows trailing "=": such a token is well-formed, so it is looked up (and unknown).
    assert_invalid_token(ping(api, bearer("abc.def~ghi+/==")))


def test_last_usage_is_written_on_first_use_only_within_the_interval(api: Api, db: Database) -> None:
    (before,) = token_rows(db, "user")
    assert before.last_usage is None
    started = utcnow()
    assert api.get("/api/ping", as_="user").status_code == 200
    (first,) = token_rows(db, "user")
    assert first.last_usage is not None
    assert started - dt.timedelta(seconds=1) <= first.last_usage <= utcnow()
    # Within the default interval (60 s) further use leaves it alone.
    assert api.get("/api/ping", as_="user").status_code == 200
    assert api.get("/api/customers", as_="user").status_code == 200
    (second,) = token_rows(db, "user")
    assert second.last_usage == first.last_usage
    # Only the token that was used is touched.
    assert all(row.last_usage is None for row in token_rows(db, "admin"))


@pytest.mark.parametrize(
    ("interval", "age", "rewritten"),
    [(2, 0.5, False), (2, 3, True), (60, 30, False), (60, 61, True)],
)
def test_last_usage_interval_setting(
    make_api: MakeApi, db: Database, interval: int, age: float, rewritten: bool
) -> None:
    api = make_api(token_usage_interval_seconds=interval)
    old = utcnow() - dt.timedelta(seconds=age)
    set_token(db, "admin", last_usage=old)
    assert api.get("/api/ping", as_="admin").status_code == 200
    (row,) = token_rows(db, "admin")
    assert row.last_usage is not None
    if rewritten:
        assert row.last_usage > old + dt.timedelta(seconds=age / 2)
    else:
        assert row.last_usage == old


def test_only_the_sha256_of_a_token_is_stored(api: Api, db: Database) -> None:
    (plain,) = new_tokens(db, "user", 1)
    assert ping(api, bearer(plain)).status_code == 200
    assert token_rows(db, "user")[-1].token_hash == hashlib.sha256(plain.encode()).hexdigest()
    # The plain secret is nowhere in the database: search every text column of every table.
    with db.session() as session:
        for table in models.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            for column in columns:
                hits = session.execute(select(column).where(column.contains(plain))).all()
                assert hits == [], f"{table.name}.{column.name} holds the plain token"


def test_several_tokens_per_user_all_work(api: Api, db: Database) -> None:
    tokens = [PEOPLE["user"].token, *new_tokens(db, "user", 2)]
    for token in tokens:
        assert ping(api, bearer(token)).status_code == 200
    # Each token recorded its own use, and they all belong to the user: a user may not create customers.
    assert all(row.last_usage is not None for row in token_rows(db, "user"))
    for token in tokens:
        response = api.post("/api/customers", as_=None, headers=bearer(token), json={"name": "X"})
        assert response.status_code == 403
        assert response.json() == {"code": 403, "message": "Forbidden"}


# --- Legacy X-AUTH-USER / X-AUTH-TOKEN ------------------------------------------------------


def test_legacy_headers_accept_username_or_email(api: Api) -> None:
    person = PEOPLE["teamlead"]
    for login in (person.username, person.email):
        response = ping(api, legacy(login, API_PASSWORD))
        assert response.status_code == 200, login
        assert response.json() == {"message": "pong"}


def test_legacy_headers_act_as_that_user(api: Api) -> None:
    as_user = api.post("/api/customers", as_=None, headers=legacy("john_user", API_PASSWORD), json={})
    assert as_user.status_code == 403
    as_admin = api.post(
        "/api/customers", as_=None, headers=legacy("anna_admin", API_PASSWORD), json={"name": "Acme"}
    )
    assert as_admin.status_code == 200


WRONG_LEGACY_CREDENTIALS = [
    ("john_user", "wrong"),
    ("john_user", API_PASSWORD.upper()),
    ("nobody", API_PASSWORD),
    ("john_user", "password123"),  # the login password is not the API password
]


def test_legacy_wrong_credentials_are_403_without_code(api: Api) -> None:
    for login, secret in WRONG_LEGACY_CREDENTIALS:
        response = ping(api, legacy(login, secret))
        assert response.status_code == 403, (login, secret)
        assert response.json() == INVALID


def test_legacy_empty_header_names_the_missing_one(api: Api) -> None:
    missing_user = "Authentication required, missing user header: X-AUTH-USER"
    missing_token = "Authentication required, missing token header: X-AUTH-TOKEN"
    for login, secret, message in [
        ("", API_PASSWORD, missing_user),
        ("", "", missing_user),
        ("john_user", "", missing_token),
    ]:
        response = ping(api, legacy(login, secret))
        assert response.status_code == 403, (login, secret)
        assert response.json() == {"message": message}


def test_legacy_needs_both_headers(api: Api) -> None:
    for headers in ({"X-AUTH-USER": "john_user"}, {"X-AUTH-TOKEN": API_PASSWORD}):
        response = ping(api, headers)
        assert response.status_code == 401, headers
        assert response.json() == UNAUTHORIZED


def test_legacy_user_without_api_password_cannot_log_in(api: Api, db: Database) -> None:
    set_user(db, "user", api_password=None)
    response = ping(api, legacy("john_user", API_PASSWORD))
    assert response.status_code == 403
    assert response.json() == INVALID


def test_legacy_disabled_user_is_403(api: Api, db: Database) -> None:
    set_user(db, "admin", enabled=False)
    response = ping(api, legacy("anna_admin", API_PASSWORD))
    assert response.status_code == 403
    assert response.json() == INVALID


def test_legacy_token_header_accepts_own_api_token(api: Api, db: Database) -> None:
    """Extension: X-AUTH-TOKEN may carry one of the user's API tokens instead of the API password."""
    (extra,) = new_tokens(db, "user", 1)
    for secret in (PEOPLE["user"].token, extra):
        assert ping(api, legacy("john_user", secret)).status_code == 200
    # Someone else's token is not a credential for this user.
    response = ping(api, legacy("john_user", PEOPLE["super"].token))
    assert response.status_code == 403
    assert response.json() == INVALID
    # Nor is an expired token.
    set_token(db, "user", expires_at=utcnow() - dt.timedelta(seconds=1))
    assert ping(api, legacy("john_user", PEOPLE["user"].token)).status_code == 403


def test_legacy_failures_are_limited_per_client(make_api: MakeApi) -> None:
    """5 failures answer 403; after them the address gets 400 for the rest of the window, even with
    correct credentials (Kimai would still check those: then the limit would not stop guessing).
    Correct credentials, empty headers and disabled accounts never count as failures."""
    api = make_api(legacy_auth_max_failures=5)
    for _ in range(5):
        response = ping(api, legacy("john_user", "wrong"))
        assert response.status_code == 403
        assert response.json() == INVALID
    for login, secret in (("john_user", "wrong"), ("nobody", "x")):
        response = ping(api, legacy(login, secret))
        assert response.status_code == 400
        assert response.json() == {"code": 400, "message": "Bad Request"}
    assert ping(api, legacy("john_user", API_PASSWORD)).status_code == 400
    empty = ping(api, legacy("", API_PASSWORD))
    assert empty.status_code == 403
    assert empty.json() == {"message": "Authentication required, missing user header: X-AUTH-USER"}
    # Bearer tokens are a different authenticator and are never limited.
    assert api.get("/api/ping", as_="user").status_code == 200


def test_legacy_limit_is_a_setting_and_disabled_accounts_do_not_count(
    make_api: MakeApi, db: Database
) -> None:
    api = make_api(legacy_auth_max_failures=2)
    set_user(db, "admin", enabled=False)
    for _ in range(3):
        assert ping(api, legacy("anna_admin", "wrong")).status_code == 403
    assert ping(api, legacy("john_user", "wrong")).status_code == 403
    assert ping(api, legacy("john_user", "wrong")).status_code == 403
    assert ping(api, legacy("john_user", "wrong")).status_code == 400


def test_legacy_limiter_belongs_to_the_app(make_api: MakeApi) -> None:
    first = make_api(legacy_auth_max_failures=1)
    second = make_api(legacy_auth_max_failures=1)
    assert ping(first, legacy("john_user", "wrong")).status_code == 403
    assert ping(first, legacy("john_user", "wrong")).status_code == 400
    assert ping(second, legacy("john_user", "wrong")).status_code == 403


def _elapsed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def test_legacy_attempts_are_delayed_and_bearer_calls_are_not(make_api: MakeApi) -> None:
    api = make_api(legacy_auth_delay_ms=(50, 60))
    for secret, status in ((API_PASSWORD, 200), ("wrong", 403)):
        elapsed, response = _elapsed_ms(lambda s=secret: ping(api, legacy("john_user", s)))
        assert response.status_code == status
        assert elapsed >= 50
    timings = [_elapsed_ms(lambda: api.get("/api/ping", as_="user"))[0] for _ in range(3)]
    assert min(timings) < 50


def test_kimai_bcrypt_api_password_is_verified_and_upgraded(api: Api, db: Database) -> None:
    # Kimai (PHP) writes bcrypt hashes with the $2y$ prefix.
    kimai_hash = bcrypt.hashpw(API_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    kimai_hash = kimai_hash.replace("$2b$", "$2y$", 1)
    assert kimai_hash.startswith("$2y$04$")
    set_user(db, "user", api_password=kimai_hash)
    # A wrong secret neither logs in nor touches the stored hash.
    assert ping(api, legacy("john_user", "wrong")).status_code == 403
    assert api_password_of(db, "user") == kimai_hash
    assert ping(api, legacy("john_user", API_PASSWORD)).status_code == 200
    upgraded = api_password_of(db, "user")
    assert upgraded is not None
    assert upgraded.startswith("$argon2")
    assert API_PASSWORD not in upgraded
    # The upgraded hash keeps working, and is not rewritten again.
    assert ping(api, legacy("john_user", API_PASSWORD)).status_code == 200
    assert api_password_of(db, "user") == upgraded


def test_unreadable_stored_api_password_is_a_failed_login(api: Api, db: Database) -> None:
    set_user(db, "user", api_password="not-a-hash")
    response = ping(api, legacy("john_user", "not-a-hash"))
    assert response.status_code == 403
    assert response.json() == INVALID


# --- The role -> permission table (Kimai's kimai.permissions defaults) -------------------------


@pytest.mark.parametrize(
    ("role", "own", "effective"),
    [
        ("ROLE_USER", 19, 19),
        ("ROLE_TEAMLEAD", 57, 58),
        ("ROLE_ADMIN", 81, 82),
        ("ROLE_SUPER_ADMIN", 100, 101),
    ],
)
def test_permission_counts_per_role(role: str, own: int, effective: int) -> None:
    assert len(ROLE_PERMISSIONS[role]) == own
    # Everyone also gets ROLE_USER's set, which adds time_team_project to the higher roles.
    assert len(permissions_for([role])) == effective
    assert ROLE_PERMISSIONS[role] <= ALL_PERMISSIONS


def test_permission_table_lists_every_role() -> None:
    assert set(ROLE_PERMISSIONS) == {"ROLE_USER", "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN"}
    assert permissions_for([]) == ROLE_PERMISSIONS["ROLE_USER"]
    # Stored roles are unioned, not resolved through the role hierarchy.
    assert permissions_for(["ROLE_TEAMLEAD", "ROLE_ADMIN"]) == (
        ROLE_PERMISSIONS["ROLE_USER"] | ROLE_PERMISSIONS["ROLE_TEAMLEAD"] | ROLE_PERMISSIONS["ROLE_ADMIN"]
    )
    assert permissions_for(["ROLE_UNKNOWN"]) == ROLE_PERMISSIONS["ROLE_USER"]


ROLES = {"U": [], "TL": ["ROLE_TEAMLEAD"], "A": ["ROLE_ADMIN"], "SA": ["ROLE_SUPER_ADMIN"]}


@pytest.mark.parametrize(
    ("permission", "holders"),
    [
        ("api_access", {"U", "TL", "A", "SA"}),
        ("time_team_project", {"U", "TL", "A", "SA"}),
        ("view_own_timesheet", {"U", "TL", "A", "SA"}),
        ("create_tag", {"U", "TL", "A", "SA"}),
        ("view_other_timesheet", {"TL", "A", "SA"}),
        ("create_activity", {"TL", "A", "SA"}),
        ("edit_teamlead_activity", {"TL"}),
        ("view_teamlead_project", {"TL"}),
        ("details_teamlead_customer", {"TL"}),
        ("view_rate_own_timesheet", {"TL", "A", "SA"}),
        ("create_customer", {"A", "SA"}),
        ("create_project", {"A", "SA"}),
        ("edit_activity", {"A", "SA"}),
        ("delete_customer", {"A", "SA"}),
        ("details_customer", {"A", "SA"}),
        ("view_all_data", {"A", "SA"}),
        ("edit_rate_own_timesheet", {"A", "SA"}),
        ("view_team", {"A", "SA"}),
        ("view_user", {"SA"}),
        ("create_user", {"SA"}),
        ("plugins", {"SA"}),
        ("delete_invoice", set()),
    ],
)
def test_permission_holders(permission: str, holders: set[str]) -> None:
    assert {short for short, roles in ROLES.items() if permission in permissions_for(roles)} == holders
    assert permission in ALL_PERMISSIONS
