"""The API explorer page (``/explorer``) and the CORS rules it relies on.

The page is checked over HTTP (self-contained, its inlined OpenAPI document is the live one) and in a
real browser: the system's headless Chromium, driven by selenium through the system's chromedriver
(given explicitly, so Selenium Manager never downloads anything), against the app served by uvicorn
on a free port over the test database. One browser serves the whole module.

Set ``PUNCHCLOCK_TEST_SCREENSHOT=FILE.png`` to save a screenshot of the page (the README's).
``PUNCHCLOCK_REQUIRE_BROWSER=1`` (set by CI) turns a missing Chromium into a failure instead of a skip.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from punchclock import __version__
from punchclock.app import create_app
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.kimai.version import KIMAI_VERSION
from punchclock.timesheets.models import Timesheet
from tests.conftest import PEOPLE
from tests.conftest import test_settings as settings_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REQUIRE_BROWSER = os.environ.get("PUNCHCLOCK_REQUIRE_BROWSER") == "1"
SCREENSHOT = os.environ.get("PUNCHCLOCK_TEST_SCREENSHOT", "")
TOKEN = PEOPLE["super"].token
PAGING = ("X-Page", "X-Total-Count", "X-Total-Pages", "X-Per-Page")


# --- The page over HTTP --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # Serving the page needs no database; the file is never created.
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('explorer') / 'unused.db'}")
    with TestClient(create_app(settings)) as client:
        yield client


def inline(page: str, tag: str) -> str:
    found = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    assert len(found) == 1, f"expected one inline <{tag}>"
    return str(found[0])


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_is_one_self_contained_document(client: TestClient) -> None:
    response = client.get("/explorer")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    # Nothing is loaded from anywhere: no src/href to another file, no CSS import or url().
    links = re.findall(r"""\s(?:src|href)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", page)
    # The skip link, the API documentation and the page itself (to save it).
    assert sorted(links) == ['"#result"', '"api/doc"', '"explorer"']
    assert "@import" not in page
    assert "url(" not in inline(page, "style")
    policy = dict(part.split(" ", 1) for part in response.headers["content-security-policy"].split("; "))
    assert policy == {
        "default-src": "'none'",
        "script-src": f"'{sha256(inline(page, 'script'))}'",
        "style-src": f"'{sha256(inline(page, 'style'))}'",
        "connect-src": "*",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert response.headers["referrer-policy"] == "no-referrer"
    assert client.head("/explorer").status_code == 200


def test_the_bundled_routes_are_the_live_openapi_document(client: TestClient) -> None:
    page = client.get("/explorer").text
    bundled = re.search(r'<script type="application/json" id="bundled-spec">(.*?)</script>', page, re.DOTALL)
    assert bundled, "no bundled OpenAPI document"
    assert "<" not in bundled.group(1), "a '<' could end the script element early"
    assert json.loads(bundled.group(1)) == client.get("/api/doc.json").json()


def test_the_api_documentation_links_to_the_explorer(client: TestClient) -> None:
    assert "[API explorer](/explorer)" in client.get("/api/doc.json").json()["info"]["description"]


# --- CORS: what a page on another origin (or opened from disk) needs --------------------------------


def preflight(client: TestClient, origin: str, method: str = "POST") -> httpx.Response:
    response: httpx.Response = client.options(
        "/api/customers",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return response


def test_a_page_opened_from_disk_may_call_the_api_by_default(client: TestClient) -> None:
    response = preflight(client, "null")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://app.example.org", True), ("null", True), ("https://evil.example", False)],
)
def test_cors_origins_can_be_listed(tmp_path: Path, origin: str, allowed: bool) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        cors_allow_origin="https://app.example.org, null",
    )
    with TestClient(create_app(settings)) as client:
        response = preflight(client, origin)
        assert response.status_code == (200 if allowed else 400)
        answer = client.get("/api/ping", headers={"Origin": origin})
    assert answer.status_code == 401
    assert answer.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert "Origin" in answer.headers["vary"]
    if allowed:
        exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
        assert exposed == {*PAGING, "X-Next-Cursor", "Idempotent-Replayed"}


