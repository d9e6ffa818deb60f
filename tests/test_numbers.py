"""Kimai's automatic numbers (src/Utils/NumberGenerator.php and the three entity services).

Pure unit tests of ``punchclock.kimai.numbers``: no database. ``counter`` is Kimai's running start
value (row count + attempt), so ``{cc}`` renders ``counter + 1``.
"""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchclock.kimai.numbers import NumberFormatError, next_free_number, render_number

TODAY = datetime.date(2024, 3, 7)
CUSTOMER, PROJECT, ACTIVITY = frozenset({"cc"}), frozenset({"pc"}), frozenset({"ac"})


def free(number: str) -> bool:
    return False


def render(number_format: str, counter: int = 1, today: datetime.date = TODAY) -> str:
    return render_number(number_format, counter=counter, today=today)


# --- next_free_number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number_format", "names"), [("{cc,4}", CUSTOMER), ("{pc,4}", PROJECT), ("{ac,4}", ACTIVITY)]
)
@pytest.mark.parametrize(("count", "expected"), [(0, "0002"), (1, "0003"), (41, "0043")])
def test_defaults_render_count_plus_two(
    number_format: str, names: frozenset[str], count: int, expected: str
) -> None:
    number = next_free_number(number_format, count=count, today=TODAY, taken=free, counter_names=names)
    assert number == expected


def test_taken_numbers_are_skipped_in_counter_order() -> None:
    asked: list[str] = []

    def taken(number: str) -> bool:
        asked.append(number)
        return number in {"0002", "0003", "0005"}

    assert next_free_number("{cc,4}", count=0, today=TODAY, taken=taken) == "0004"
    assert asked == ["0002", "0003", "0004"]


@pytest.mark.parametrize("number_format", ["", "0"])
def test_empty_format_gives_no_number_without_lookups(number_format: str) -> None:
    asked: list[str] = []

    def taken(number: str) -> bool:
        asked.append(number)
        return False

    assert next_free_number(number_format, count=0, today=TODAY, taken=taken) is None
    assert asked == []


def test_format_without_counter_gives_up_after_the_first_candidate_and_100_more() -> None:
    asked: list[str] = []

    def taken(number: str) -> bool:
        asked.append(number)
        return True

    assert next_free_number("C-{Y}", count=7, today=TODAY, taken=taken) is None
    assert asked == ["C-2024"] * 101


def test_format_without_counter_is_used_while_free() -> None:
    assert next_free_number("C-{Y}", count=7, today=TODAY, taken=free) == "C-2024"


@pytest.mark.parametrize(("tries", "found"), [(4, "0006"), (3, None)])
def test_tries_bounds_the_search(tries: int, found: str | None) -> None:
    taken = {"0002", "0003", "0004", "0005"}
    number = next_free_number("{cc,4}", count=0, today=TODAY, taken=taken.__contains__, tries=tries)
    assert number == found


def test_counter_of_another_entity_is_kept_literally() -> None:
    # A project format with {cc}: Kimai's project service knows only pc, so the text stays.
    number = next_free_number("{cc,4}-{pc,3}", count=0, today=TODAY, taken=free, counter_names=PROJECT)
    assert number == "{cc,4}-002"


# --- render_number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number_format", "counter", "expected"),
    [
        ("{cc}", 1, "2"),
        ("{cc,4}", 1, "0002"),
        ("{cc,0}", 1, "2"),
        ("{cc,1}", 11, "12"),  # never truncated
        ("{cc,2}", 99, "100"),
        ("{cc,10}", 1, "0000000002"),
        ("{cc,3,5}", 1, "00002"),  # the last length wins
    ],
)
def test_padding(number_format: str, counter: int, expected: str) -> None:
    assert render(number_format, counter) == expected


@pytest.mark.parametrize(
    ("number_format", "expected"),
    [
        ("{cc+2}", "12"),
        ("{cc+5,4}", "0015"),
        ("{cc-1}", "9"),
        ("{cc-3,4}", "0007"),
        ("{cc+1}", "11"),  # same as {cc}: the offset 0 + 1 is 1
        ("{cc+0}", "11"),  # an offset of 0 becomes 1
        ("{cc-1+1}", "11"),  # also after several steps
        ("{cc+2-5}", "7"),
        ("{cc+-2}", "8"),  # a run of operators counts as its last one
        ("{cc,+4}", "14"),
        ("{cc+1.9}", "11"),  # PHP intval() truncates
        ("{cc+1e2}", "110"),
        ("{cc+ 3 }", "13"),  # is_numeric() allows surrounding whitespace
        ("{cc-12}", "-2"),
        ("{cc-12,4}", "00-2"),  # str_pad puts the zeros before the sign
    ],
)
def test_offsets(number_format: str, expected: str) -> None:
    assert render(number_format, counter=10) == expected


