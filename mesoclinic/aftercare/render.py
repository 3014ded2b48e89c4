"""Turning a stored sheet into words in the patient's language, at the clinic's times."""

import datetime
import re
import zoneinfo

from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from mesoclinic.screening.instructions import translate_substance
from mesoclinic.treatment_sessions.session_day.diagrams import DIAGRAMS, svg_markup

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


# --- The simplified map: the diagram's lines, and where the patient was treated ----------------

MAP_COLOUR = "#0e5a60"
MAP_PER_ROW = 3
CAPTION_UNITS = 9  # below the drawing, for its title
MAP_WIDTH_MM = {1: 58, 2: 55, 3: 50}  # side by side on an A4 page, the sheet on two pages at most
SVG_OPEN = re.compile(r"^\s*<svg\b[^>]*>", re.IGNORECASE)
SVG_CLOSE = re.compile(r"</svg>\s*$", re.IGNORECASE)
VIEW_BOX = re.compile(r"""viewBox=["']([-\d.\s]+)["']""")
TITLE = re.compile(r"<title>.*?</title>", re.IGNORECASE | re.DOTALL)
NAMING = re.compile(r"""\s(?:id|role|aria-[a-z]+|tabindex)=["'][^"']*["']""")


def _drawing(code):
    """The diagram's lines for the sheet, and its height: the SVG's content without its own
    <svg>, its titles and ids (the regions' names are for the chart's editor; the sheet names
    the diagram once, under it). None for a diagram no longer drawn."""
    if code not in DIAGRAMS:
        return None, 100
    markup = str(svg_markup(code))
    box = VIEW_BOX.search(markup)
    height = float(box[1].split()[3]) if box and len(box[1].split()) == 4 else 100
    body = NAMING.sub("", TITLE.sub("", SVG_CLOSE.sub("", SVG_OPEN.sub("", markup))))
    return body, height


def _number(value):
    return format(float(value), "g")


def map_svg(entry, title, width_mm):
    """One diagram of the sheet's map as inline SVG, with presentation attributes only (no
    classes it depends on, no inline styles): the page's CSP allows it, and WeasyPrint draws
    it the same in the PDF. Dots for points, shaded outlines for painted zones."""
    body, height = _drawing(entry["diagram"])
    marks = []
    for zone in entry.get("zones", []):
        corners = " ".join(f"{_number(x)},{_number(y)}" for x, y in zone)
        marks.append(
            f'<polygon points="{corners}" fill="{MAP_COLOUR}" fill-opacity="0.28" stroke="{MAP_COLOUR}"'
            ' stroke-width="0.5" stroke-linejoin="round"/>'
        )
    for x, y in entry.get("dots", []):
        marks.append(
            f'<circle cx="{_number(x)}" cy="{_number(y)}" r="1.3" fill="{MAP_COLOUR}" stroke="#fff" stroke-width="0.35"/>'
        )
    label = gettext("%(diagram)s: the places treated are marked.") % {"diagram": title}
    # The title is drawn under the diagram, centred on it, in the SVG itself: the PDF's table
    # cells align left, and the drawing sits in the middle of its box.
    total = height + CAPTION_UNITS
    caption = (
        f'<text x="50" y="{_number(height + CAPTION_UNITS - 2.5)}" text-anchor="middle" font-size="5.5"'
        f' font-family="Noto Sans, sans-serif" fill="#475467">{escape(title)}</text>'
    )
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 {_number(total)}" width="{width_mm}mm"'
        f' height="{round(width_mm * total / 100, 1)}mm" class="sheet-map-svg" role="img" aria-label="{escape(label)}">'
        f'{body or ""}<g class="sheet-map-marks">{"".join(marks)}</g>{caption}</svg>'
    )


def sheet_map_rows(content):
    """The sheet's map in rows of diagrams, each with its title in the active language. A sheet
    made before charts had maps has none."""
    entries = content.get("map") or []
    width = MAP_WIDTH_MM.get(min(len(entries), MAP_PER_ROW), MAP_WIDTH_MM[MAP_PER_ROW])
    figures = []
    for entry in entries:
        diagram = DIAGRAMS.get(entry["diagram"])
        title = str(diagram.title) if diagram else gettext(entry.get("title") or entry["diagram"])
        figures.append({"title": title, "svg": map_svg(entry, title, width)})
    return [figures[start : start + MAP_PER_ROW] for start in range(0, len(figures), MAP_PER_ROW)]


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
            "map_rows": sheet_map_rows(content),
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
