"""Throughput of the list endpoints against a real server, with baselines from the same run.

Seeds a temporary SQLite database (customers, projects, activities), starts `punchclock serve`
as a subprocess on loopback, and drives each endpoint with concurrent keep-alive requests for a
fixed time. Baselines: `GET /api/ping` (auth + routing, no listing) and the cost of the bare query
plus orjson in-process. Bounded: about 5 s per endpoint.

    .venv/bin/python bench/bench_lists.py [--seconds 4] [--concurrency 8] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from serving import seed_admin, serving
from sqlalchemy import insert

from punchclock import models
from punchclock.db import Database
from punchclock.migrate import upgrade

TOKEN = "bench-token"
CUSTOMERS, PROJECTS_PER_CUSTOMER, ACTIVITIES_PER_PROJECT = 500, 4, 5


def seed(url: str) -> None:
    upgrade(url)
    db = Database(url)
    seed_admin(db, TOKEN)
    with db.session(write=True) as s:
        s.execute(
            insert(models.Customer),
            [
                {"id": c, "name": f"Customer {c:05d}", "number": f"{c:05d}", "timezone": "Europe/Berlin"}
                for c in range(1, CUSTOMERS + 1)
            ],
        )
        projects = [
            {"id": (c - 1) * PROJECTS_PER_CUSTOMER + p, "customer_id": c, "name": f"Project {c}-{p}"}
            for c in range(1, CUSTOMERS + 1)
            for p in range(1, PROJECTS_PER_CUSTOMER + 1)
        ]
        s.execute(insert(models.Project), projects)
        s.execute(
            insert(models.Activity),
            [
                {"project_id": p["id"], "name": f"Activity {p['id']}-{a}"}
                for p in projects
                for a in range(1, ACTIVITIES_PER_PROJECT + 1)
            ],
        )
    db.dispose()


async def drive(base: str, path: str, seconds: float, concurrency: int) -> tuple[float, float, int]:
    """(requests per second, median latency in ms, response bytes)."""
    latencies: list[float] = []
    size = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def worker() -> None:
            nonlocal size
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.get(path)
                response.raise_for_status()
                latencies.append(time.perf_counter() - start)
                size = len(response.content)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[len(latencies) // 2] * 1000, size


def bare_query_ms(path: Path, sql: str, repeat: int = 20) -> float:
    """The floor: the same rows fetched with sqlite3 and dumped with orjson, in-process."""
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    start = time.perf_counter()
    for _ in range(repeat):
        orjson.dumps([dict(row) for row in connection.execute(sql)])
    connection.close()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="punchclock-bench-"))
    db_path = tmp / "bench.db"
    url = f"sqlite:///{db_path}"
    seed(url)
    with serving(url, TOKEN, workers=args.workers) as base:
        endpoints = [
            ("ping (baseline)", "/api/ping", None),
            (
                "customers, 1 row",
                "/api/customers?term=00042",
                "SELECT * FROM customers WHERE name LIKE '%00042%'",
            ),
            (
                "activities of 1 project",
                "/api/activities?project=1",
                "SELECT * FROM activities WHERE project_id = 1",
            ),
            (
                "projects of 1 customer",
                "/api/projects?customer=1&ignoreDates=1",
                "SELECT * FROM projects WHERE customer_id = 1",
            ),
            (f"customers, all {CUSTOMERS}", "/api/customers", "SELECT * FROM customers"),
            (
                f"projects, all {CUSTOMERS * PROJECTS_PER_CUSTOMER}",
                "/api/projects?ignoreDates=1",
                "SELECT * FROM projects",
            ),
        ]
        print(
            f"punchclock bench: SQLite, {args.workers} worker(s), concurrency {args.concurrency}, "
            f"{args.seconds:.0f} s per endpoint"
        )
        print(
            f"{'endpoint':32} {'req/s':>8} {'median ms':>10} {'bytes':>9} {'vs ping':>8} {'bare SQL ms':>12}"
        )
        ping_rate = 0.0
        for label, path, sql in endpoints:
            rate, median, size = asyncio.run(drive(base, path, args.seconds, args.concurrency))
            ping_rate = ping_rate or rate
            bare = f"{bare_query_ms(db_path, sql):.2f}" if sql else "-"
            print(f"{label:32} {rate:8.0f} {median:10.1f} {size:9d} {rate / ping_rate:8.2f} {bare:>12}")


if __name__ == "__main__":
    main()
