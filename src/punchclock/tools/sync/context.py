"""What a run's sources share: the client, the writer, the token's scope, the options, progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from punchclock.auth.permissions import permissions_for
from punchclock.tools.client import ApiError, KimaiClient, PermissionDenied
from punchclock.tools.sync import records
from punchclock.tools.sync.http import Fan
from punchclock.tools.sync.records import Kind, Row, View
from punchclock.tools.sync.writer import Writer


@dataclass(frozen=True)
class Scope:
    """The token's user as ``GET /api/users/me`` shows it, and what Kimai's default roles let it do
    (a real Kimai may be configured otherwise: a 403 is handled where it matters)."""

    user_id: int
    roles: tuple[str, ...]
    teams: tuple[tuple[int, bool], ...]  # (team id, team lead)
    permissions: frozenset[str]

    @classmethod
    def of(cls, me: View) -> Scope:
        roles = tuple(sorted(me.get("roles") or ()))
        teams = tuple(
            sorted((int(m["team"]["id"]), bool(m.get("teamlead"))) for m in me.get("memberships") or ())
        )
        return cls(int(me["id"]), roles, teams, permissions_for(roles))

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def fingerprint(self) -> dict[str, Any]:
        """What decides what the token sees: when it changes, a full resync is due."""
        return {"user": self.user_id, "roles": list(self.roles), "teams": [list(t) for t in self.teams]}

    def limits(self, kinds: Sequence[Kind]) -> list[str]:
        """Warnings about what this token cannot sync, for the kinds selected."""
        names = {kind.name for kind in kinds}
        found = []
        if "timesheet" in names:
            if not self.can("view_other_timesheet"):
                found.append(
                    "timesheets: the token's user may not see other users' timesheets "
                    "(view_other_timesheet, ROLE_TEAMLEAD and up): only their own are synced"
                )
            if not self.can("view_rate_own_timesheet"):
                found.append("timesheets: rates are hidden from this token: rate columns stay empty")
            elif self.can("view_other_timesheet") and not self.can("view_rate_other_timesheet"):
                found.append("timesheets: rates of other users' timesheets are hidden from this token")
        if "user" in names and not self.can("view_user"):
            found.append("users: listing users needs ROLE_SUPER_ADMIN: only the token's own user is synced")
        if "team" in names and not self.can("view_team"):
            found.append("teams: need ROLE_ADMIN or ROLE_SUPER_ADMIN: teams and their members are not synced")
        if "customer" in names and not self.can("view_customer"):
            found.append(
                "customers: the token may not view every customer in detail: contact, e-mail and address "
                "columns stay empty where it may not"
            )
        unrated = [k.path for k in records.RATED if k.name in names and not self.may_rates(k)]
        if unrated:
            found.append(
                f"{', '.join(unrated)}: rates need ROLE_ADMIN or ROLE_SUPER_ADMIN: they are not synced"
            )
        return found

    def may_rates(self, kind: Kind) -> bool:
        return self.can(f"edit_{kind.name}")


def scope_name(kind: Kind) -> str:
    """Where ``sync_state`` keeps the scope a kind was last synced with."""
    return f"scope.{kind.name}"


@dataclass(frozen=True)
class Options:
    full: bool = False
    reconcile: bool = False
    kinds: tuple[Kind, ...] = records.KINDS


@dataclass
class Context:
    client: KimaiClient
    writer: Writer
    me: View  # GET /api/users/me
    scope: Scope
    started: dt.datetime  # the server's clock when the run began
    options: Options
    warn: Callable[[str], None]
    advance: Callable[[Kind, int, int | None], None]  # (kind, rows done, total if known)
    fan: Fan  # for one request per entity
    refused: set[str] = field(default_factory=set)  # "rates:customer"…: a 403 seen, not asked again

    def state(self, name: str) -> Any:
        """A value of ``sync_state`` as last committed."""
        return self.writer.target.state.get(name)

    def rescoped(self, kind: Kind) -> bool:
        """Whether the token saw ``kind`` otherwise when it was last synced (then it is read afresh)."""
        last = self.state(scope_name(kind))
        return last is not None and last != self.scope.fingerprint()

    def rates(self, kind: Kind, ids: Sequence[int]) -> dict[int, list[Row]]:
        """``GET /api/{kind}s/{id}/rates`` of each, as ``rate`` rows; those the token may not read are
        left out (and rates are not asked for again this run once the server refused them)."""
        key = f"rates:{kind.name}"
        if kind not in records.RATED or not self.scope.may_rates(kind) or key in self.refused or not ids:
            return {}
        found = {}
        for entity_id, answer in zip(
            ids, self.fan.get_all([f"{kind.path}/{i}/rates" for i in ids]), strict=True
        ):
            if isinstance(answer, PermissionDenied):
                if key not in self.refused:
                    self.refused.add(key)
                    self.warn(f"{kind.path}: the server refused to show rates (403): they are not synced")
            elif isinstance(answer, ApiError):
                if answer.status != 404:  # 404: deleted since it was listed; the next run deletes it too
                    raise answer
            else:
                found[entity_id] = records.rate_rows(kind.name, entity_id, answer or ())
        return found
