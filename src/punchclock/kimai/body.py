"""Request bodies decoded the way Kimai's API decodes them.

JSON is turned into what an HTML form would have posted: every scalar becomes a string, ``true``
is ``"1"``, ``false`` is null and ``null`` is ``""``. URL-encoded and multipart bodies with PHP
bracket keys (``members[0][user]=2``) are accepted too. Keys are converted from snake_case to
camelCase at every depth; two keys meeting after conversion are a bad request.

Hostile bodies are refused before they cost anything: more than ``MAX_BODY_BYTES`` is 413, more
than ``MAX_DEPTH`` nested arrays/objects (or bracket levels in a form key) is 400.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import Message

from punchclock.kimai.errors import BadRequest, KimaiError

MAX_BODY_BYTES = 1024 * 1024
# Symfony 6.4's status text for 413 (Python's HTTPStatus phrase differs between versions).
_TOO_LARGE = "Content Too Large"
MAX_DEPTH = 32
"""Containers a body may nest, the top-level object included (``{"a": [1]}`` is 2 deep)."""

_SNAKE = re.compile(r"_([a-zA-Z0-9])")
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def camelize(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def php_string(value: Any) -> str | None:
    """A JSON scalar as PHP's form decoder turns it into a string."""
    if value is True:
        return "1"
    if value is False:
        return None
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def formify(value: Any, depth: int = 1) -> Any:
    """Decoded JSON as form strings; ``depth`` is the nesting level of ``value`` itself."""
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise BadRequest()
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = camelize(str(key))
            if name in result:
                raise BadRequest()
            result[name] = formify(item, depth + 1)
        return result
    if isinstance(value, list):
        return [formify(item, depth + 1) for item in value]
    text = php_string(value)
    if text is not None and "\x00" in text:
        # PostgreSQL cannot store NUL in text: refuse it on every backend rather than fail later.
        raise BadRequest()
    return text


def _assign(target: dict[str, Any], key: str, value: str) -> None:
    head, _, rest = key.partition("[")
    path = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
    if len(path) > MAX_DEPTH:  # the top-level object is one level: a[b]=1 is 2 deep
        raise BadRequest()
    node: Any = target
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if part == "":  # name[] appends
            part = str(len(node))
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BadRequest()


def _lists(value: Any) -> Any:
    """PHP arrays with keys 0..n-1 become lists, like JSON arrays do ("01" is a string key in PHP).

    The depth is bounded by ``_assign``.
    """
    if not isinstance(value, dict):
        return value
    converted = {key: _lists(item) for key, item in value.items()}
    indexes = [str(i) for i in range(len(converted))]
    if converted and set(converted) == set(indexes):
        return [converted[i] for i in indexes]
    return converted


_UNREAD = object()


async def read_body(request: Request) -> Any:
    """The request body as form data: a dict (or a list for the few array endpoints). Decoded once."""
    cached = getattr(request.state, "form_body", _UNREAD)
    if cached is _UNREAD:
        cached = request.state.form_body = await _decode(request)
    return cached


async def read_json_body(request: Request) -> Any:
    """The body with JSON's own types (``null`` stays None, ``false`` False), for the few endpoints
    Kimai reads raw request values from instead of a form. A form body gives its strings."""
    form = await read_body(request)
    return getattr(request.state, "json_body", form)


async def _read(request: Request) -> bytes:
    """The body, refused with 413 once it passes ``MAX_BODY_BYTES`` (announced or actually sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > MAX_BODY_BYTES):
        raise KimaiError(413, _TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise KimaiError(413, _TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart(request: Request, raw: bytes) -> list[tuple[str, str]]:
    """The text fields of a multipart body already read into ``raw`` (files are ignored)."""

    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    async with Request(request.scope, replay).form() as form:
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def _decode(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await _read(request)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        pairs: list[tuple[str, str]]
        if content_type == "multipart/form-data":
            pairs = await _multipart(request, raw)
        else:
            pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        data: dict[str, Any] = {}
        for key, value in pairs:
            _assign(data, key, value)
        return formify(_lists(data))
    if not raw.strip():
        return {}
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest() from None
    if not isinstance(decoded, dict | list):
        raise BadRequest()
    request.state.json_body = decoded
    return formify(decoded)
