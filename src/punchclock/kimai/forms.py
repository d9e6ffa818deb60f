"""A small re-creation of how Kimai's API forms submit, transform and validate fields.

A form is a tuple of ``Field``s. ``submit`` takes the decoded body (see ``body``), rejects keys the
form does not have (``This form should not contain extra fields.``), turns each submitted raw value
into a Python value (a failure there is the field's "invalid message"), merges the result onto the
entity's current values and then checks every field's constraints on the merged state, exactly as
Symfony validates the entity after the form mapped the request onto it. Errors come back in Kimai's
envelope, one ``children`` key per field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from punchclock.kimai.errors import ValidationFailed

EXTRA_FIELDS = "This form should not contain extra fields."
NOT_BLANK = "This value should not be blank."
NOT_NULL = "This value should not be null."
NOT_VALID = "This value is not valid."
INVALID_CHOICE = "The selected choice is invalid."
# The key under which ``extra_checks`` report errors of the whole form (no field).
FORM = ""


class FieldError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Parser = Callable[[Any], Any]
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Field:
    """One form field: its request key, the entity attribute, how to read it and what must hold.

    ``bubble``: the field's errors are reported on the form itself (global ``errors``), as Symfony
    does for compound fields such as a team's ``members`` collection.
    """

    name: str
    parse: Parser
    checks: tuple[Check, ...] = ()
    attr: str = ""
    bubble: bool = False

    @property
    def target(self) -> str:
        return self.attr or _snake(self.name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@dataclass(frozen=True)
class Nested:
    """What a compound field's parser returns: the value and its children's envelope, which Kimai
    lists whenever the form fails (``{"0": {"children": {"user": {}, …}}}``). ``errors`` are the
    children's messages that bubble up to the field (and, with ``bubble``, to the form)."""

    value: Any
    children: dict[str, Any]
    failed: bool = False
    errors: tuple[str, ...] = ()


@dataclass
class Submission:
    """What a valid submit changed: attribute -> new value, only for submitted fields."""

    changes: dict[str, Any] = field(default_factory=dict)


