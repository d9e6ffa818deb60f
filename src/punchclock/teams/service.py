"""Teams: keyword-only functions shared by the API and the command line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, lazyload

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.db import utcnow
from punchclock.entities import service as entities
from punchclock.entities.fields import COLOR_FIELD
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, Kind, voter_teams
from punchclock.entities.listing import changed_since
from punchclock.entities.service import by_name, find, get_or_404, ordered, selectable_user
from punchclock.kimai import forms
from punchclock.kimai.errors import BadRequest, Forbidden, NotFound
from punchclock.kimai.forms import (
    EXTRA_FIELDS,
    INVALID_CHOICE,
    NOT_VALID,
    Field,
    FieldError,
    Nested,
    length,
    no_special_characters,
    not_blank,
)
from punchclock.teams.models import Team, TeamActivity, TeamCustomer, TeamMember, TeamProject
from punchclock.users.models import User
from punchclock.users.service import profile_of, touch_user

TAKEN = "This value is already used."
NO_TEAMLEAD = "At least one team leader must be assigned to the team."
NO_MEMBER = "This collection should contain 1 element or more."
# A nested yes/no field (a member's ``teamlead``) keeps Kimai's YesNoType: these mean no.
_NO = (None, "", "0", "false")

Members = list[tuple[int, bool]]
"""(user id, team lead) in the order given."""


class TeamRuleBroken(BadRequest):
    """A 400 whose reason Kimai hides from API clients (``Bad Request``); the command line shows it."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail


# --- reading ---------------------------------------------------------------------------------------------


def list_teams(session: Session, *, caller: Caller, modified_after: dt.datetime | None = None) -> list[Team]:
    """``view_team``; admins see every team, others the teams they lead. By name."""
    if not caller.can("view_team"):
        raise Forbidden()
    query = select(Team).options(lazyload(Team.members))  # the list shows no members
    query = changed_since(query, Team.modified_at, modified_after)
    if not caller.sees_all:
        query = query.where(Team.id.in_(caller.lead_team_ids))
    return list(session.scalars(ordered(query, by_name(Team.name), Team.id, "ASC")))


def _team(session: Session, team_id: int) -> Team:
    team: Team | None = find(session, Team, team_id)
    if team is None:
        raise NotFound()
    return team


def get_team(session: Session, *, caller: Caller, team_id: int) -> Team:
    """404 first; then ``view_team`` (Kimai checks no more for a single team)."""
    team = _team(session, team_id)
    if not caller.can("view_team"):
        raise Forbidden()
    return team


def _editable(session: Session, caller: Caller, team_id: int, attribute: str = "edit") -> Team:
    team = _team(session, team_id)
    if not caller.may_team(attribute, team.id):
        raise Forbidden()
    return team


def members_of(session: Session, team_id: int) -> list[tuple[User, bool]]:
    query = (
        select(User, TeamMember.teamlead)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id)
        .order_by(by_name(User.username), User.id)
    )
    return [(user, lead) for user, lead in session.execute(query)]


def linked(session: Session, team_id: int, kind: Kind) -> list[Any]:
    """The team's customers, projects or activities, by name."""
    link, column = _LINKS[kind.name]
    model = kind.model
    query = select(model).join(link, column == model.id).where(link.team_id == team_id)
    return list(session.scalars(ordered(query, by_name(model.name), model.id, "ASC")))


_LINKS: dict[str, tuple[Any, Any]] = {
    CUSTOMER.name: (TeamCustomer, TeamCustomer.customer_id),
    PROJECT.name: (TeamProject, TeamProject.project_id),
    ACTIVITY.name: (TeamActivity, TeamActivity.activity_id),
}


# --- the form ------------------------------------------------------------------------------------------


