"""Timesheet lists on the bulk demo data: query plans, per-page query cost and HTTP throughput (wrk).

1. Loads `punchclock demo --timesheets N --users U` into a temporary database (SQLite by default;
   PostgreSQL with --postgres URL of an empty database), printing the load rate.
2. For a named set of list queries (built by the same code the API runs) prints the plan and the
   median time of one 50-row page, and flags plans that scan or sort the whole table.
3. Keyset paging: for the default order and orderBy=end/rate, the plan of a cursor page at page
   10,000 of 20 rows (or the middle page of a shorter list) and its cost next to page 1 and to page=10000 by
   offset (ratios vs page 1); keyset plans must read an index without any sort.
4. Starts `punchclock serve` and drives each URL with wrk for a few seconds (baseline: /api/ping).

    .venv/bin/python bench/bench_timesheets.py [--timesheets 1000000] [--users 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serving import serving
from sqlalchemy import func, select, text

from punchclock.auth.service import load_caller
from punchclock.db import Database
from punchclock.timesheets import listing
from punchclock.users.models import User

PASSWORD = "bench-password"
KEYSET_SIZE = 20
DEEP_PAGE = 10_000


def cli(*args: str, url: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PUNCHCLOCK_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", *args], env=env, input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"punchclock {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def named_queries(db: Database, user_id: int, project_id: int) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(label, URL, caller, filters and paging) for the lists clients run most."""
    admin, user = callers(db, user_id)
    # The demo's history ends now: the same filters as page_query, on its most recent weeks.
    last_month, this_month = (f"{day:%Y-%m-%d}T00:00:00" for day in recent_month_starts())
    return [
        ("own rows, page 1", "/api/timesheets", user, {}),
        ("own rows, page 50", "/api/timesheets?page=50", user, {"page": 50}),
        ("own rows, last month", f"/api/timesheets?begin={last_month}", user, {"begin": True}),
        ("own rows by rate", "/api/timesheets?orderBy=rate", user, {"order_by": "rate"}),
        ("all users, page 1", "/api/timesheets?user=all", admin, {"all": True}),
        ("all users, page 1000", "/api/timesheets?user=all&page=1000", admin, {"all": True, "page": 1000}),
        (
            "all users, one project",
            f"/api/timesheets?user=all&project={project_id}",
            admin,
            {"all": True, "projects": [project_id]},
        ),
        ("all users, running", "/api/timesheets?user=all&active=1", admin, {"all": True, "active": True}),
        (
            "all users, modified_after",
            f"/api/timesheets?user=all&modified_after={this_month}",
            admin,
            {"all": True, "modified": True},
        ),
        ("all users, full=1", "/api/timesheets?user=all&full=1", admin, {"all": True}),
    ]


def callers(db: Database, user_id: int) -> tuple[Any, Any]:
    """The bench's super admin and the user with the most records."""
    with db.session() as s:
        admin = load_caller(s, s.scalars(select(User).where(User.username == "benchadmin")).one())
        user = load_caller(s, s.get(User, user_id))  # type: ignore[arg-type]
    return admin, user


def recent_month_starts() -> tuple[dt.date, dt.date]:
    """The first days of last month and of this month (UTC)."""
    this_month = dt.datetime.now(dt.UTC).date().replace(day=1)
    return (this_month - dt.timedelta(days=1)).replace(day=1), this_month


def page_query(session: Any, caller: Any, options: dict[str, Any]) -> Any:
    last_month, this_month = (dt.datetime.combine(day, dt.time(), dt.UTC) for day in recent_month_starts())
    filters = listing.Filters(
        all_users=options.get("all", False),
        projects=options.get("projects", []),
        active=options.get("active"),
        begin=last_month if options.get("begin") else None,
        modified_after=this_month if options.get("modified") else None,
    )
    query = listing.order(
        listing.build_query(session, caller, filters), options.get("order_by", "begin"), "DESC"
    )
    page = options.get("page", 1)
    return query.limit(50).offset((page - 1) * 50)


