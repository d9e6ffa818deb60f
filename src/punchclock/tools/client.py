"""A small client for Kimai-compatible JSON APIs (Kimai 2 or Punchclock), shared by the command-line tools.

One ``httpx.Client`` is kept for the whole run, so every request reuses the same keep-alive connection.
Failures become exceptions that carry the tools' exit code: the server cannot be reached or is not a
Kimai API (7), the token is refused (8), the token's user lacks a permission (9), the server rejected
a request (10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from punchclock import __version__

EXIT_UNREACHABLE = 7
EXIT_AUTHENTICATION = 8
EXIT_PERMISSION = 9
EXIT_REJECTED = 10


class ApiError(Exception):
    """A request that did not succeed. ``status`` is None when no HTTP answer came back."""

    exit_code: ClassVar[int] = EXIT_REJECTED

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class Unreachable(ApiError):
    """No connection, a timeout, a redirect, or an answer that is not from a Kimai API."""

    exit_code = EXIT_UNREACHABLE


class AuthenticationFailed(ApiError):
    exit_code = EXIT_AUTHENTICATION


class PermissionDenied(ApiError):
    exit_code = EXIT_PERMISSION


class Rejected(ApiError):
    """The server refused this one request (a 400 with its validation messages, a 404, a 5xx…)."""

    exit_code = EXIT_REJECTED


def api_base(url: str) -> str:
    """The API root ending in ``/api/``, whether ``url`` names the site or the API:
    ``https://kimai.example.com``, ``…/kimai/``, ``…/api`` and ``…/api/`` all work."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.username is not None or parts.password is not None:
        # httpx would send them as Basic auth in place of the token, and messages would show them.
        raise ValueError("the URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ValueError(f"the URL must not have a query or fragment: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/api"):
        path += "/api"
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def check_token(token: str) -> str:
    """A token goes into an HTTP header: printable ASCII without spaces."""
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError("the token must be printable ASCII without spaces")
    return token


def describe(body: Any, status: int) -> str:
    """One line from a Kimai error body: the message plus every validation message, by field."""
    if not isinstance(body, dict):
        return f"HTTP {status}"
    parts = [str(body.get("message") or f"HTTP {status}")]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{path}: {message}" if path else message for path, message in _form_errors(errors, "")]
    return "; ".join(parts)


def _form_errors(node: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """Kimai's envelope nests ``{"errors": [...], "children": {field: {...}}}`` per form level."""
    found = [(path, str(message)) for message in node.get("errors") or () if isinstance(message, str)]
    children = node.get("children")
    if isinstance(children, dict):
        for name, child in children.items():
            if isinstance(child, dict):
                found += _form_errors(child, f"{path}.{name}" if path else str(name))
    return found


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: httpx.Headers


class KimaiClient:
    """JSON requests against one Kimai API with a Bearer token; counts the requests it makes."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = api_base(url)
        check_token(token)
        self.requests = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"punchclock/{__version__}",
            },
            timeout=timeout,
            # A redirect (http → https, a moved site) would turn a POST into a GET: report it instead.
            follow_redirects=False,
            transport=transport,
        )

    def __enter__(self) -> KimaiClient:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).body

    def post(self, path: str, data: Any) -> Any:
        return self.request("POST", path, json=data).body

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Reply:
        """A successful answer (2xx with a JSON body, or 204); any other outcome raises."""
        self.requests += 1
        where = f"{method} {self.base_url}{path}"
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            raise Unreachable(f"{where}: no answer in time") from None
        except httpx.HTTPError as exc:
            # "[Errno 111] Connection refused" -> "Connection refused"
            reason = re.sub(r"^\[Errno -?\d+\] ", "", str(exc)) or type(exc).__name__
            raise Unreachable(f"{where}: cannot connect: {reason}") from None
        status = response.status_code
        body = _json(response)
        if 300 <= status < 400:
            target = response.headers.get("location", "elsewhere")
            raise Unreachable(f"{where}: redirected to {target}; give that address as the URL", status=status)
        if status == 401:
            raise AuthenticationFailed(f"{where}: the API token was not accepted (401)", status=status)
        if status == 403:
            # Kimai's legacy login answers bad credentials with a 403 without "code".
            if isinstance(body, dict) and "code" not in body and body.get("message") == "Invalid credentials":
                raise AuthenticationFailed(f"{where}: invalid credentials", status=status, body=body)
            raise PermissionDenied(f"{where}: permission denied (403)", status=status, body=body)
        if status >= 400:
            if body is _NOT_JSON:
                raise Unreachable(
                    f"{where}: HTTP {status} without a JSON body; is this a Kimai API?", status=status
                )
            raise Rejected(describe(body, status), status=status, body=body)
        if status == 204:
            return Reply(status, None, response.headers)
        if body is _NOT_JSON:
            raise Unreachable(f"{where}: the answer is not JSON; is this a Kimai API?", status=status)
        return Reply(status, body, response.headers)


_NOT_JSON = object()


def _json(response: httpx.Response) -> Any:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return _NOT_JSON
    try:
        return orjson.loads(response.content)  # a third of json's time on big pages (the sync's)
    except orjson.JSONDecodeError:
        return _NOT_JSON
