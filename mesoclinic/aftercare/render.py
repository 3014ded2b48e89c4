"""Turning a stored sheet into words in the patient's language, at the clinic's times."""

import datetime
import zoneinfo

from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from mesoclinic.screening.instructions import translate_substance

from .models import Section

SECTION_TITLES = {
    Section.NORMAL: _("What is normal"),
    Section.DONT: _("Please do not"),
    Section.DO: _("Please do"),
    Section.EVENT: _("Noted at your session"),
    Section.CALL: _("Call us if"),
    Section.GENERAL: _("Good to know"),
}
ORDER = (Section.NORMAL, Section.DONT, Section.DO, Section.EVENT, Section.CALL, Section.GENERAL)


def lower(text, language):
    """Lower case that knows Turkish: I becomes ı and İ becomes i."""
    if language == "tr":
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower()


def _moment(value, zone):
    return datetime.datetime.fromisoformat(value).astimezone(zone)


def when(value, zone, with_time=True):
    """'Thursday 27 November, 14:00' (or Turkish), in the clinic's zone."""
    moment = _moment(value, zone)
    text = date_format(moment, "l j F")
    return f"{text}, {date_format(moment, 'H:i')}" if with_time else text


def _prescriber_only(hold):
    """A sheet stored before instructions had kinds may carry a stop for a blood thinner, or
    for aspirin that may be prescribed for the heart: never show those (only the prescriber
    decides about them)."""
    if "kind" in hold:
        return False
    substance = hold["substance"].casefold()
    return "blood thinner" in substance or "aspirin" in substance


def sheet_words(sheet, language):
    """Everything the sheet template prints, already translated."""
    content = sheet.content
    zone = zoneinfo.ZoneInfo(content["clinic"]["timezone"])
    with translation.override(language):
        sections = []
        for section in ORDER:
            items = content["sections"].get(section, [])
            lines = [
                gettext(item["text"]).replace("{until}", when(item["until"], zone))
                if item.get("until")
                else gettext(item["text"])
                for item in items
            ]
            if section == Section.EVENT:
                for event in content["events"]:
                    if event.get("follow_up_on"):
                        day = date_format(datetime.date.fromisoformat(event["follow_up_on"]), "l j F")
                        lines.append(
                            gettext("We will check on your %(event)s on %(day)s.")
                            % {"event": lower(gettext(event["label"]), language), "day": day}
                        )
            if lines:
                sections.append({"code": section, "title": gettext(SECTION_TITLES[section]), "lines": lines})
        session = content["session"]
        return {
            "language": language,
            "clinic": content["clinic"],
            "patient": content["patient"],
            "practitioner": content["practitioner"],
            "date": when(session["starts_at"], zone),
            "sequence": session["sequence"],
            "of": session["of"],
            "indication": gettext(content["indication"]),
            "areas": [gettext(area) for area in content["areas"]],
            "ingredients": [gettext(item) for item in content["ingredients"]],
            "products": content["products"],
            "sections": sections,
            "next_session": when(content["next_session"], zone) if content.get("next_session") else None,
            "holds": [
                {
                    # Sheets made before instructions had kinds only held plain stops.
                    "kind": hold.get("kind", "stop"),
                    "substance": translate_substance(hold["substance"]),
                    "prescriber": hold.get("prescriber", ""),
                    "is_medicine": bool(hold.get("medication")) or hold["substance"].casefold() != "alcohol",
                    "from": when(hold["from"], zone, with_time=True) if hold.get("from") else None,
                }
                for hold in content.get("holds", [])
                if not _prescriber_only(hold)
            ],
            "sources": content.get("sources", []),
        }