@pytest.mark.parametrize(
    ("number_format", "today", "expected"),
    [
        ("{Y}", TODAY, "2024"),
        ("{y}", TODAY, "24"),
        ("{y}", datetime.date(2005, 11, 28), "05"),
        ("{M}", TODAY, "03"),
        ("{m}", TODAY, "3"),
        ("{M}", datetime.date(2005, 11, 28), "11"),
        ("{D}", TODAY, "07"),
        ("{d}", TODAY, "7"),
        ("{D}", datetime.date(2005, 11, 28), "28"),
        ("{Y}", datetime.date(987, 1, 1), "0987"),
        # The plain date names ignore offsets.
        ("{Y+5}", TODAY, "2024"),
        ("{M-1}", TODAY, "03"),
        ("{d,3}", TODAY, "007"),
        # The doubled names are integers plus the offset, which is at least 1 unless negative.
        ("{YY}", TODAY, "2025"),
        ("{YY-1}", TODAY, "2023"),
        ("{YY+3}", TODAY, "2027"),
        ("{yy}", TODAY, "25"),
        ("{yy}", datetime.date(2005, 11, 28), "6"),
        ("{yy,2}", datetime.date(2005, 11, 28), "06"),
        ("{MM}", TODAY, "4"),
        ("{MM-1,2}", TODAY, "02"),
        ("{MM}", datetime.date(2005, 12, 28), "13"),  # no wrapping into the next year
        ("{DD}", TODAY, "8"),
        ("{DD+0}", TODAY, "8"),
        ("{DD-7}", TODAY, "0"),
    ],
)
def test_date_placeholders(number_format: str, today: datetime.date, expected: str) -> None:
    assert render(number_format, today=today) == expected


@pytest.mark.parametrize(
    ("number_format", "expected"),
    [
        ("{foo}", "{foo}"),
        ("{}", "{}"),
        ("{CC}", "{CC}"),  # names are case-sensitive
        ("{ cc}", "{ cc}"),
        ("{yyy}", "{yyy}"),
        ("{foo+3}", "{foo+3}"),
        ("{x,6}", "0{x,6}"),  # the kept text is padded like any result
        ("{é,6}", "{é,6}"),  # by bytes: already 6
        ("{a{cc}", "{a{cc}"),  # one placeholder from "{" to "}", named "acc"
        ("{a{cc}{cc}", "{a22"),  # each placeholder replaces all its occurrences so far
        ("cc", "cc"),
        ("{cc", "{cc"),
        ("cc}", "cc}"),
    ],
)
def test_unknown_placeholders_are_kept_literally(number_format: str, expected: str) -> None:
    assert render(number_format) == expected


@pytest.mark.parametrize(
    ("number_format", "counter_names", "expected"),
    [
        ("P-{pc,3}", PROJECT, "P-002"),
        ("{Y}/{cc,3}", CUSTOMER, "2024/002"),
        ("A{ac}B{ac,2}C", ACTIVITY, "A2B02C"),
        ("{pc,3}", CUSTOMER, "{pc,3}"),
        ("{cc}{pc}{ac}", frozenset({"cc", "pc", "ac"}), "222"),
        ("no placeholder", CUSTOMER, "no placeholder"),
    ],
)
def test_literal_text_and_counter_names(
    number_format: str, counter_names: frozenset[str], expected: str
) -> None:
    assert render_number(number_format, counter=1, today=TODAY, counter_names=counter_names) == expected


@pytest.mark.parametrize(
    ("number_format", "message"),
    [
        ("{cc+}", "Unknown increment found"),
        ("{cc+x}", "Unknown increment found"),
        ("{cc-}", "Unknown decrement found"),
        ("{cc-0x1}", "Unknown decrement found"),
        ("{cc,}", "Unknown format length found"),
        ("{cc,04}", "Unknown format length found"),
        ("{cc,4.0}", "Unknown format length found"),
        ("{cc, 4}", "Unknown format length found"),
        ("{foo,x}", "Unknown format length found"),  # even for a name that would be kept
        ("{cc,2000000}", "Number format length too large"),
        ("{cc+9223372036854775807+1}", "Number format offset out of range"),
    ],
)
def test_malformed_placeholders_fail_like_kimai(number_format: str, message: str) -> None:
    with pytest.raises(NumberFormatError, match=f"^{re.escape(message)}$"):
        render(number_format)


@pytest.mark.parametrize(
    ("number_format", "expected"),
    [
        ("{cc+9223372036854775807}", "9.2233720368548E+18"),  # PHP's integer overflows into a float
        ("{cc+99999999999999999999}", "9.2233720368548E+18"),  # intval() saturates
        ("{cc+1e999}", "2"),  # intval() of an infinite float is 0, and 0 becomes 1
        ("{cc-9223372036854775807-2}", "-9223372036854775807"),
    ],
)
def test_64_bit_arithmetic(number_format: str, expected: str) -> None:
    assert render(number_format) == expected


# --- properties -----------------------------------------------------------------------------------

_formats = st.text(st.sampled_from("{}+-,.e 0123456789cpaYyMmDdx"), max_size=40) | st.text(max_size=40)


@given(number_format=_formats, counter=st.integers(0, 10**9), today=st.dates())
def test_rendering_never_raises_anything_but_kimais_format_errors(
    number_format: str, counter: int, today: datetime.date
) -> None:
    try:
        number = render_number(number_format, counter=counter, today=today)
    except NumberFormatError:
        # Kimai throws only for a placeholder with an operator, so such a format has one.
        assert re.search(r"\{[^}]*[+\-,][^}]*\}", number_format)
    else:
        assert isinstance(number, str)
        if "{" not in number_format or "}" not in number_format:
            assert number == number_format


_steps = st.lists(st.tuples(st.sampled_from("+-"), st.integers(0, 10**6)), max_size=4)


@given(counter=st.integers(1, 10**9), steps=_steps, length=st.none() | st.integers(0, 12))
def test_counter_placeholders_render_counter_plus_offset(
    counter: int, steps: list[tuple[str, int]], length: int | None
) -> None:
    offset = sum(n if op == "+" else -n for op, n in steps) or 1
    suffix = "" if length is None else f",{length}"
    placeholder = "{cc" + "".join(f"{op}{n}" for op, n in steps) + suffix + "}"
    expected = str(counter + offset).rjust(length or 0, "0")
    assert render_number(f"N{placeholder}.", counter=counter, today=TODAY) == f"N{expected}."
