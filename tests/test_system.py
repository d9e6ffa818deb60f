"""System endpoints, the order of Kimai's checks (router, body, firewall), CORS, and no 500 on odd input.

Order facts: Symfony's router (404/405, ``\\d+`` ids, trailing-slash redirect for GET) runs before
FOSRest's body listener (400 for malformed JSON), which runs before the firewall (401).
CORS: nelmio_cors on ``^/api/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punchclock import __version__
from punchclock.app import create_app
from punchclock.db import Database
from tests.conftest import API_PASSWORD, BAD_REQUEST, NOT_ALLOWED, NOT_FOUND, PEOPLE, UNAUTHORIZED, Api
from tests.conftest import test_settings as settings_for

COLORS = [
    ("Silver", "#c0c0c0"),
    ("Gray", "#808080"),
    ("Black", "#000000"),
    ("Maroon", "#800000"),
    ("Brown", "#a52a2a"),
    ("Red", "#ff0000"),
    ("Orange", "#ffa500"),
    ("Gold", "#ffd700"),
    ("Yellow", "#ffff00"),
    ("Peach", "#ffdab9"),
    ("Khaki", "#f0e68c"),
    ("Olive", "#808000"),
    ("Lime", "#00ff00"),
    ("Jelly", "#9acd32"),
    ("Green", "#008000"),
    ("Teal", "#008080"),
    ("Aqua", "#00ffff"),
    ("LightBlue", "#add8e6"),
    ("DeepSky", "#00bfff"),
    ("Dodger", "#1e90ff"),
    ("Blue", "#0000ff"),
    ("Navy", "#000080"),
    ("Purple", "#800080"),
    ("Fuchsia", "#ff00ff"),
    ("Violet", "#ee82ee"),
    ("Rose", "#ffe4e1"),
    ("Lavender", "#E6E6FA"),
]

SYSTEM_URLS = ["/api/ping", "/api/version", "/api/plugins", "/api/config/colors"]


@pytest.fixture
def make_api(db: Database, database_url: str) -> Iterator[Callable[..., Api]]:
    """A second app over the same seeded database, with settings changed."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Api:
            app = create_app(settings_for(database_url, **overrides), db)
            return Api(stack.enter_context(TestClient(app)))

        yield make


# --- System endpoints -------------------------------------------------------------------------


def test_ping(api: Api) -> None:
    response = api.get("/api/ping")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "pong"}


def test_version(api: Api) -> None:
    response = api.get("/api/version", as_="user")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "version": "2.66.0",
        "versionId": 26600,
        "copyright": "Kimai 2.66.0 by Kevin Papst.",
        "server": "Punchclock",
        "serverVersion": __version__,
    }
    assert type(body["versionId"]) is int


def test_plugins_is_an_empty_list(api: Api) -> None:
    response = api.get("/api/plugins", as_="teamlead")
    assert response.status_code == 200
    assert response.json() == []


def test_colors_are_the_27_default_choices_in_order(api: Api) -> None:
    response = api.get("/api/config/colors", as_="admin")
    assert response.status_code == 200
    assert list(response.json().items()) == COLORS
    # Order is part of the contract: check the raw text too, not only the parsed dict.
    assert response.text.index('"Silver"') < response.text.index('"Lavender"')
    assert len(COLORS) == 27


# Tables of requests that change nothing run as one test each: a test's setup costs more than a request.


def expect(api: Api, method: str, url: str, status: int, body: Any, **kwargs: Any) -> None:
    response = api.request(method, url, **kwargs)
    case = f"{method} {url} as {kwargs.get('as_', 'super')}"
    assert response.status_code == status, f"{case}: {response.status_code} {response.text}"
    assert response.json() == body, case


def test_system_endpoints_need_credentials(api: Api) -> None:
    for url in SYSTEM_URLS:
        expect(api, "GET", url, 401, UNAUTHORIZED, as_=None)


def test_system_endpoints_open_to_every_role_and_to_legacy_headers(api: Api) -> None:
    legacy = {"X-AUTH-USER": "john_user", "X-AUTH-TOKEN": API_PASSWORD}
    for url in SYSTEM_URLS:
        for key in PEOPLE:
            assert api.get(url, as_=key).status_code == 200, (url, key)
        assert api.get(url, as_=None, headers=legacy).status_code == 200, url


# --- Router before body before firewall --------------------------------------------------------

UNKNOWN_ROUTES = [
    ("GET", "/api/nothing"),
    ("GET", "/api"),
    ("GET", "/api/customers/1/nothing"),
    ("POST", "/api/nothing"),
    ("GET", "/api/config/timesheets"),
    ("GET", "/api/customer"),
]

WRONG_METHODS = [
    ("DELETE", "/api/ping"),
    ("POST", "/api/version"),
    ("PUT", "/api/customers"),
    ("DELETE", "/api/projects"),
    ("PUT", "/api/activities/1"),
    ("POST", "/api/customers/1"),
    ("DELETE", "/api/customers/1/rates"),
    ("GET", "/api/projects/1/rates/2"),
]