def plan(session: Any, query: Any, *, strict: bool = False) -> tuple[str, str]:
    """The plan as text and a verdict: "index" (rows read in order from an index), "sorts matches"
    (an index finds the rows, which are then sorted: fine when few match) or "FULL SCAN".
    ``strict``: PostgreSQL's incremental sort (of the rows that tie on a sort key) counts as a sort."""
    dialect = session.get_bind().dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        lines = [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
        full = any(re.fullmatch(r"SCAN timesheets", line) for line in lines)
        sorts = any("TEMP B-TREE" in line for line in lines)
    else:
        lines = [row[0] for row in session.execute(text("EXPLAIN " + sql))]
        full = any("Seq Scan on timesheets" in line for line in lines)
        sort = r"\s*(->\s*)?(Incremental )?Sort\s+\(" if strict else r"\s*(->\s*)?Sort\s+\("
        sorts = any(re.match(sort, line) for line in lines)  # by default not "Incremental Sort"
    verdict = "FULL SCAN" if full else "sorts matches" if sorts else "index"
    return "\n      ".join(lines), verdict


def timed_page(db: Database, caller: Any, options: dict[str, Any], repeat: int = 15) -> float:
    return timed(db, lambda s: s.execute(page_query(s, caller, options)).all(), repeat)


def timed(db: Database, read: Any, repeat: int = 15) -> float:
    """Median ms of ``read(session)`` (the page's rows) plus the side data the API reads for them."""
    times = []
    with db.session() as s:
        for _ in range(repeat):
            start = time.perf_counter()
            listing.with_side_data(s, read(s))  # the API also reads the rows' tags and custom fields
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# label, caller ("admin": user=all, "user": own rows), orderBy, order
KEYSET_CASES = [
    ("all users, begin DESC (default)", "admin", "begin", "DESC"),
    ("all users, end ASC", "admin", "end", "ASC"),
    ("all users, end DESC", "admin", "end", "DESC"),
    ("all users, rate DESC", "admin", "rate", "DESC"),
    ("own rows, begin DESC", "user", "begin", "DESC"),
    ("own rows, end DESC", "user", "end", "DESC"),
    ("own rows, rate ASC", "user", "rate", "ASC"),
]


def keyset_report(db: Database, callers: dict[str, Any]) -> list[tuple[str, str]]:
    """Prints, per case, the keyset plan and page 1 / deep cursor page / deep offset page costs;
    returns (label, URL) of the HTTP cases: page 1, the cursor page and the offset page."""
    deep = f"page {DEEP_PAGE:,}"
    print(f"\nKeyset paging, {KEYSET_SIZE}-row pages: page 1, a cursor at {deep}, {deep} by offset")
    flagged, urls = 0, []
    for label, who, order_by, order in KEYSET_CASES:
        case = KeysetCase(db, callers[who], listing.Filters(all_users=who == "admin"), order_by, order)
        one, cursor, skipped = timed(db, case.first), timed(db, case.by_cursor), timed(db, case.by_offset)
        verdicts = sorted({verdict for _plan, verdict in case.plans})
        flagged += verdicts != ["index"]
        print(
            f"  {label:32} page 1 {one:6.2f} ms | cursor at page {case.deep:,} {cursor:6.2f} ms "
            f"({cursor / one:4.2f} × page 1) | page={case.deep:,} {skipped:8.2f} ms "
            f"({skipped / one:6.1f} × page 1)  {'/'.join(verdicts)}"
        )
        for text_plan, _verdict in case.plans:
            print(f"      {text_plan}")
        if (who, order_by) == ("admin", "begin"):
            base = f"/api/timesheets?user=all&size={KEYSET_SIZE}"
            urls = [
                ("user=all, page 1", base),
                (f"user=all, cursor at p. {case.deep:,}", f"{base}&cursor={case.after.cursor()}"),
                (f"user=all, page={case.deep:,}", f"{base}&page={case.deep}"),
            ]
    print(f"  {flagged} of {len(KEYSET_CASES)} keyset cases sort or scan")
    return urls


class KeysetCase:
    """One list in one order: the position before a deep page, the plans of the keyset queries from
    there, and the three ways to read a page."""

    def __init__(self, db: Database, caller: Any, filters: Any, order_by: str, order: str) -> None:
        self.caller, self.filters, self.order_by, self.order = caller, filters, order_by, order
        with db.session() as s:
            query = listing.build_query(s, caller, filters)
            count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            # Page 10,000, or the middle page of a shorter list (near its end PostgreSQL may
            # rightly sort the few rows left rather than walk an index).
            pages = count // KEYSET_SIZE
            self.deep = DEEP_PAGE if pages >= DEEP_PAGE else pages // 2
            self.offset = (self.deep - 1) * KEYSET_SIZE
            [before] = listing.page_rows(s, query, order_by, order, self.offset - 1, 1)
            self.after = listing.Position.after(before, order_by, order)
            parts = listing.keyset_queries(query, self.after)
            self.plans = [plan(s, part.limit(KEYSET_SIZE + 1), strict=True) for part in parts]

    def page(self, s: Any, skip: int) -> list[Any]:
        """A numbered page as the API reads it (without the count of a full page)."""
        query = listing.build_query(s, self.caller, self.filters)
        return listing.page_rows(s, query, self.order_by, self.order, skip, KEYSET_SIZE)

    def first(self, s: Any) -> list[Any]:
        return self.page(s, 0)

    def by_offset(self, s: Any) -> list[Any]:
        return self.page(s, self.offset)

    def by_cursor(self, s: Any) -> list[Any]:
        return listing.keyset_page(
            s, listing.build_query(s, self.caller, self.filters), self.after, KEYSET_SIZE
        )[0]


def wrk(base: str, path: str, token: str, seconds: int) -> tuple[float, str]:
    done = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", base + path],
        capture_output=True,
        text=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    latency = re.search(r"Latency\s+(\S+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    note = f"{errors.group(1)} non-2xx!" if errors else ""
    return (float(rate.group(1)) if rate else 0.0), (latency.group(1) if latency else "?") + " " + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesheets", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per URL")
    parser.add_argument("--workers", default="1,2", help="server processes to measure, e.g. 1,2")
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL instead of SQLite")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="punchclock-bench-"))
    url = args.postgres or f"sqlite:///{tmp / 'bench.db'}"
    backend = "PostgreSQL" if args.postgres else "SQLite"
    cli("db", "upgrade", url=url)
    start = time.perf_counter()
    cli("demo", "--timesheets", str(args.timesheets), "--users", str(args.users), url=url)
    load = time.perf_counter() - start
    print(
        f"{backend}: loaded {args.timesheets:,} timesheets for {args.users} users in {load:.1f} s "
        f"({args.timesheets / load:,.0f} rows/s, CLI start-up included)"
    )
    cli(
        "user",
        "create",
        "benchadmin",
        "benchadmin@example.com",
        "--role",
        "ROLE_SUPER_ADMIN",
        "--password-stdin",
        url=url,
        stdin=PASSWORD + "\n",
    )
    admin_token = cli("token", "create", "benchadmin", "--name", "bench", url=url).strip().splitlines()[-1]

    db = Database(url)
    with db.session() as s:
        user_id, project_id = s.execute(
            text(
                "SELECT user_id, project_id FROM timesheets GROUP BY user_id, project_id "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        username = s.get(User, user_id).username  # type: ignore[union-attr]
    user_token = cli("token", "create", username, "--name", "bench", url=url).strip().splitlines()[-1]
    queries = named_queries(db, user_id, project_id)

    print(f"\nQuery plans and the median cost of one 50-row page ({backend}):")
    flagged = 0
    with db.session() as s:
        for label, _url, caller, options in queries:
            text_plan, verdict = plan(s, page_query(s, caller, options))
            flagged += verdict == "FULL SCAN"
            ms = timed_page(db, caller, options)
            print(f"  {label:28} {ms:8.2f} ms  {verdict}\n      {text_plan}")
    print(f"  {flagged} of {len(queries)} plans scan the whole table")
    admin, user = callers(db, user_id)
    keyset_urls = keyset_report(db, {"admin": admin, "user": user})
    db.dispose()

    if not shutil.which("wrk"):
        print("\nwrk is not installed (apt-get install wrk): skipping the HTTP measurements")
        return
    for workers in (int(w) for w in args.workers.split(",")):
        with serving(url, admin_token, workers=workers) as base:
            print(f"\nwrk, {backend}, {workers} worker(s), 8 connections, {args.seconds} s per URL:")
            ping, _ = wrk(base, "/api/ping", admin_token, args.seconds)
            print(f"  {'ping (baseline)':28} {ping:8.0f} req/s")
            for label, path, caller, _options in queries:
                token = admin_token if caller.can("view_all_data") else user_token
                rate, latency = wrk(base, path, token, args.seconds)
                print(f"  {label:28} {rate:8.0f} req/s  {rate / ping:5.2f} × ping  latency {latency}")
            first_page = 0.0
            for label, path in keyset_urls:
                rate, latency = wrk(base, path, admin_token, args.seconds)
                first_page = first_page or rate
                ratio = f"{rate / first_page:5.2f} × page 1"
                print(f"  {label:28} {rate:8.0f} req/s  {ratio}  latency {latency}")


if __name__ == "__main__":
    main()
