"""What the benchmarks share: a super admin with a known token, and `punchclock serve` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import insert

from punchclock import models
from punchclock.auth.tokens import token_hash
from punchclock.db import Database


def seed_admin(db: Database, token: str) -> None:
    """User 1, a super admin named ``bench``, with the API token ``token``."""
    with db.session(write=True) as s:
        s.execute(
            insert(models.User).values(
                id=1,
                username="bench",
                email="bench@example.com",
                password="x",
                roles=["ROLE_SUPER_ADMIN"],
                timezone="Europe/Berlin",
            )
        )
        s.execute(insert(models.ApiToken).values(user_id=1, token_hash=token_hash(token), name="bench"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(url: str, token: str, *, workers: int = 1) -> Iterator[str]:
    """`punchclock serve` on ``url`` until the block ends; yields its base URL once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "punchclock", "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "PUNCHCLOCK_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/ping", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