def error_envelope(
    fields: Iterable[str],
    field_errors: dict[str, list[str]],
    global_errors: Sequence[str] = (),
    nested: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    envelope: dict[str, Any] = {}
    if global_errors:
        envelope["errors"] = list(global_errors)
    children: dict[str, Any] = {}
    for name in fields:
        child: dict[str, Any] = {"errors": field_errors[name]} if field_errors.get(name) else {}
        if nested and nested.get(name):
            child["children"] = nested[name]
        children[name] = child
    envelope["children"] = children
    return envelope


def fail(
    fields: Sequence[Field],
    field_errors: dict[str, list[str]],
    global_errors: Sequence[str] = (),
    nested: dict[str, dict[str, Any]] | None = None,
) -> None:
    raise ValidationFailed(error_envelope((f.name for f in fields), field_errors, global_errors, nested))


def submit(
    fields: Sequence[Field],
    data: Any,
    *,
    current: dict[str, Any],
    clear_missing: bool,
    extra_checks: Callable[[dict[str, Any]], dict[str, list[str]]] | None = None,
) -> Submission:
    """Apply ``data`` to ``current`` (attribute -> value) through ``fields``.

    ``clear_missing`` is Symfony's flag: absent keys are submitted as null (POST of users, teams,
    tags) instead of being left alone. ``extra_checks`` sees the merged state and returns errors
    keyed by field name (entity-level rules), or by ``FORM`` for errors of the whole form.
    """
    if not isinstance(data, dict):
        fail(fields, {}, [NOT_VALID])
    known = {f.name for f in fields}
    global_errors = [EXTRA_FIELDS] if any(key not in known for key in data) else []
    errors: dict[str, list[str]] = {}
    nested: dict[str, dict[str, Any]] = {}
    nested_failed = False
    merged = dict(current)
    changes: dict[str, Any] = {}
    for f in fields:
        if f.name in data:
            raw = data[f.name]
        elif clear_missing:
            raw = None
        else:
            continue
        try:
            value = f.parse(raw)
        except FieldError as exc:
            errors[f.name] = [exc.message]
            continue
        if isinstance(value, Nested):
            nested[f.name] = value.children
            nested_failed = nested_failed or value.failed
            if value.errors:
                errors[f.name] = list(value.errors)
            value = value.value
        merged[f.target] = value
        changes[f.target] = value
    unreadable = {f.name for f in fields if f.name in errors and f.name not in nested}
    for f in fields:
        if f.name in unreadable:
            continue
        messages = [m for m in (check(merged.get(f.target)) for check in f.checks) if m]
        if messages:
            # Symfony validates the entity before its fields: those messages come first.
            errors[f.name] = messages + errors.get(f.name, [])
    if extra_checks:
        # Symfony validates the entity even when some fields failed and reports every violation at
        # once; a field whose value could not be read keeps its invalid message alone (Symfony maps
        # no violation onto a field that failed to transform).
        for name, messages in extra_checks(merged).items():
            if name in unreadable:
                continue
            listed = errors.setdefault(name, [])
            for message in messages:
                if message not in listed:
                    listed.append(message)
    global_errors.extend(errors.pop(FORM, []))
    errors = {name: messages for name, messages in errors.items() if messages}
    bubbled = [m for f in fields if f.bubble for m in errors.pop(f.name, [])]
    global_errors = bubbled + global_errors
    if errors or global_errors or nested_failed:
        fail(fields, errors, global_errors, nested)
    return Submission(changes)


# --- parsers -----------------------------------------------------------------------------------


def _scalar(raw: Any) -> str | None:
    if isinstance(raw, dict | list):
        raise FieldError(NOT_VALID)
    return raw if raw is None else str(raw)


def text(raw: Any) -> str | None:
    """A text input: trimmed; empty means null."""
    value = _scalar(raw)
    if value is None:
        return None
    value = value.strip()
    return value or None


def checkbox(raw: Any) -> bool:
    """Kimai's API checkbox: false only for a submitted null (JSON false, or absent when clearing)."""
    return raw is not None


def choice(options: Callable[[], Iterable[str]] | Iterable[str], message: str = INVALID_CHOICE) -> Parser:
    """One of ``options`` (empty means null)."""

    def parse(raw: Any) -> str | None:
        value = text(raw)
        if value is None:
            return None
        allowed = options() if callable(options) else options
        if value not in allowed:
            raise FieldError(message)
        return value

    return parse


# Symfony's number transformers refuse PHP_INT_MAX and beyond ("no clear idea what infinity looks like").
LIMIT = 2**63
_DECIMAL = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


def parse_decimal(value: str) -> float | None:
    """``12``, ``-12.5`` or ``12,5`` (ASCII digits); None when malformed or not below ``LIMIT`` in size."""
    if not _DECIMAL.fullmatch(value):
        return None
    number = float(value.replace(",", "."))  # float() has no digit limit: huge values become inf
    return number if math.isfinite(number) and abs(number) < LIMIT else None


def number(message: str = "Please enter a valid money amount.") -> Parser:
    def parse(raw: Any) -> float | None:
        value = text(raw)
        if value is None:
            return None
        parsed = parse_decimal(value)
        if parsed is None:
            raise FieldError(message)
        return parsed

    return parse


money = number()

MAX_ID_DIGITS = 10
UNKNOWN_ID = 2**31
"""What ``parse_id`` gives for more than ``MAX_ID_DIGITS`` digits: beyond any 32-bit row id."""


def parse_id(value: str) -> int | None:
    """An id in ASCII digits (``str.isdigit()`` also accepts "²"), or None. A longer number than any
    row id is ``UNKNOWN_ID``, so callers treat it as unknown (and int() never sees thousands of digits)."""
    if not (value.isascii() and value.isdigit()):
        return None
    if len(value.lstrip("0")) > MAX_ID_DIGITS:
        return UNKNOWN_ID
    return int(value)


def integer_id(raw: Any) -> int | None:
    value = text(raw)
    if value is None:
        return None
    parsed = parse_id(value)
    if parsed is None:
        raise FieldError(INVALID_CHOICE)
    return parsed


def id_list(raw: Any) -> list[int]:
    """A multiple choice of ids (``teams``). Symfony wants an array here: a scalar is invalid."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, dict):
        raw = list(raw.values())  # form bodies with explicit keys (teams[3]=1)
    if not isinstance(raw, list):
        raise FieldError(INVALID_CHOICE)
    result: list[int] = []
    for item in raw:
        value = None if isinstance(item, dict | list) else text(item)
        parsed = None if value is None else parse_id(value)
        if parsed is None:
            raise FieldError(INVALID_CHOICE)
        result.append(parsed)
    return result


_DURATION_CLOCK = re.compile(r"(-?)([0-9]+):([0-5]?[0-9])(?::([0-5]?[0-9]))?")
_DURATION_UNITS = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", re.IGNORECASE)


def _seconds(
    hours: str | None, minutes: str | None, seconds: str | None, *, negative: bool = False
) -> int | None:
    """The digits of each unit in seconds; None when one has more digits than any duration below ``LIMIT``."""
    counts = [(digits or "").lstrip("0") or "0" for digits in (hours, minutes, seconds)]
    if any(len(digits) > 19 for digits in counts):
        return None
    h, m, s = map(int, counts)
    total = h * 3600 + m * 60 + s
    return -total if negative else total


def parse_duration(value: str) -> int | None:
    """Kimai's duration string in seconds: decimal hours, H:MM[:SS], or 1h30m10s. None if malformed
    or not below ``LIMIT`` seconds in size."""
    value = value.strip()
    hours = parse_decimal(value)
    total: int | None
    if hours is not None:
        total = round(hours * 3600)
    elif clock := _DURATION_CLOCK.fullmatch(value):
        sign, *units = clock.groups()
        total = _seconds(*units, negative=sign == "-")
    elif (parts := _DURATION_UNITS.fullmatch(value)) and any(parts.groups()):
        total = _seconds(*parts.groups())
    else:
        return None
    return total if total is not None and abs(total) < LIMIT else None


def duration(raw: Any) -> int | None:
    value = text(raw)
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is None:
        raise FieldError(NOT_VALID)
    return seconds


# --- constraints -------------------------------------------------------------------------------


def _characters(limit: int) -> str:
    return "character" if limit == 1 else "characters"


def not_blank(value: Any) -> str | None:
    return NOT_BLANK if value is None or value == "" else None


def not_null(value: Any) -> str | None:
    return NOT_NULL if value is None else None


# Kimai's NoSpecialCharacters constraint (names, aliases, titles …): characters that would open XSS
# or spreadsheet formula injection. The message lists them all, whichever was found.
SPECIAL_CHARACTERS = ("<", ">", '"', "=")
SPECIAL_CHARACTERS_FOUND = "The following characters are not allowed: " + " ".join(SPECIAL_CHARACTERS)


def no_special_characters(value: Any) -> str | None:
    if isinstance(value, str) and any(character in value for character in SPECIAL_CHARACTERS):
        return SPECIAL_CHARACTERS_FOUND
    return None


def length(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if minimum is not None and len(value) < minimum:
            return f"This value is too short. It should have {minimum} {_characters(minimum)} or more."
        if maximum is not None and len(value) > maximum:
            return f"This value is too long. It should have {maximum} {_characters(maximum)} or less."
        return None

    return check


def between(minimum: float, maximum: float) -> Check:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not minimum <= value <= maximum:
            return f"This value should be between {_num(minimum)} and {_num(maximum)}."
        return None

    return check


def at_least(minimum: float) -> Check:
    def check(value: Any) -> str | None:
        if value is not None and value < minimum:
            return f"This value should be greater than or equal to {_num(minimum)}."
        return None

    return check


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)


def email(value: Any) -> str | None:
    if value is None or _EMAIL.match(value):
        return None
    return "This value is not a valid email address."


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def url(raw: Any) -> str | None:
    """A homepage: ``https://`` is added when the scheme is missing, as Kimai's URL field does."""
    value = text(raw)
    if value is None:
        return None
    if "://" not in value:
        value = "https://" + value
    if not _URL.match(value):
        raise FieldError("This value is not a valid URL.")  # Symfony's Url constraint, not the form's
    return value