def _members_field(session: Session, caller: Caller, current: set[int]) -> Field:
    """``members``: ``[{"user": id, "teamlead": bool}]``. A user must be one the caller may pick
    (or already in the team); repeated users count once (the first wins); an entry without a user
    is dropped, as Kimai drops it. Errors of the collection itself show on the form (Symfony
    bubbles them), a user's on ``members.N.user``."""

    def user_choice(raw: Any) -> int | None:
        user_id = forms.integer_id(raw)
        if user_id is not None and user_id not in current and not selectable_user(session, caller, user_id):
            raise FieldError(INVALID_CHOICE)
        return user_id

    def parse(raw: Any) -> Nested:
        if raw is None:
            return Nested([], {})
        if not isinstance(raw, list | dict):
            raise FieldError(NOT_VALID)
        entries = raw.items() if isinstance(raw, dict) else enumerate(raw)
        members: Members = []
        children: dict[str, Any] = {}
        bubbled: list[str] = []
        failed = False
        for key, entry in entries:
            child: dict[str, Any] = {"user": {}, "teamlead": {}}
            children[str(key)] = {"children": child}
            if not isinstance(entry, dict):
                failed = True
                bubbled.append(NOT_VALID)
                continue
            if set(entry) - set(child):
                failed = True
                bubbled.append(EXTRA_FIELDS)
            try:
                user_id = user_choice(entry.get("user"))
            except FieldError as exc:
                failed, user_id = True, None
                child["user"] = {"errors": [exc.message]}
            lead = entry.get("teamlead")
            if isinstance(lead, list | dict):  # unreadable: the member keeps the default (no lead)
                failed, lead = True, None
                child["teamlead"] = {"errors": [NOT_VALID]}
            if user_id is not None and all(user_id != known for known, _ in members):
                members.append((user_id, lead not in _NO))
        return Nested(members, children, failed, tuple(bubbled))

    def has_teamlead(members: Members) -> str | None:
        return None if any(lead for _, lead in members) else NO_TEAMLEAD

    def not_empty(members: Members) -> str | None:
        return None if members else NO_MEMBER

    return Field("members", parse, (has_teamlead, not_empty), bubble=True)


def _fields(session: Session, caller: Caller, team: Team | None, current: Members) -> tuple[Field, ...]:
    own_id = team.id if team is not None else 0

    def unique(name: Any) -> str | None:
        if not name:
            return None
        query = select(Team.id).where(by_name(Team.name) == name.lower(), Team.id != own_id)
        return TAKEN if session.scalar(query.limit(1)) is not None else None

    # The unique name is a rule of the whole team in Kimai, checked before the field's own.
    name = Field("name", forms.text, (unique, no_special_characters, not_blank, length(2, 100)))
    return name, COLOR_FIELD, _members_field(session, caller, {user_id for user_id, _ in current})


def _current_members(session: Session, team_id: int) -> Members:
    return [(user.id, lead) for user, lead in members_of(session, team_id)]


def create_team(session: Session, *, caller: Caller, data: Any) -> Team:
    """``POST /api/teams`` (``create_team``): absent fields are submitted empty (clear-missing)."""
    if not caller.can("create_team"):
        raise Forbidden()
    submission = forms.submit(_fields(session, caller, None, []), data, current={}, clear_missing=True)
    values = dict(submission.changes)
    members: Members = values.pop("members")
    team = Team(**values)
    session.add(team)
    session.flush()
    _replace_members(session, team, [], members)
    touch_team(session, team)
    return team


def update_team(session: Session, *, caller: Caller, team_id: int, data: Any) -> Team:
    """``PATCH /api/teams/{id}``: absent fields stay; ``members`` replaces the whole member list."""
    team = _editable(session, caller, team_id)
    current = _current_members(session, team.id)
    fields = _fields(session, caller, team, current)
    state = {"name": team.name, "color": team.color, "members": current}
    submission = forms.submit(fields, data, current=state, clear_missing=False)
    values = dict(submission.changes)
    if "members" in values:
        _replace_members(session, team, current, values.pop("members"))
    for attr, value in values.items():
        setattr(team, attr, value)
    touch_team(session, team)
    return team


def _replace_members(session: Session, team: Team, current: Members, wanted: Members) -> None:
    before, after = dict(current), dict(wanted)
    gone = [user_id for user_id in before if user_id not in after]
    if gone:
        session.execute(delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id.in_(gone)))
    for user_id, lead in after.items():
        if user_id not in before:
            session.add(TeamMember(team_id=team.id, user_id=user_id, teamlead=lead))
        elif before[user_id] != lead:
            member = session.get(TeamMember, (team.id, user_id))
            assert member is not None
            member.teamlead = lead
    session.flush()
    session.expire(team, ["members"])
    changed = set(gone) | {user_id for user_id, lead in after.items() if before.get(user_id) != lead}
    _touch_users(session, changed)


def delete_team(session: Session, *, caller: Caller, team_id: int) -> None:
    """Members and access grants go with the team; the users and entities that lose it are recorded."""
    team = _editable(session, caller, team_id, "delete")
    users = [user_id for user_id, _ in _current_members(session, team.id)]
    grants = [(kind, linked(session, team.id, kind)) for kind in (CUSTOMER, PROJECT, ACTIVITY)]
    session.delete(team)
    session.flush()
    changes.record(session, entity="team", entity_id=team_id, op="delete")
    _touch_users(session, users)
    for kind, rows in grants:
        for row in rows:
            session.expire(row, ["teams"])
            entities.touch(session, kind=kind, entity=row)


def touch_team(session: Session, team: Team) -> None:
    team.modified_at = utcnow()
    session.flush()
    changes.record(session, entity="team", entity_id=team.id, op="upsert")


