"""What the sync adds to the shared API client: retries, the server's clock, read-ahead of pages.

Retries live in an httpx transport under ``KimaiClient``, so every request of the run gets them and
the client's error mapping (exit codes 7 to 10) stays the one the tools share.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from punchclock.tools.client import ApiError, KimaiClient, Reply

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 6  # the first try and five retries
BACKOFF_SECONDS = 0.5  # doubled on each retry
MAX_WAIT_SECONDS = 120.0  # the most any Retry-After is honoured for
FEED_PATH = "/api/ext/changes"


class RetryTransport(httpx.BaseTransport):
    """Retries GET requests answered 429 or 5xx, or cut off mid-way, with exponential backoff; a
    ``Retry-After`` (seconds or an HTTP date) replaces the backoff. A refused connection is not
    retried: nothing listens there."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.attempts = attempts
        self.sleep = sleep
        self.retries = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts or request.method not in ("GET", "HEAD")
            wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.UnsupportedProtocol):
                raise
            except httpx.TransportError:
                if last:
                    raise
            else:
                if last or response.status_code not in RETRY_STATUSES:
                    return response
                asked = retry_after(response.headers.get("retry-after"))
                wait = wait if asked is None else asked
                response.read()
                response.close()
            self.retries += 1
            self.sleep(min(wait, MAX_WAIT_SECONDS))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def close(self) -> None:
        self.inner.close()


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def server_time(reply: Reply) -> dt.datetime:
    """The server's clock from the ``Date`` header (modified_after is compared with it), else ours."""
    value = reply.headers.get("date")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def has_change_feed(client: KimaiClient) -> bool:
    """Whether the server documents ``GET /api/ext/changes`` (Punchclock); Kimai serves no doc.json."""
    try:
        document = client.get("doc.json")
    except ApiError as exc:
        # A server failing (after the retries), or refusing the token, is no reason to read it
        # another way; an answer that there is no such document (Kimai: 404) is.
        if exc.status is None or exc.status in (401, 429) or exc.status >= 500:
            raise
        return False
    paths = document.get("paths") if isinstance(document, dict) else None
    return isinstance(paths, dict) and "get" in (paths.get(FEED_PATH) or {})


class Fan:
    """Many GETs, a few at a time, each worker thread on a keep-alive connection of its own: for the
    one-request-per-entity reads (rates, customer details), whose round trips add up against a
    remote server. Answers come in the order asked, an ``ApiError`` in place of a failed one."""

    WORKERS = 4

    def __init__(self, make_client: Callable[[], KimaiClient]) -> None:
        self._make_client = make_client
        self._local = threading.local()
        self._clients: list[KimaiClient] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def get_all(self, paths: Sequence[str]) -> list[Any]:
        if len(paths) <= 1:
            return [self._get(path) for path in paths]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="sync-fan")
        return list(self._pool.map(self._get, paths))

    @property
    def requests(self) -> int:
        return sum(client.requests for client in self._clients)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _get(self, path: str) -> Any:
        client: KimaiClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._make_client()
            with self._lock:
                self._clients.append(client)
        try:
            return client.get(path)
        except ApiError as exc:
            return exc


def read_ahead(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``pages``, fetched by a thread up to ``depth`` pages ahead of the consumer: the server
    prepares the next page while this process writes the last. Errors reach the consumer in order."""
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put(("page", page)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))

    thread = threading.Thread(target=produce, name="sync-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        # The thread ends at its next step; one waiting on a request (a Retry-After may be minutes)
        # is not waited for: it is a daemon, and closing the client ends that request.
        thread.join(timeout=2)
