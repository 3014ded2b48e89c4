"""Template filters for clinical display: severities, verdicts, durations."""

import datetime
import re
from dataclasses import dataclass
from html import escape

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from mesoclinic.screening.instructions import sentence_name, translate_substance
from mesoclinic.screening.models import Outcome, OverrideReason

register = template.Library()

# Badge words are translated, never left to CSS: an uppercased English word under lang="tr"
# reads "CRİTİCAL" (the Turkish dotted capital İ).
SEVERITY = {
    "critical": (pgettext_lazy("finding severity", "Critical"), "bi-x-octagon-fill"),
    "warning": (pgettext_lazy("finding severity", "Warning"), "bi-exclamation-triangle-fill"),
    "info": (pgettext_lazy("finding severity", "Preparation"), "bi-info-circle-fill"),
}
VERDICT = {
    "defer": (pgettext_lazy("screening verdict", "Defer treatment"), "bi-x-octagon-fill"),
    "caution": (pgettext_lazy("screening verdict", "Caution"), "bi-exclamation-triangle-fill"),
    "clear": (pgettext_lazy("screening verdict", "Clear"), "bi-check-circle-fill"),
}
OUTCOME_CSS = {
    Outcome.CLEAR: "clear",
    Outcome.CAUTION: "caution",
    Outcome.OVERRIDDEN: "caution",
    Outcome.DEFERRED: "defer",
}


@register.filter
def severity_label(severity):
    return SEVERITY.get(severity, (severity, ""))[0]


@register.filter
def severity_icon(severity):
    return SEVERITY.get(severity, ("", "bi-circle"))[1]


@register.filter
def verdict_label(verdict):
    return VERDICT.get(verdict, (verdict, ""))[0]


@register.filter
def verdict_icon(verdict):
    return VERDICT.get(verdict, ("", "bi-circle"))[1]


@register.filter
def outcome_css(outcome):
    return OUTCOME_CSS.get(outcome, "caution")


@register.filter
def iso_date(value):
    """A date stored as ISO text (a screening's answers keep them so) as a date, for |date."""
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return value


@register.filter
def hold_duration(hours):
    """168 -> '7 days', 24 -> '24 hours', 36 -> '36 hours' (in the reader's language)."""
    if hours is None:
        return ""
    hours = int(hours)
    if hours >= 48 and hours % 24 == 0:
        days = hours // 24
        return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
    return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}


@register.filter
def by_severity(findings, severity):
    return [f for f in findings if (f["severity"] if isinstance(f, dict) else f.severity) == severity]


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def get_bound(form, name):
    """form|get_bound:"conditions" is form["conditions"], for names built in a template."""
    return form[name]


@register.filter
def field_label(form, name):
    return form.fields[name].label if name in form.fields else name


@register.filter
def decision_fields(decision_form, finding):
    """The acknowledge/override controls that belong on one finding's card."""
    if decision_form is None:
        return []
    return decision_form.bound_fields_for(finding.get("key", finding["rule"]))


@register.filter
def decision_of(screening, finding):
    """The decision recorded on `screening` for a finding (a recorded finding, or a key)."""
    key = finding.get("key", finding["rule"]) if isinstance(finding, dict) else finding
    return screening.decision_for(key)


@register.filter
def override_reason(code):
    return OverrideReason(code).label if code in OverrideReason.values else code


OVERRIDE_CONDITIONS = {
    "specialist_clearance": gettext_lazy("with a specialist's clearance on file (who, when, what it says)"),
    "site_excluded": gettext_lazy("when the planned areas exclude the affected site (name it)"),
}


@register.filter
def override_condition(code):
    """How a critical card says an override is allowed: 'with a specialist's clearance...'."""
    return OVERRIDE_CONDITIONS.get(code, code)


@register.filter
def patient_name(label):
    """A medicine's name as a sentence carries it: 'aspirin (ask what for)' -> 'aspirin'."""
    return sentence_name(label)


@register.filter
def substance_words(text):
    """What an instruction is about in the reader's language ('alcohol' -> 'alkol'); drug names stay."""
    return translate_substance(text) if text else ""


@register.filter
def slug_id(key):
    """A finding key ('unlisted-answer:conditions:epilepsy') made safe for an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(key))


@register.filter
def date_value(value):
    """A control's value as an input wants it: dates as YYYY-MM-DD, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@dataclass(frozen=True, slots=True)
class TickBox:
    """One tick box and its label, as Bootstrap marks them up. It renders itself: the
    screening form has about 160 of them, and drawn by the template engine they took three
    times as long."""

    name: str
    value: str
    id: str
    label: str
    checked: bool

    def __str__(self):  # safe HTML, as a bound field's is: the template prints it as it is
        return mark_safe(
            f'<div class="form-check"><input class="form-check-input" type="checkbox" name="{escape(self.name)}"'
            f' value="{escape(self.value)}" id="{escape(self.id)}"{" checked" if self.checked else ""}>'
            f'<label class="form-check-label" for="{escape(self.id)}">{escape(self.label)}</label></div>'
        )


@register.filter
def checkbox_groups(form, name):
    """A tick-box field's boxes under their group labels, in the order of its choices.

    The screening form has about 160 boxes; Django's subwidgets build a context and copy
    attributes for each. These are plain values, with the ids Django would give them.
    """
    bound = form[name]
    checked = {str(value) for value in bound.value() or ()}
    choices = bound.field.choices

    def box(value, label, suffix):
        return TickBox(bound.html_name, str(value), f"{bound.auto_id}_{suffix}", label, str(value) in checked)

    if choices and isinstance(choices[0][1], (list, tuple)):
        return [
            (group, [box(value, label, f"{index}_{sub}") for sub, (value, label) in enumerate(options)])
            for index, (group, options) in enumerate(choices)
        ]
    return [("", [box(value, label, index) for index, (value, label) in enumerate(choices)])]
