"""Throughput of `punchclock import-csv` against a local server.

Starts `punchclock serve` on a temporary SQLite database, then runs the real command four times:
master data (10,000 rows naming 1,000 distinct customers, projects and activities), the same file
again (everything present), 10,000 timesheets on those entities, and those timesheets again. Prints
rows/s, the requests each run made and requests per row. Each run is bounded by a timeout.
The first line is a baseline: sequential pings on one connection, the ceiling of one-request-per-row.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--workers 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from serving import seed_admin, serving

from punchclock.db import Database
from punchclock.migrate import upgrade

TOKEN = "bench-token"
# 10 customers x 9 projects x 10 activities: 10 + 90 + 900 = 1,000 entities.
CUSTOMERS, PROJECTS_PER_CUSTOMER, ACTIVITIES_PER_PROJECT = 10, 9, 10
PINGS = 500
SLOTS_PER_DAY = 16  # half-hour timesheets from 08:00
SUMMARY = re.compile(r"^rows:\s+(\d+) read, (\d+) ok, (\d+) failed \((\d+) requests in [\d.]+ s\)$", re.M)


def seed(url: str) -> None:
    upgrade(url)
    db = Database(url)
    seed_admin(db, TOKEN)
    db.dispose()


def triples() -> list[tuple[str, str, str]]:
    return [
        (f"Customer {c:02d}", f"Project {c:02d}-{p}", f"Activity {a:02d}")
        for c in range(CUSTOMERS)
        for p in range(PROJECTS_PER_CUSTOMER)
        for a in range(ACTIVITIES_PER_PROJECT)
    ]


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    names = triples()
    master = folder / "master.csv"
    lines = ["Customer,Project,Activity"]
    lines += [",".join(names[i % len(names)]) for i in range(rows)]
    master.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sheets = folder / "timesheets.csv"
    first = dt.date(2024, 1, 1)
    lines = ["Date,From,To,Customer,Project,Activity,Description,Tags"]
    for i in range(rows):
        day, slot = divmod(i, SLOTS_PER_DAY)
        begin = 8 * 60 + 30 * slot  # minutes after midnight
        clock = f"{begin // 60:02d}:{begin % 60:02d},{(begin + 30) // 60:02d}:{(begin + 30) % 60:02d}"
        date = first + dt.timedelta(days=day)
        lines.append(f"{date},{clock},{','.join(names[i % len(names)])},row {i},tag-{i % 20:02d}")
    sheets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return master, sheets


def run(label: str, base: str, file: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", "import-csv", str(file), "--url", base, "--token", TOKEN, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    match = SUMMARY.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"{label}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    rows, ok, requests = int(match[1]), int(match[2]), int(match[4])
    created = sum(int(n) for n in re.findall(r"(\d+) created", done.stdout))
    print(
        f"{label:34} {rows:7d} {ok:7d} {created:8d} {requests:9d} {requests / rows:9.3f} "
        f"{seconds:7.1f} {rows / seconds:8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="punchclock-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    seed(url)
    master, sheets = write_files(tmp, args.rows)
    with serving(url, TOKEN, workers=args.workers) as base:
        print(
            f"punchclock import-csv bench: SQLite, {args.workers} worker(s), {args.rows} rows, "
            f"{len(triples()) + CUSTOMERS * (1 + PROJECTS_PER_CUSTOMER)} distinct entities, 20 tags"
        )
        print(
            f"{'run (wall time includes start-up)':34} {'rows':>7} {'ok':>7} {'created':>8} {'requests':>9} "
            f"{'req/row':>9} {'s':>7} {'rows/s':>8}"
        )
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            started = time.perf_counter()
            for _ in range(PINGS):
                client.get("/api/ping").raise_for_status()
            ping = PINGS / (time.perf_counter() - started)
        label = "baseline: sequential GET /api/ping"
        print(f"{label:34} {'':7} {'':7} {'':8} {PINGS:9d} {'':9} {'':7} {ping:8.0f}")
        run("master data, first run", base, master)
        run("master data, again (all present)", base, master)
        run("timesheets, first run", base, sheets, "--timesheets")
        run("timesheets, again (all present)", base, sheets, "--timesheets")


if __name__ == "__main__":
    main()
