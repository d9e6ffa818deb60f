"""Every write reports its changes through ``punchclock.changes``, cascaded deletes included."""

from __future__ import annotations

from punchclock import changes
from punchclock.activities.service import EDIT as ACTIVITY_FORM
from punchclock.auth.permissions import system_caller
from punchclock.customers.service import EDIT as CUSTOMER_FORM
from punchclock.db import Database, utcnow
from punchclock.entities import service
from punchclock.entities.crud import create
from punchclock.entities.kinds import CUSTOMER, PROJECT
from punchclock.projects.service import EDIT as PROJECT_FORM
from punchclock.timesheets.models import Timesheet
from tests.conftest import PEOPLE


def test_creates_and_cascaded_deletes_are_recorded(db: Database) -> None:
    caller = system_caller("Europe/Berlin")
    with db.session(write=True) as session:
        customer = create(session, spec=CUSTOMER_FORM, caller=caller, data={"name": "Acme"})
        project = create(
            session, spec=PROJECT_FORM, caller=caller, data={"name": "Web", "customer": str(customer.id)}
        )
        activity = create(
            session, spec=ACTIVITY_FORM, caller=caller, data={"name": "Code", "project": str(project.id)}
        )
        global_activity = create(session, spec=ACTIVITY_FORM, caller=caller, data={"name": "Meeting"})
        timesheet = Timesheet(
            user_id=PEOPLE["user"].id,
            project_id=project.id,
            activity_id=global_activity.id,
            begin=utcnow(),
            timezone="UTC",
        )
        session.add(timesheet)
        session.flush()
        assert changes.recorded(session) == [
            ("customer", customer.id, "upsert"),
            ("project", project.id, "upsert"),
            ("activity", activity.id, "upsert"),
            ("activity", global_activity.id, "upsert"),
        ]
    with db.session(write=True) as session:
        service.delete(session, caller=caller, kind=CUSTOMER, entity_id=customer.id)
        assert changes.recorded(session) == [
            ("customer", customer.id, "delete"),
            ("project", project.id, "delete"),
            ("activity", activity.id, "delete"),
            # A global activity survives, but its timesheets on the customer's projects do not.
            ("timesheet", timesheet.id, "delete"),
        ]
        assert session.get(type(global_activity), global_activity.id) is not None


def test_deleting_a_project_records_its_activities(db: Database) -> None:
    caller = system_caller("Europe/Berlin")
    with db.session(write=True) as session:
        customer = create(session, spec=CUSTOMER_FORM, caller=caller, data={"name": "Acme"})
        project = create(
            session, spec=PROJECT_FORM, caller=caller, data={"name": "Web", "customer": str(customer.id)}
        )
        activity = create(
            session, spec=ACTIVITY_FORM, caller=caller, data={"name": "Code", "project": str(project.id)}
        )
    with db.session(write=True) as session:
        service.delete(session, caller=caller, kind=PROJECT, entity_id=project.id)
        assert changes.recorded(session) == [
            ("project", project.id, "delete"),
            ("activity", activity.id, "delete"),
        ]


def test_a_rolled_back_savepoint_takes_back_what_it_recorded(db: Database) -> None:
    with db.session(write=True) as session:
        changes.record(session, entity="tag", entity_id=1, op="upsert")
        kept = session.begin_nested()
        changes.record(session, entity="tag", entity_id=2, op="upsert")
        inner = session.begin_nested()
        changes.record(session, entity="tag", entity_id=3, op="upsert")
        inner.rollback()
        kept.commit()
        dropped = session.begin_nested()
        changes.record(session, entity="tag", entity_id=4, op="delete")
        dropped.rollback()
        assert changes.recorded(session) == [("tag", 1, "upsert"), ("tag", 2, "upsert")]
        changes.take(session)  # nothing of this test is written