def _touch_users(session: Session, user_ids: Iterable[int]) -> None:
    for user_id in sorted(user_ids):
        user = session.get(User, user_id)
        if user is not None:
            touch_user(session, user)


# --- members and access grants -----------------------------------------------------------------------


def _member(session: Session, team_id: int, user_id: int) -> tuple[Team, User]:
    """Both path entities (404 each, team first), then ``edit`` on the team (403)."""
    team = _team(session, team_id)
    user: User | None = find(session, User, user_id)
    if user is None:
        raise NotFound()
    return team, user


def add_member(
    session: Session, *, caller: Caller, team_id: int, user_id: int, teamlead: bool = False
) -> Team:
    """Adds a member who is not a team lead (leads are set with ``members`` on PATCH; the command
    line may add a lead). The caller needs access to the user."""
    team, user = _member(session, team_id, user_id)
    if not caller.may_team("edit", team.id) or not caller.can_access_user(profile_of(session, user)):
        raise Forbidden()
    current = _current_members(session, team.id)
    if any(member == user.id for member, _ in current):
        raise TeamRuleBroken("User is already member of the team")
    _replace_members(session, team, current, [*current, (user.id, teamlead)])
    touch_team(session, team)
    return team


def promote(session: Session, *, caller: Caller, team_id: int, user_id: int) -> Team:
    """Make a member a team lead (the command line; the API sets leads with ``members``)."""
    team, user = _member(session, team_id, user_id)
    if not caller.may_team("edit", team.id):
        raise Forbidden()
    current = _current_members(session, team.id)
    leads = dict(current)
    if user.id not in leads:
        raise TeamRuleBroken("User is not a member of the team")
    if leads[user.id]:
        raise TeamRuleBroken("User is already teamlead of the team")
    _replace_members(
        session, team, current, [(member, lead or member == user.id) for member, lead in current]
    )
    touch_team(session, team)
    return team


def remove_member(session: Session, *, caller: Caller, team_id: int, user_id: int) -> Team:
    team, user = _member(session, team_id, user_id)
    if not caller.may_team("edit", team.id):
        raise Forbidden()
    current = _current_members(session, team.id)
    leads = dict(current)
    if user.id not in leads:
        raise TeamRuleBroken("User is not a member of the team")
    if leads[user.id]:
        raise TeamRuleBroken("Cannot remove teamlead")
    _replace_members(session, team, current, [member for member in current if member[0] != user.id])
    touch_team(session, team)
    return team


def _grant_target(
    session: Session, caller: Caller, team_id: int, kind: Kind, entity_id: int
) -> tuple[Team, Any]:
    """Kimai's order: team 404, entity 404, ``edit`` on the team, ``permissions`` on the entity."""
    team = _team(session, team_id)
    entity = get_or_404(session, kind, entity_id)
    if not caller.may_team("edit", team.id):
        raise Forbidden()
    if not caller.may("permissions", kind.name, voter_teams(kind.name, entity)):
        raise Forbidden()
    return team, entity


def grant(session: Session, *, caller: Caller, team_id: int, kind: Kind, entity_id: int) -> Team:
    """Give the team access to a customer, project or activity (400 when it has it already)."""
    team, entity = _grant_target(session, caller, team_id, kind, entity_id)
    link, column = _LINKS[kind.name]
    exists = session.scalar(select(column).where(link.team_id == team.id, column == entity.id))
    if exists is not None:
        raise TeamRuleBroken(f"Team has already access to {kind.name}")
    session.add(link(team_id=team.id, **{column.key: entity.id}))
    _granted(session, team, kind, entity)
    return team


def revoke(session: Session, *, caller: Caller, team_id: int, kind: Kind, entity_id: int) -> Team:
    team, entity = _grant_target(session, caller, team_id, kind, entity_id)
    link, column = _LINKS[kind.name]
    removed = session.execute(delete(link).where(link.team_id == team.id, column == entity.id))
    if not getattr(removed, "rowcount", 0):
        raise TeamRuleBroken(f"{kind.label} is not assigned to the team")
    _granted(session, team, kind, entity)
    return team


def _granted(session: Session, team: Team, kind: Kind, entity: Any) -> None:
    session.flush()
    session.expire(entity, ["teams"])
    entities.touch(session, kind=kind, entity=entity)
    touch_team(session, team)


# --- the command line ------------------------------------------------------------------------------------


def find_team(session: Session, *, name: str) -> Team:
    """A team by its name (as Kimai compares names: ignoring case)."""
    from punchclock.users.service import UserError

    team = session.scalars(select(Team).where(by_name(Team.name) == name.lower())).first()
    if team is None:
        raise UserError(f"unknown team: {name}")
    return team