# Kimai's routes require \d+ ids: anything else matches no route.
NON_DIGIT_IDS = [
    ("GET", "/api/customers/abc"),
    ("GET", "/api/projects/1a"),
    ("GET", "/api/activities/-1"),
    ("GET", "/api/customers/1.0"),
    ("GET", "/api/customers/%C2%B2"),  # superscript two: str.isdigit() is true, int() fails
    ("GET", "/api/customers/%D9%A3"),  # Arabic-Indic three
    ("PATCH", "/api/activities/x"),
    ("DELETE", "/api/projects/0x1"),
    ("GET", "/api/customers/x/rates"),
    ("DELETE", "/api/customers/1/rates/x"),
    ("PATCH", "/api/projects/1/comments/1e3/pin"),
]


@pytest.mark.parametrize("as_", [None, "super"])
def test_router_answers_before_the_firewall(api: Api, as_: str | None) -> None:
    for method, url in UNKNOWN_ROUTES + NON_DIGIT_IDS:
        expect(api, method, url, 404, NOT_FOUND, as_=as_)
    for method, url in WRONG_METHODS:
        expect(api, method, url, 405, NOT_ALLOWED, as_=as_)


def test_non_digit_id_is_404_before_a_malformed_body(api: Api) -> None:
    malformed = {"content": b"{", "headers": {"Content-Type": "application/json"}}
    expect(api, "PATCH", "/api/customers/abc", 404, NOT_FOUND, as_=None, **malformed)


def test_id_beyond_the_column_range_is_404(api: Api) -> None:
    for url in ("/api/customers/99999999999999999999", "/api/projects/2147483648"):
        expect(api, "GET", url, 404, NOT_FOUND)


MALFORMED_JSON = [b"{", b'{"name": }', b"[1,", b"nul", b"{'name': 'x'}", b'"unterminated']
JSON_SCALARS = [b"1", b'"Acme"', b"true", b"null", b"1.5"]


def test_malformed_or_scalar_json_is_400_before_401(api: Api) -> None:
    json_type = {"Content-Type": "application/json"}
    for method, url in (("POST", "/api/customers"), ("PATCH", "/api/projects/999")):
        for content in MALFORMED_JSON:
            expect(api, method, url, 400, BAD_REQUEST, as_=None, content=content, headers=json_type)
    for as_ in (None, "super"):
        for content in JSON_SCALARS:
            expect(
                api, "POST", "/api/customers", 400, BAD_REQUEST, as_=as_, content=content, headers=json_type
            )
    # A well-formed body gets as far as the firewall.
    expect(api, "POST", "/api/customers", 401, UNAUTHORIZED, as_=None, json={"name": "Acme"})


def test_get_with_trailing_slash_redirects_permanently(api: Api) -> None:
    response = api.get("/api/customers/?visible=3")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/api/customers?visible=3")
    followed = api.get("/api/customers?visible=3")
    assert followed.status_code == 200
    assert followed.json() == []
    response = api.get("/api/ping/")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/api/ping")


def test_post_with_trailing_slash_is_404(api: Api) -> None:
    for url in ("/api/customers/", "/api/projects/", "/api/activities/"):
        expect(api, "POST", url, 404, NOT_FOUND, json={"name": "Acme"})


BAD_QUERIES = [
    "/api/customers?visible=0",
    "/api/customers?order=up",
    "/api/customers?orderBy=color",
    "/api/projects?customer=x",
    "/api/projects?customers[]=x",
    "/api/projects?ignoreDates=true",
    "/api/projects?start=yesterday",
    "/api/projects?end=2024-13-01",
    "/api/projects?globalActivities=yes",
    "/api/activities?visible=4",
    "/api/activities?project=1.5",
    "/api/projects?customers[]=%C2%B2",  # "²" is not a decimal digit (and int() refuses it)
    "/api/projects?customer=%C2%B2",
    "/api/activities?projects[]=%C2%B2",
    "/api/projects?term=a%00b",  # PostgreSQL cannot compare text with NUL
    "/api/customers?term=%00",
]


def test_bad_query_parameter_is_400(api: Api) -> None:
    for url in BAD_QUERIES:
        expect(api, "GET", url, 400, BAD_REQUEST)


def test_unicode_decimal_ids_pass_the_check_and_name_no_row(api: Api) -> None:
    """Kimai's ``\\d+`` runs in PCRE's Unicode mode, so "٣" (Arabic-Indic three) passes; no row has
    that id, so the filter ignores it like any unknown id (it must not be read as customer 3)."""
    for name in ("One", "Two", "Three"):
        customer = api.post("/api/customers", json={"name": name}).json()
        project = api.post("/api/projects", json={"name": f"P{name}", "customer": customer["id"]})
        assert project.status_code == 200, project.text
    everything = ["POne", "PThree", "PTwo"]
    for query, expected in [
        ("customer=2", ["PTwo"]),
        ("customer=%D9%A3", everything),
        ("customers[]=%D9%A3", everything),
        ("customers[]=%D9%A3&customers[]=1", ["POne"]),
    ]:
        response = api.get(f"/api/projects?ignoreDates=1&{query}")
        assert response.status_code == 200, query
        assert [p["name"] for p in response.json()] == expected, query


