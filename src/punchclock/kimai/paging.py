"""Kimai's paged lists (timesheets and invoices): ``page``/``size``, the X-* headers, 404 past the end.

The total is counted only when the page is full: a short page tells it by itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from punchclock.kimai.errors import BadRequest, NotFound

DEFAULT_SIZE = 50
MAX_SIZE = 500
# An offset past this names no row on any backend (and would overflow PostgreSQL's bigint).
_MAX_OFFSET = 2**53
PHP_INT_MAX = 2**63 - 1


def php_int(value: str) -> int:
    """Digits as PHP's int cast reads them: other Unicode digits (which Kimai's ``\\d+`` lets through)
    read as 0, and the value saturates where int() would refuse thousands of digits."""
    if not value.isascii():
        return 0
    significant = value.lstrip("0")
    return min(int(significant or 0), PHP_INT_MAX) if len(significant) <= 19 else PHP_INT_MAX


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int

    @classmethod
    def parse(cls, page: str | None, size: str | None) -> PageRequest:
        """Kimai's rules: digits only (else 400), page 0 is 1, size 0 is 50, a size above 500 is 500."""
        for value in (page, size):
            if value is not None and not value.isdigit():
                raise BadRequest()
        request = cls(max(php_int(page or "1"), 1), min(php_int(size or "0") or DEFAULT_SIZE, MAX_SIZE))
        if request.offset > _MAX_OFFSET:
            raise NotFound()
        return request

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def headers(self, total: int) -> dict[str, str]:
        return {
            "X-Page": str(self.number),
            "X-Total-Count": str(total),
            "X-Total-Pages": str(max(1, math.ceil(total / self.size))),
            "X-Per-Page": str(self.size),
        }


@dataclass
class Page:
    rows: list[Any]
    total: int


def fetch_page(
    session: Session,
    query: Select[Any],
    request: PageRequest,
    read: Callable[[int, int], list[Any]] | None = None,
) -> Page:
    """One page of ``query`` (ordered, or read by ``read(offset, size)``) and the total; a page past
    the end is Kimai's 404."""
    if read is None:
        rows = list(session.execute(query.limit(request.size).offset(request.offset)).all())
    else:
        rows = read(request.offset, request.size)
    if not rows and request.number > 1:
        raise NotFound()
    if len(rows) < request.size:
        total = request.offset + len(rows)
    else:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return Page(rows, total)