@pytest.mark.parametrize("origin", ["https://app.example.org/", "app.example.org", "https://a.example/x"])
def test_an_origin_with_a_path_or_without_scheme_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_allow_origin=f"https://ok.example,{origin}")


# --- The browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and CHROMEDRIVER):
        message = "the browser tests need chromium and chromedriver (Debian: chromium, chromium-driver)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def server(database: Database, database_url: str) -> Iterator[str]:
    """The app, served over real HTTP by uvicorn in a thread (``db`` reseeds before each test)."""
    app = create_app(settings_for(database_url), database)
    sock = free_socket()
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(500):
        if uvicorn_server.started or not thread.is_alive():
            break
        ready.wait(0.01)
    assert uvicorn_server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uvicorn_server.should_exit = True
    thread.join(5)


class OtherServer(BaseHTTPRequestHandler):
    """Answers the page the way non-Kimai servers do. Paths start with how they answer:
    ``/html`` (a web page), ``/json`` (some JSON), ``/kimai`` (Kimai 2.66: no /api/doc.json) allow
    cross-origin calls; ``/nocors`` answers Kimai's JSON but without CORS headers."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_OPTIONS(self) -> None:
        self.answer(204, b"", "text/plain")

    def do_GET(self) -> None:
        kind, _, rest = self.path.lstrip("/").partition("/")
        version = json.dumps({"version": "2.66.0", "versionId": 26600, "copyright": "Kimai"}).encode()
        if kind == "html":
            self.answer(200, b"<!doctype html><title>Welcome</title>", "text/html")
        elif kind == "json":
            self.answer(200, b'{"hello": "world"}', "application/json")
        elif kind in ("kimai", "nocors") and rest == "api/version":
            self.answer(200, version, "application/json")
        elif kind == "kimai" and rest == "api/ping":
            self.answer(200, b'{"message":"pong"}', "application/json")
        else:
            self.answer(404, b"<h1>Not Found</h1>", "text/html")

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if not self.path.startswith("/nocors"):
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def other_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OtherServer)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(5)


class Explorer:
    """The page in the browser, driven as a person would: fields, buttons, what is shown."""

    def __init__(self, driver: webdriver.Chrome, server: str) -> None:
        self.driver = driver
        self.server = server
        self.system_theme = "light"

    def open(self, url: str | None = None) -> Explorer:
        """Opens the page as a new visitor would: in a new tab (empty session storage), with nothing
        in local storage (theme, last server)."""
        url = url or f"{self.server}/explorer"
        previous = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        fresh = self.driver.current_window_handle
        self.driver.switch_to.window(previous)
        self.driver.close()
        self.driver.switch_to.window(fresh)
        features = [{"name": "prefers-color-scheme", "value": self.system_theme}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        self.driver.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "local_storage"}
        )
        self.driver.get(url)
        return self

    def wait(self, condition: Callable[[WebDriver], Any], message: str = "", timeout: float = 5) -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.02).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out: {message}\n{self.find('result-body').text[:2000]}") from None

    def find(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def fill(self, element_id: str, text: str) -> None:
        field = self.find(element_id)
        field.clear()
        if text:
            field.send_keys(text)

    def log_in(self, token: str = TOKEN, base: str | None = None, *, user: str = "") -> str:
        """Logs in; returns what the page says: the connection line or the error."""
        if base is not None:
            self.fill("base-url", base)
        self.fill("username", user)
        self.fill("token", token)
        button = self.find("login-button")
        button.click()  # clears the last error at once; the button stays disabled while the call runs
        self.wait(
            lambda d: (
                button.is_enabled()
                and (self.find("connection").text.startswith("Connected") or self.find("login-error").text)
            ),
            "the login answered",
        )
        return self.find("login-error").text or self.find("connection").text

    def shown(self) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, "#result-body > *")

    def after(self, action: Callable[[], Any]) -> None:
        """Does ``action`` and waits until the response panel shows its answer."""
        before = self.shown()
        action()
        self.wait(lambda d: self.shown() != before and not self.busy())

    def busy(self) -> bool:
        return self.find("result").get_attribute("aria-busy") == "true"

    def theme(self) -> tuple[str | None, str | None]:
        """The page's theme and what the toggle tells a screen reader."""
        html = self.driver.find_element(By.TAG_NAME, "html")
        return html.get_attribute("data-theme"), self.find("theme-toggle").get_attribute("aria-pressed")

    def click(self, element: WebElement | str) -> None:
        self.after((self.find(element) if isinstance(element, str) else element).click)

    def quick(self, label: str) -> None:
        self.click(self.driver.find_element(By.XPATH, f"//button[@data-path][normalize-space()='{label}']"))

    def status(self) -> str:
        return self.find("result-status").text

    def headers(self) -> dict[str, str]:
        facts = self.driver.find_elements(By.CSS_SELECTOR, "#result-facts dd[data-header]")
        return {fact.get_attribute("data-header") or "": fact.text for fact in facts}

    def body(self) -> Any:
        """The JSON the page shows, fully expanded, read back as JSON."""
        self.find("expand-all").click()
        return json.loads(self.driver.execute_script("return document.getElementById('json-view').innerText"))

    def choose_route(self, route: str, words: str) -> None:
        self.fill("route-filter", words)
        Select(self.find("route-select")).select_by_value(route)

    def set_body(self, body: Any) -> None:
        editor = self.find("body-editor")
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(Keys.DELETE)
        # send_keys types slowly; the value is set as a paste would, then announced as typed.
        self.driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
            editor,
            json.dumps(body),
        )