def test_undeclared_query_parameters_are_ignored(api: Api) -> None:
    response = api.get("/api/customers?page=x&size=-1&whatever=1")
    assert response.status_code == 200
    assert response.json() == []


def test_nul_in_a_body_string_is_400_on_every_backend(api: Api) -> None:
    for body in (
        {"name": "Ac\x00me"},
        {"name": "Acme", "comment": "\x00"},
        {"name": "Acme", "tags": ["\x00"]},
    ):
        expect(api, "POST", "/api/customers", 400, BAD_REQUEST, json=body)
    assert api.get("/api/customers?visible=3").json() == []


def test_team_ids_must_be_ascii_digits(api: Api) -> None:
    for teams in (["\u00b2"], ["\u0663"], "1"):
        response = api.post("/api/customers", json={"name": "Acme", "teams": teams})
        assert response.status_code == 400, teams
        errors = response.json()["errors"]["children"]["teams"]
        assert errors == {"errors": ["The selected choice is invalid."]}, teams


# --- CORS ---------------------------------------------------------------------------------------


def test_cors_preflight_allows_the_legacy_headers(api: Api) -> None:
    response = api.client.options(
        "/api/customers",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-AUTH-TOKEN",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "3600"
    allowed_headers = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"x-auth-token", "x-auth-user", "authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert allowed_methods == {"GET", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}


def test_cors_preflight_needs_no_credentials_even_for_writes(api: Api) -> None:
    response = api.client.options(
        "/api/customers/1",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_exposes_the_pagination_headers(api: Api) -> None:
    response = api.get("/api/customers", headers={"Origin": "https://app.example.org"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    # Paging (and the keyset cursor), and whether an Idempotency-Key answer is a replay.
    paging = {"X-Page", "X-Total-Count", "X-Total-Pages", "X-Per-Page", "X-Next-Cursor"}
    assert exposed == {*paging, "Idempotent-Replayed"}


def test_cors_headers_also_on_errors(api: Api) -> None:
    response = api.get("/api/customers", as_=None, headers={"Origin": "https://app.example.org"})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "*"


def test_an_unhandled_error_is_kimais_500_with_cors_headers(db: Database, app_settings: Any) -> None:
    app = create_app(app_settings, db)

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/boom", headers={"Origin": "https://app.example.org"})
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "Internal Server Error"}
    # Inside the CORS layer: a cross-origin page sees the 500 instead of a network failure.
    assert response.headers["access-control-allow-origin"] == "*"


def test_no_cors_headers_without_origin(api: Api) -> None:
    response = api.get("/api/customers")
    assert "access-control-allow-origin" not in response.headers


def test_empty_cors_setting_disables_cors(make_api: Callable[..., Api]) -> None:
    api = make_api(cors_allow_origin="")
    response = api.get("/api/customers", headers={"Origin": "https://app.example.org"})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]
    preflight = api.client.options(
        "/api/customers",
        headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


# --- No 500, whatever the input -----------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_CUSTOMER_KEYS = [
    "name",
    "number",
    "comment",
    "company",
    "vatId",
    "vat_id",
    "country",
    "currency",
    "language",
    "timezone",
    "email",
    "color",
    "visible",
    "billable",
    "budget",
    "timeBudget",
    "budgetType",
    "teams",
    "homepage",
    "invoiceTemplate",
]
_customer_bodies = st.dictionaries(
    st.sampled_from(_CUSTOMER_KEYS) | st.text(max_size=12), _json, max_size=8
) | st.lists(_json, max_size=3)

_PROJECT_PARAMS = [
    "customer",
    "customers[]",
    "visible",
    "start",
    "end",
    "ignoreDates",
    "globalActivities",
    "order",
    "orderBy",
    "term",
]
_param_values = (
    st.text(max_size=25)
    | st.integers(min_value=-(10**20), max_value=10**20).map(str)
    | st.sampled_from(["1", "2", "3", "0", "ASC", "DESC", "name", "2024-05-01", "2024-05-01T10:00:00", "²"])
)
_project_queries = st.lists(
    st.tuples(st.sampled_from(_PROJECT_PARAMS) | st.text(max_size=8), _param_values), max_size=5
)

_FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_FUZZ
@given(body=_customer_bodies)
def test_fuzz_post_customers_never_500(api: Api, body: Any) -> None:
    response = api.post(
        "/api/customers", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400), response.text


@_FUZZ
@given(query=_project_queries)
def test_fuzz_project_list_query_never_500(api: Api, query: list[tuple[str, str]]) -> None:
    response = api.get("/api/projects?" + urlencode(query))
    assert response.status_code in (200, 400, 403), response.text


@_FUZZ
@given(raw=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60))
def test_fuzz_raw_project_query_string_never_500(api: Api, raw: str) -> None:
    response = api.get("/api/projects?" + raw)
    assert response.status_code in (200, 400, 403), response.text
