"""Automatic customer, project and activity numbers as Kimai generates them.

Kimai renders a configured format (defaults ``{cc,4}``, ``{pc,4}``, ``{ac,4}``) once per candidate
counter and keeps the first number no row uses yet. Each entity knows only its own counter name
(``cc`` customers, ``pc`` projects, ``ac`` activities); another entity's name is an unknown
placeholder there, so callers pass ``counter_names=frozenset({"pc"})`` and so on.

Kimai does its arithmetic with PHP integers, which turn into floats past 64 bits; the helpers
below reproduce that so that absurd offsets render (or fail) the same way.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Final

_INT_MAX: Final = 2**63 - 1
_INT_MIN: Final = -(2**63)
# Padding beyond this is refused instead of allocated (Kimai would try to build the string).
MAX_LENGTH: Final = 1_000_000

# A placeholder runs from a "{" to the next "}" (so "{a{cc}" is one, named "acc").
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
# A run of operators counts as its last one: "{cc+-1}" subtracts 1, "{cc,+4}" adds 4.
_OPERATORS = re.compile(r"([+\-,])+")
# PHP's is_numeric() for what can follow an operator (signs are operators themselves).
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*(\d+(\.\d*)?|\.\d+)([eE]\d+)?[ \t\n\r\v\f]*", re.ASCII)
_INTEGER = re.compile(r"[ \t\n\r\v\f]*(\d+)[ \t\n\r\v\f]*", re.ASCII)
_WHITESPACE = " \t\n\r\v\f"


class NumberFormatError(ValueError):
    """A placeholder Kimai cannot render: it throws, and the request fails with a 500."""


def render_number(
    number_format: str,
    *,
    counter: int,
    today: datetime.date,
    counter_names: frozenset[str] = frozenset({"cc", "pc", "ac"}),
) -> str:
    """One candidate number: every ``{name[+N|-N]…[,len]}`` replaced, other text copied.

    ``counter`` is Kimai's running start value (row count + attempt, from 1). Each placeholder
    has an offset of 0 plus/minus its ``N``s; an offset that ends up 0 becomes 1. ``Y`` ``y``
    ``M`` ``m`` ``D`` ``d`` are today's year (4 digits), year (2), month (01-12), month (1-12),
    day (01-31), day (1-31) and ignore the offset; ``YY`` ``yy`` ``MM`` ``DD`` are those values
    as integers plus the offset; a counter name is ``counter`` plus the offset, so ``{cc}`` is
    ``counter + 1`` and ``{cc-1}`` is ``counter - 1``. Any other name keeps the whole ``{…}``
    text. ``,len`` left-pads the result (any of them, even a kept text) with "0" to len bytes.
    Raises NumberFormatError where Kimai throws: an operator not followed by a number, a length
    that is not a plain integer, an offset beyond 64 bits (and padding beyond MAX_LENGTH).
    """
    result = number_format
    # Like Kimai: each placeholder in turn replaces all its occurrences in the text so far.
    for part in _PLACEHOLDER.findall(number_format):
        result = result.replace(part, _render_part(part, counter, today, counter_names))
    return result


def next_free_number(
    number_format: str,
    *,
    count: int,
    today: datetime.date,
    taken: Callable[[str], bool],
    tries: int = 100,
    counter_names: frozenset[str] = frozenset({"cc", "pc", "ac"}),
) -> str | None:
    """Kimai's automatic number for an entity table holding ``count`` rows.

    None for an empty format (PHP's empty(): also "0"). Otherwise the counter runs from
    ``count + 1`` and the first rendering that is not ``taken`` is the number. Kimai checks the
    first candidate plus ``tries`` (100) more, then gives up with None (where a format without
    counter whose number is in use ends).
    """
    if number_format in ("", "0"):
        return None
    for counter in range(count + 1, count + tries + 2):
        number = render_number(number_format, counter=counter, today=today, counter_names=counter_names)
        if not taken(number):
            return number
    return None


def _render_part(part: str, counter: int, today: datetime.date, counter_names: frozenset[str]) -> str:
    name, *pieces = _OPERATORS.split(part.replace("{", "").replace("}", ""))
    offset: int | float = 0
    length: int | None = None
    # split() alternates (operator, operand): the last operator of a run, then the text after it.
    for operator, operand in zip(pieces[::2], pieces[1::2], strict=True):
        if operator == ",":
            if not re.fullmatch(r"0|[1-9]\d*", operand, re.ASCII) or _int64(operand) is None:
                raise NumberFormatError("Unknown format length found")
            length = int(operand)
        elif not _NUMERIC.fullmatch(operand):
            raise NumberFormatError(
                "Unknown increment found" if operator == "+" else "Unknown decrement found"
            )
        else:
            value = _intval(operand)
            offset = _php_add(offset, value if operator == "+" else -value)
    if offset == 0 and isinstance(offset, int):
        offset = 1
    # Kimai hands the offset to an int parameter: a float beyond 64 bits is a TypeError there.
    if isinstance(offset, float):
        if not _INT_MIN <= offset < 2**63:
            raise NumberFormatError("Number format offset out of range")
        offset = int(offset)
    rendered = _php_str(_value(name, part, offset, counter, today, counter_names))
    if length is None:
        return rendered
    missing = length - len(rendered.encode("utf-8", "surrogatepass"))
    if missing > MAX_LENGTH:
        raise NumberFormatError("Number format length too large")
    return "0" * missing + rendered


def _value(
    name: str, part: str, offset: int, counter: int, today: datetime.date, counter_names: frozenset[str]
) -> str | int | float:
    if name in counter_names:
        return _php_add(counter, offset)
    match name:
        case "Y":
            return f"{today.year:04d}"
        case "y":
            return f"{today.year % 100:02d}"
        case "M":
            return f"{today.month:02d}"
        case "m":
            return str(today.month)
        case "D":
            return f"{today.day:02d}"
        case "d":
            return str(today.day)
        case "YY":
            return _php_add(today.year, offset)
        case "yy":
            return _php_add(today.year % 100, offset)
        case "MM":
            return _php_add(today.month, offset)
        case "DD":
            return _php_add(today.day, offset)
    return part


def _intval(operand: str) -> int:
    """PHP's intval() of a numeric string: integers saturate at 64 bits, floats truncate."""
    integer = _INTEGER.fullmatch(operand)
    exact = _int64(integer.group(1)) if integer else None
    if exact is not None:
        return exact
    value = float(operand.strip(_WHITESPACE))
    if not math.isfinite(value):
        return 0
    if value >= 2**63:
        return _INT_MAX
    return int(value)


def _int64(digits: str) -> int | None:
    """The value of a digit string if it fits PHP's integers (checked before Python parses it)."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(_INT_MAX)) or int(digits) > _INT_MAX:
        return None
    return int(digits)


def _php_add(left: int | float, right: int) -> int | float:
    """PHP's ``+``: integer arithmetic until the result leaves 64 bits, then floats."""
    if isinstance(left, int) and _INT_MIN <= left + right <= _INT_MAX:
        return left + right
    return float(left) + float(right)


def _php_str(value: str | int | float) -> str:
    """The callback's string|int result as Kimai's string: a float past 64 bits in PHP notation."""
    if not isinstance(value, float):
        return str(value)
    if _INT_MIN <= value < 2**63:
        return str(int(value))
    # PHP prints such a float with 14 significant digits in exponent form, e.g. 9.2233720368548E+18.
    mantissa, exponent = f"{value:.13e}".split("e")
    mantissa = mantissa.rstrip("0")
    return f"{mantissa}0E{int(exponent):+d}" if mantissa.endswith(".") else f"{mantissa}E{int(exponent):+d}"