@pytest.fixture
def page(browser: webdriver.Chrome, server: str, db: Database) -> Explorer:
    return Explorer(browser, server).open()


def api_client(server: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {TOKEN}"})


def seed_timesheets(server: str, db: Database, count: int) -> None:
    """A customer, project and activity over the API; ``count`` timesheets of susan's, written directly."""
    with api_client(server) as http:
        customer = http.post("/api/customers", json={"name": "Acme"}).json()["id"]
        project = http.post("/api/projects", json={"name": "Website", "customer": customer}).json()["id"]
        activity = http.post("/api/activities", json={"name": "Design", "project": project}).json()["id"]
    start = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    with db.session(write=True) as session:
        session.add_all(
            Timesheet(
                user_id=PEOPLE["super"].id,
                project_id=project,
                activity_id=activity,
                begin=start + dt.timedelta(hours=2 * n),
                end=start + dt.timedelta(hours=2 * n + 1),
                timezone=PEOPLE["super"].timezone,
                duration=3600,
            )
            for n in range(count)
        )


# --- Logging in ----------------------------------------------------------------------------------


def test_logging_in_shows_the_server_and_keeps_the_token_out_of_urls(page: Explorer, server: str) -> None:
    assert page.find("base-url").get_attribute("value") == server  # the serving origin by default
    assert page.find("workspace").is_displayed() is False
    said = page.log_in()
    assert said == f"Connected to Punchclock {__version__} (Kimai API {KIMAI_VERSION}) at {server}"
    assert page.find("workspace").is_displayed()
    assert page.status() == "200 OK"
    assert page.body()["server"] == "Punchclock"
    storage = page.driver.execute_script(
        "return [JSON.stringify(sessionStorage), JSON.stringify(localStorage),"
        " performance.getEntriesByType('resource').map(e => e.name).join(' ') + location.href]"
    )
    assert TOKEN in storage[0]
    assert TOKEN not in storage[1], "the token must live in session storage only"
    assert TOKEN not in storage[2], "the token must never be in a URL"
    # A reload in the tab reconnects; logging out forgets the token.
    page.driver.refresh()
    page.wait(lambda d: page.find("connection").text.startswith("Connected"), "reconnected after a reload")
    logged = [entry["message"] for entry in page.driver.get_log("browser")]
    assert not [message for message in logged if TOKEN in message]
    page.find("logout-button").click()
    assert page.find("connection").text == "Not connected"
    assert TOKEN not in page.driver.execute_script("return JSON.stringify(sessionStorage)")


BAD_TOKEN = "The server refused the token (401 Unauthorized): check it, or create a new one."
NO_SCHEME = '"localhost:8001" is not a server URL: enter the full address, starting with http:// or https://'
NO_API = (
    "Not a Kimai API: {server}/explorer/api/version does not exist (404). "
    "Check the base URL and its path prefix."
)
NOT_KIMAI = "Not a Kimai server: {other}/{kind}/api/version answered 200, but not with Kimai's version JSON."
NO_ANSWER = (
    "No answer from {other}/nocors: the server is down or unreachable, the address is wrong, "
    "or the server does not allow requests from this page (CORS)."
)


def test_a_failed_login_says_why(page: Explorer, server: str, other_server: str) -> None:
    for base, token, message in [
        ("{server}", "not-a-token", BAD_TOKEN),
        ("localhost:8001", TOKEN, NO_SCHEME),
        ("{server}/explorer", TOKEN, NO_API),
        ("{other}/json", TOKEN, NOT_KIMAI.replace("{kind}", "json")),
        ("{other}/html", TOKEN, NOT_KIMAI.replace("{kind}", "html")),
        ("{other}/nocors", TOKEN, NO_ANSWER),
        ("{server}", "", "Enter an API token."),
    ]:
        said = page.log_in(token, base.format(server=server, other=other_server))
        assert said == message.format(server=server, other=other_server), base
        assert page.find("connection").text == "Not connected"
        assert page.find("workspace").is_displayed() is False
    # The refused attempts are in the history, without the token.
    history = page.driver.execute_script("return sessionStorage.getItem('punchclock-explorer.history')")
    assert history.count('"/api/version"') == 5
    assert TOKEN not in history


def test_the_legacy_login_and_the_keyboard(page: Explorer) -> None:
    page.fill("username", PEOPLE["super"].username)
    page.fill("token", "legacy-secret")
    page.find("token").send_keys(Keys.ENTER)  # the form submits from the keyboard
    page.wait(lambda d: page.find("connection").text.startswith("Connected"), "legacy login")
    # Every control has a name a screen reader can say.
    unnamed = page.driver.execute_script(
        """return [...document.querySelectorAll('input, select, textarea, button')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                          && !e.getAttribute('aria-labelledby') && !e.textContent.trim())
             .map(e => e.outerHTML)"""
    )
    assert unnamed == []


# --- The seed's buttons and paging ---------------------------------------------------------------


def test_every_seed_button_shows_the_answer(page: Explorer, server: str, db: Database) -> None:
    seed_timesheets(server, db, 3)
    page.log_in()
    with api_client(server) as http:
        for label, path in [
            ("Ping", "/api/ping"),
            ("Version", "/api/version"),
            ("Plugins", "/api/plugins"),
            ("Timesheets", "/api/timesheets"),
            ("Activities", "/api/activities"),
            ("Projects", "/api/projects"),
            ("Customers", "/api/customers"),
        ]:
            page.quick(label)
            expected = http.get(path)
            assert page.find("result-url").text == server + path
            assert page.status() == "200 OK", label
            assert re.fullmatch(r"\d+ ms", page.find("result-time").text)
            assert page.body() == expected.json(), label
            paging = {name: expected.headers[name] for name in PAGING if name in expected.headers}
            assert page.headers() == paging, label
            assert set(paging) == (set(PAGING) if label == "Timesheets" else set()), label
    announcement = re.compile(r"GET /api/customers: 200 OK in \d+ ms")
    page.wait(lambda d: announcement.fullmatch(page.find("status").get_attribute("textContent") or ""))
    # Folding, by the toolbar and from the keyboard; values are coloured by kind.
    page.find("collapse-all").click()
    assert page.driver.find_elements(By.CSS_SELECTOR, "#json-view details[open]") == []
    root = page.driver.find_element(By.CSS_SELECTOR, "#json-view > details")
    root.find_element(By.TAG_NAME, "summary").send_keys(Keys.ENTER)
    assert root.get_attribute("open") == "true"
    colours = {
        kind: page.driver.find_element(By.CSS_SELECTOR, f"#json-view .j-{kind}").value_of_css_property(
            "color"
        )
        for kind in ("key", "string", "number", "bool", "null")
    }
    assert len(set(colours.values())) == len(colours), colours


def test_paging_through_timesheets(page: Explorer, server: str, db: Database) -> None:
    seed_timesheets(server, db, 120)
    page.log_in()
    page.quick("Timesheets")

    def at(expected_page: int, pages: int, rows: int, per_page: int = 50) -> None:
        assert page.find("page-info").text == f"Page {expected_page} of {pages} (120 entries)"
        shown = page.headers()
        # The keyset cursor (an extension) of the next page, on every page but the last.
        assert (shown.pop("X-Next-Cursor", None) is not None) is (expected_page < pages)
        assert shown == {
            "X-Page": str(expected_page),
            "X-Total-Count": "120",
            "X-Total-Pages": str(pages),
            "X-Per-Page": str(per_page),
        }
        assert len(page.body()) == rows
        assert page.find("page-previous").is_enabled() is (expected_page > 1)
        assert page.find("page-next").is_enabled() is (expected_page < pages)

    at(1, 3, 50)
    first_page = {row["id"] for row in page.body()}
    page.click("page-next")
    at(2, 3, 50)
    assert page.find("result-url").text == f"{server}/api/timesheets?page=2"
    assert first_page.isdisjoint(row["id"] for row in page.body())
    if SCREENSHOT:  # the README's picture
        page.find("collapse-all").click()
        page.driver.find_element(By.CSS_SELECTOR, "#json-view > details > summary").click()
        page.driver.find_element(By.CSS_SELECTOR, "#json-view .j-children > details > summary").click()
        page.driver.save_screenshot(SCREENSHOT)
    page.click("page-last")
    at(3, 3, 20)
    page.click("page-first")
    at(1, 3, 50)
    page.after(lambda: Select(page.find("page-size")).select_by_value("100"))
    at(1, 2, 100, per_page=100)
    page.click("page-next")
    at(2, 2, 20, per_page=100)
    assert page.find("result-url").text == f"{server}/api/timesheets?size=100&page=2"


# --- The endpoint picker -------------------------------------------------------------------------


def test_a_post_through_the_picker_then_a_bad_body(page: Explorer, server: str) -> None:
    page.log_in()
    page.wait(lambda d: "/api/doc.json" in page.find("spec-source").text, "the server's routes loaded")
    page.choose_route("POST /api/customers", "post customers")
    prefilled = json.loads(page.find("body-editor").get_attribute("value") or "")
    assert prefilled == {
        "visible": True,
        "billable": True,
        "name": "",
        "country": "DE",
        "language": "en",
        "currency": "EUR",
    }
    page.set_body({"name": "Explorer Inc", "country": "AT", "timezone": "Europe/Vienna"})
    page.click("send-button")
    assert page.status() == "200 OK"
    created = page.body()
    assert {key: created[key] for key in ("name", "country", "timezone")} == {
        "name": "Explorer Inc",
        "country": "AT",
        "timezone": "Europe/Vienna",
    }
    with api_client(server) as http:
        assert http.get(f"/api/customers/{created['id']}").json() == created

    bad = {"name": "", "colour": "it's red"}
    page.set_body(bad)
    page.after(lambda: page.find("body-editor").send_keys(Keys.CONTROL, Keys.ENTER))
    assert page.status() == "400 Bad Request"
    with api_client(server) as http:
        envelope = http.post("/api/customers", json=bad).json()
    assert (envelope["code"], envelope["message"]) == (400, "Validation Failed")
    assert envelope["errors"]["errors"] == ["This form should not contain extra fields."]
    assert page.body() == envelope

    # Copy as curl: the request as sent, quoted for a POSIX shell, the token left to the shell.
    page.find("curl-button").click()
    curl = page.find("curl-output").get_attribute("value") or ""
    assert TOKEN not in curl
    assert shlex.split(curl.replace(" \\\n", " ")) == [
        "curl",
        "-X",
        "POST",
        f"{server}/api/customers",
        "-H",
        "Accept: application/json",
        "-H",
        "Authorization: Bearer $KIMAI_API_TOKEN",
        "-H",
        "Content-Type: application/json",
        "--data-raw",
        json.dumps(bad),
    ]

    # The history, newest first; an entry shows its answer again.
    entries = page.driver.find_elements(By.CSS_SELECTOR, "#history-list button")
    assert [e.text.split("\n")[:3] for e in entries] == [
        ["POST", "/api/customers", "400"],
        ["POST", "/api/customers", "200"],
        ["GET", "/api/version", "200"],
    ]
    page.click(entries[1])
    assert page.status() == "200 OK"
    assert page.body() == created


def test_path_parameters_and_the_dark_theme(page: Explorer, server: str) -> None:
    page.log_in()
    page.wait(lambda d: "/api/doc.json" in page.find("spec-source").text, "the server's routes loaded")
    page.choose_route("GET /api/customers/{id}", "customers/{id} get")
    page.find("send-button").click()
    assert page.find("operation-error").text == "Enter a value for id."
    with api_client(server) as http:
        customer = http.post("/api/customers", json={"name": "Acme"}).json()
    page.fill("param-0", str(customer["id"]))
    page.click("send-button")
    assert page.find("result-url").text == f"{server}/api/customers/{customer['id']}"
    assert page.body() == customer

    # The system's theme until one is chosen; the choice is remembered.
    assert page.theme() == ("light", "false")
    page.find("theme-toggle").click()
    assert page.theme() == ("dark", "true")
    page.driver.refresh()
    assert page.theme() == ("dark", "true")
    page.system_theme = "dark"
    page.open()
    assert page.theme() == ("dark", "true")
    page.find("theme-toggle").click()
    page.driver.refresh()
    assert page.theme() == ("light", "false")


def test_a_saved_copy_works_from_disk(
    page: Explorer, server: str, other_server: str, tmp_path: Path, db: Database
) -> None:
    saved = tmp_path / "punchclock-explorer.html"
    saved.write_bytes(httpx.get(f"{server}/explorer").content)
    page.open(saved.as_uri())
    assert page.find("base-url").get_attribute("value") == ""
    # Against Punchclock, from the "null" origin: CORS lets the page in.
    assert page.log_in(base=server).startswith("Connected to Punchclock")
    page.quick("Ping")
    assert page.body() == {"message": "pong"}
    # Against a server without /api/doc.json (as Kimai 2.66): the bundled routes fill the picker.
    page.find("logout-button").click()
    said = page.log_in(base=f"{other_server}/kimai")
    assert said == f"Connected to Kimai API 2.66.0 at {other_server}/kimai"
    page.wait(lambda d: "bundled" in page.find("spec-source").text, "the bundled routes")
    assert page.find("spec-source").text == (
        "The server serves no /api/doc.json: these are the routes of "
        f"Punchclock (Kimai 2 compatible API) {__version__}, bundled with this page."
    )
    spec = httpx.get(f"{server}/api/doc.json").json()
    routes = [f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item]
    options = Select(page.find("route-select")).options
    assert sorted(o.get_attribute("value") or "" for o in options[1:]) == sorted(routes)  # grouped by tag
    page.choose_route("GET /api/ping", "ping")
    page.click("send-button")
    assert page.find("result-url").text == f"{other_server}/kimai/api/ping"
    assert page.body() == {"message": "pong"}


def test_the_history_keeps_no_secret(page: Explorer, server: str) -> None:
    page.log_in()
    page.wait(lambda d: "/api/doc.json" in page.find("spec-source").text, "the server's routes loaded")
    page.choose_route("POST /api/users/me/api-tokens", "api-tokens")
    page.set_body({"name": "laptop"})
    page.click("send-button")
    assert page.status() == "200 OK"
    secret = page.body()["token"]  # shown once, on the page
    history = page.driver.execute_script("return sessionStorage.getItem('punchclock-explorer.history')")
    assert "laptop" in history
    assert secret not in history
