"""The document stored with each invoice: one self-contained HTML page (Kimai's default renderer is
HTML too), and its file name as Kimai builds it."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from punchclock.kimai.datetimes import zone

CONTENT_TYPE = "text/html; charset=UTF-8"
MAX_FILENAME = 150  # the column; Kimai refuses a name of 150 characters or more


@dataclass(frozen=True)
class Line:
    """One timesheet on the invoice."""

    begin: dt.datetime
    duration: int  # seconds
    user: str
    project: str
    activity: str
    description: str | None
    rate: float


@dataclass(frozen=True)
class Summary:
    number: str
    created_at: dt.datetime
    timezone: str
    due_date: dt.datetime
    customer: str
    company: str | None
    address: list[str]
    issuer: str
    currency: str
    subtotal: float
    vat: float
    tax: float
    total: float
    comment: str | None


def ascii_filename(text: str) -> str:
    """Kimai's ``convertToAsciiFilename``: transliterated, runs of other characters become one ``_``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "_".join(re.sub(r"[^a-zA-Z0-9\-]+", " ", ascii_text).split())


def filename(number: str, customer: str, company: str | None, extension: str = "html") -> str:
    """``<number>-<company or name>.<extension>``, the number's slashes as dashes (Kimai's rule)."""
    name = ascii_filename(number.replace("/", "-").replace("\\", "-")) or "invoice"
    who = ascii_filename(company or customer)
    return f"{name}-{who}.{extension}" if who else f"{name}.{extension}"


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _hours(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def render(summary: Summary, lines: Iterable[Line]) -> bytes:
    tz = zone(summary.timezone)
    rows = "\n".join(
        "<tr>"
        f"<td>{line.begin.astimezone(tz).date().isoformat()}</td>"
        f"<td>{escape(line.user)}</td>"
        f"<td>{escape(line.project)}</td>"
        f"<td>{escape(line.activity)}</td>"
        f"<td>{escape(line.description or '')}</td>"
        f'<td class="n">{_hours(line.duration)}</td>'
        f'<td class="n">{_money(line.rate, summary.currency)}</td>'
        "</tr>"
        for line in lines
    )
    address = "".join(f"<br>{escape(part)}" for part in summary.address)
    comment = f"<p>{escape(summary.comment)}</p>" if summary.comment else ""
    created = summary.created_at.astimezone(tz).date().isoformat()
    due = summary.due_date.date().isoformat()
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Invoice {escape(summary.number)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .3em .5em; text-align: left; }}
.n {{ text-align: right; }}
</style>
</head>
<body>
<h1>Invoice {escape(summary.number)}</h1>
<p><strong>{escape(summary.company or summary.customer)}</strong>{address}</p>
<p>Date: {created}<br>Due: {due}<br>Issued by: {escape(summary.issuer)}</p>
{comment}
<table>
<thead><tr><th>Date</th><th>User</th><th>Project</th><th>Activity</th><th>Description</th>
<th class="n">Hours</th><th class="n">Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>
<tr><td colspan="6">Subtotal</td><td class="n">{_money(summary.subtotal, summary.currency)}</td></tr>
<tr><td colspan="6">Tax ({summary.vat:g} %)</td>
<td class="n">{_money(summary.tax, summary.currency)}</td></tr>
<tr><th colspan="6">Total</th><th class="n">{_money(summary.total, summary.currency)}</th></tr>
</tfoot>
</table>
</body>
</html>
"""
    return page.encode("utf-8")
