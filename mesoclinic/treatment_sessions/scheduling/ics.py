"""iCalendar files: a practitioner's private feed and a patient's series, with time zones.

Calendar apps keep what they fetch, outside the clinic: a feed carries the time, the room
and the patient's initials, never a diagnosis.
"""

import datetime

from django.utils import timezone, translation
from django.utils.translation import gettext as _
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
    # A calendar app fetches the feed signed out: it reads in the practitioner's own language.
    with translation.override(practitioner.language or clinic.staff_language or None):
        for session in sessions:
            summary = _("Mesotherapy %(n)s/%(total)s: %(initials)s") % {
                "n": session.sequence,
                "total": session.plan.sessions_planned,
                "initials": _initials(session.patient),
            }
            calendar.add_component(_event(session, zone, summary))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def patient_series(patient, sessions):
    clinic = current_clinic()
    zone = clinic.zone
    # The patient's file, in the patient's language (the staff member downloading it may read another).
    with translation.override(patient.preferred_language or None):
        calendar = _calendar(_("%(clinic)s: your sessions") % {"clinic": clinic.name})
        for session in sessions:
            description = (
                _("%(clinic)s, %(address)s. Phone %(phone)s.")
                % {"clinic": clinic.name, "address": clinic.address, "phone": clinic.phone}
            ).strip()
            summary = _("Mesotherapy session %(n)s of %(total)s") % {
                "n": session.sequence,
                "total": session.plan.sessions_planned,
            }
            calendar.add_component(_event(session, zone, summary, description))
    calendar.add_missing_timezones()
    return calendar.to_ical()


FEED_WINDOW = (datetime.timedelta(days=30), datetime.timedelta(days=400))
