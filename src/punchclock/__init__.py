"""Punchclock: a time-tracking server that speaks the Kimai 2 JSON API."""

__version__ = "0.1.0"
