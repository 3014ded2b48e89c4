"""iCalendar files: a practitioner's private feed and a patient's series, with time zones.

Calendar apps keep what they fetch, outside the clinic: a feed carries the time, the room
and the patient's initials, never a diagnosis.
"""

import datetime

from django.utils import timezone
from icalendar import Calendar, Event

from mesoclinic.core.selectors import current_clinic, wall_clock


def _calendar(name):
    calendar = Calendar()
    calendar.add("prodid", "-//MesoClinic//Sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(session, zone, summary, description=""):
    event = Event()
    event.add("uid", f"session-{session.pk}@mesoclinic")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", wall_clock(session.starts_at, zone).replace(tzinfo=zone))
    event.add("dtend", wall_clock(session.ends_at, zone).replace(tzinfo=zone))
    event.add("summary", summary)
    event.add("location", session.room.name)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if session.status == "cancelled" else "CONFIRMED")
    event.add("sequence", int(session.updated_at.timestamp()) % 2_000_000_000)
    return event


def _initials(patient):
    return f"{patient.given_name[:1]}. {patient.family_name[:1]}."


def practitioner_feed(practitioner, sessions):
    clinic = current_clinic()
    zone = clinic.zone
    calendar = _calendar(f"{clinic.name}: {practitioner.display_name}")
    for session in sessions:
        calendar.add_component(
            _event(
                session,
                zone,
                f"Mesotherapy {session.sequence}/{session.plan.sessions_planned}: {_initials(session.patient)}",
            )
        )
    calendar.add_missing_timezones()
    return calendar.to_ical()


def patient_series(patient, sessions):
    clinic = current_clinic()
    zone = clinic.zone
    calendar = _calendar(f"{clinic.name}: your sessions")
    for session in sessions:
        description = f"{clinic.name}, {clinic.address}. Phone {clinic.phone}.".strip()
        calendar.add_component(
            _event(
                session, zone, f"Mesotherapy session {session.sequence} of {session.plan.sessions_planned}", description
            )
        )
    calendar.add_missing_timezones()
    return calendar.to_ical()


FEED_WINDOW = (datetime.timedelta(days=30), datetime.timedelta(days=400))
