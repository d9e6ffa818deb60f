"""Demo data: a small agency with customers, projects, activities, a team and users.

Everything goes through the same service functions the API uses, so demo rows look exactly like
rows created over HTTP (numbers, defaults, recorded changes). Timesheets at scale, with many more
customers, projects, activities and users, are added on top by ``punchclock.demo_bulk``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.activities.service import EDIT as ACTIVITY_FORM
from punchclock.auth.permissions import system_caller
from punchclock.customers.models import Customer
from punchclock.customers.service import EDIT as CUSTOMER_FORM
from punchclock.entities.crud import create
from punchclock.projects.service import EDIT as PROJECT_FORM
from punchclock.teams.models import Team, TeamMember
from punchclock.users.service import create_user, find_user

DEMO_MARKER = "Demo data"

CUSTOMERS: list[dict[str, Any]] = [
    {
        "name": "Northwind Traders",
        "company": "Northwind Traders GmbH",
        "country": "DE",
        "currency": "EUR",
        "city": "Hamburg",
        "email": "office@northwind.example",
        "projects": {
            "Webshop relaunch": ["Design", "Frontend development", "Backend development", "Testing"],
            "Hosting & support": ["Support", "Maintenance"],
        },
    },
    {
        "name": "Contoso Ltd",
        "company": "Contoso Ltd",
        "country": "GB",
        "currency": "GBP",
        "timezone": "Europe/London",
        "city": "London",
        "projects": {
            "Mobile app": ["Design", "iOS development", "Android development"],
            "Data migration": ["Analysis", "Scripting"],
        },
    },
    {
        "name": "Fabrikam Inc.",
        "company": "Fabrikam Inc.",
        "country": "US",
        "currency": "USD",
        "timezone": "America/New_York",
        "city": "New York",
        "projects": {"Brand workshop": ["Workshop", "Preparation"]},
    },
]
GLOBAL_ACTIVITIES = ["Meeting", "Project management", "Travel"]
USERS = [
    ("teamlead", "teamlead@example.com", ["ROLE_TEAMLEAD"], "Tina Lead"),
    ("john", "john@example.com", [], "John Doe"),
    ("jane", "jane@example.com", [], "Jane Roe"),
]
DEMO_PASSWORD = "demo-password"


def demo_loaded(session: Session) -> bool:
    return session.scalars(select(Customer.id).where(Customer.comment == DEMO_MARKER)).first() is not None


def load_demo(session: Session, *, timezone: str) -> str:
    """Create the demo rows; refuses to run twice."""
    if demo_loaded(session):
        raise ValueError("the demo data is loaded already")
    caller = system_caller(timezone)
    counts = {"customers": 0, "projects": 0, "activities": 0, "users": 0}
    for spec in CUSTOMERS:
        fields = {k: v for k, v in spec.items() if k != "projects"}
        customer = create(session, spec=CUSTOMER_FORM, caller=caller, data={**fields, "comment": DEMO_MARKER})
        counts["customers"] += 1
        for project_name, activities in spec["projects"].items():
            project = create(
                session,
                spec=PROJECT_FORM,
                caller=caller,
                data={"name": project_name, "customer": str(customer.id)},
            )
            counts["projects"] += 1
            for activity_name in activities:
                data = {"name": activity_name, "project": str(project.id)}
                create(session, spec=ACTIVITY_FORM, caller=caller, data=data)
                counts["activities"] += 1
    for activity_name in GLOBAL_ACTIVITIES:
        create(session, spec=ACTIVITY_FORM, caller=caller, data={"name": activity_name})
        counts["activities"] += 1
    team = Team(name="Demo team")
    session.add(team)
    for username, email, roles, alias in USERS:
        user = find_user(session, login=username) or create_user(
            session,
            username=username,
            email=email,
            password=DEMO_PASSWORD,
            roles=roles,
            timezone=timezone,
            alias=alias,
        )
        counts["users"] += 1
        session.flush()
        team.members.append(TeamMember(user_id=user.id, teamlead="ROLE_TEAMLEAD" in roles))
    session.flush()
    changes.record(session, entity="team", entity_id=team.id, op="upsert")
    return (
        f"demo data loaded: {counts['customers']} customers, {counts['projects']} projects, "
        f"{counts['activities']} activities, {counts['users']} users (password '{DEMO_PASSWORD}') in one team"
    )
