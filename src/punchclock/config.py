"""Every setting in one place, read from PUNCHCLOCK_* environment variables."""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from punchclock.kimai.datetimes import is_timezone
from punchclock.kimai.numbers import render_number


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUNCHCLOCK_", extra="ignore")

    database_url: str = Field(
        "sqlite:///punchclock.db", description="SQLAlchemy URL: sqlite:///FILE or postgresql://…"
    )
    default_timezone: str = Field(
        "Europe/Berlin", description="Timezone of users created without one (and of the CLI's first admin)"
    )
    sqlite_busy_timeout_ms: int = Field(30_000, description="How long a SQLite writer waits for the lock")
    db_threads: int = Field(
        2, ge=1, description="Threads that run database work per process (a small pool beats a big one)"
    )
    cors_allow_origin: str = Field(
        "*",
        description="Origins that may call /api/ from a browser: '*' (any, as Kimai), a comma-separated list "
        "of origins ('null' for pages opened from disk), or '' (CORS off)",
    )
    legacy_auth_delay_ms: tuple[int, int] = Field(
        (200, 500), description="Random delay range for every X-AUTH-USER/X-AUTH-TOKEN attempt, as Kimai"
    )
    legacy_auth_max_failures: int = Field(
        5, description="Failed legacy logins per client IP and window before 400 Bad Request"
    )
    legacy_auth_window_seconds: int = Field(60, description="Window of the legacy-login failure limit")
    token_usage_interval_seconds: int = Field(
        60, description="An API token's last usage is written at most this often"
    )
    meta_fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Custom fields per entity type, e.g. {"customer": ["crm_id"]}, plus those in the DB',
    )
    customer_number_format: str = Field(
        "{cc,4}", description="Automatic customer number ({cc,N}: N digits, numbered as Kimai does)"
    )
    project_number_format: str = Field("{pc,4}", description="Automatic project number")
    activity_number_format: str = Field("{ac,4}", description="Automatic activity number")
    allow_duplicate_numbers: bool = Field(
        False, description="Allow two customers/projects/activities one number"
    )

    # Timesheet rules, with Kimai's defaults (its "timesheet.*" configuration).
    timesheet_rounding_mode: Literal["default", "closest", "floor", "ceil"] = Field(
        "default", description="Rounding: default (begin down, end and duration up), closest, floor or ceil"
    )
    timesheet_rounding_begin: int = Field(1, ge=0, description="Round begin to this many minutes (0 = off)")
    timesheet_rounding_end: int = Field(1, ge=0, description="Round end to this many minutes (0 = off)")
    timesheet_rounding_duration: int = Field(
        0, ge=0, description="Round the duration to this many minutes (0 = off)"
    )
    timesheet_active_entries_hard_limit: int = Field(
        1, ge=1, description="Running timers per user; starting one more stops the oldest"
    )
    timesheet_allow_future_times: bool = Field(True, description="Allow begin/end in the future")
    timesheet_allow_overlapping: bool = Field(True, description="Allow a user's records to overlap")
    timesheet_allow_zero_duration: bool = Field(True, description="Allow stopped records of zero duration")
    timesheet_require_activity: bool = Field(True, description="A timesheet needs an activity")
    timesheet_long_running_duration: int = Field(
        0, ge=0, description="Longest allowed record in minutes (0 = no limit besides one year)"
    )
    timesheet_break_time: bool = Field(False, description="Offer the timesheet `break` field")

    idempotency_key_ttl_hours: float = Field(
        24, gt=0, description="How long an Idempotency-Key and its stored answer are kept"
    )

    changes_retention_days: int = Field(
        30,
        ge=0,
        le=36_500,
        description="Days the change feed keeps tombstones of deletions; older cursors must resync in full",
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if not is_timezone(value):
            raise ValueError(f"unknown timezone {value!r} (use a canonical name such as Europe/Berlin)")
        return value

    @field_validator("customer_number_format", "project_number_format", "activity_number_format")
    @classmethod
    def _renderable(cls, value: str) -> str:
        render_number(value, counter=1, today=datetime.date(2000, 1, 1))  # NumberFormatError is a ValueError
        return value

    @field_validator("cors_allow_origin")
    @classmethod
    def _origins(cls, value: str) -> str:
        # A browser sends its origin without path or trailing slash: anything else would never match.
        for origin in filter(None, (part.strip() for part in value.split(","))):
            if origin not in ("*", "null") and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], '*' or 'null')")
        return value

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # Plain postgresql:// URLs would pick psycopg2, which we do not ship.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
