"""Idempotency-Key: safe retries of POST and PATCH under /api/ (see ``middleware``)."""

from punchclock.ext.idempotency.docs import document
from punchclock.ext.idempotency.middleware import HEADER, REPLAYED, Idempotency

__all__ = ["HEADER", "REPLAYED", "Idempotency", "document"]
