"""The consent document: generated from the plan and the cited clauses, then stored as signed.

The patient reads and signs it in their own language (Patient.preferred_language): the clauses
carry their Turkish in the fixture, the document's own words are in the catalogue. A document
is only offered in a language every one of its clauses is written in, so a patient never signs
a page that is half one language and half the other.
"""

import base64
from itertools import groupby

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.utils.translation import gettext_noop as _

from mesoclinic.core.selectors import current_clinic
from mesoclinic.screening.instructions import translate_substance

from .models import ConsentClause, IngredientInfo

SIGNATURE_MISSING = gettext_lazy(
    "Draw your signature in the box: this clinic needs a drawn signature as well as your typed name."
)
CONFIRM_MISSING = gettext_lazy("The patient must confirm they read and understood the document.")

# The clause beside which the clinic's own regulatory notice is printed.
REGULATORY_CLAUSE = "not-fda-approved"

# How the patient reads the technique (the staff labels are Technique's choices).
TECHNIQUE_WORDS = {
    "nappage": _("many shallow injections close together (nappage)"),
    "papule": _("small raised drops under the skin's surface (papules)"),
    "point_by_point": _("single, deeper injections one point at a time"),
    "mesogun": _("an injection device that controls the depth and the dose"),
    "needle_free": _("without needles, through the skin with electric pulses"),
}


def language_codes():
    return [code for code, _name in settings.LANGUAGES]


def clauses_for(plan):
    return list(
        ConsentClause.objects.filter(Q(indications=None) | Q(indications=plan.indication))
        .distinct()
        .order_by("position", "code")
    )


def consent_language(plan, requested=None, clauses=None):
    """The language the patient reads this consent in: the one asked for (a patient who would
    rather read the other language), else the patient's own; English if a clause has no text
    in it yet (a clause added in the admin before its translation)."""
    language = requested if requested in language_codes() else plan.patient.preferred_language
    clauses = clauses_for(plan) if clauses is None else clauses
    if all(clause.has_language(language) for clause in clauses):
        return language
    return "en"


def describe_spacing(intervals):
    """[7, 7, 14, 28, 28] -> 'every 7 days twice, then after 14 days, then every 28 days twice'."""
    if not intervals:
        return gettext("a single session")
    parts = []
    for days, run in groupby(intervals):
        count = len(list(run))
        if count == 1:
            parts.append(ngettext("after %(days)s day", "after %(days)s days", days) % {"days": days})
        else:
            every = ngettext("every %(days)s day", "every %(days)s days", days) % {"days": days}
            times = gettext("twice") if count == 2 else gettext("%(count)s times") % {"count": count}
            parts.append(gettext("%(every)s %(times)s") % {"every": every, "times": times})
    return gettext(", then ").join(parts)


def hold_words(hours):
    """168 -> '7 days', 24 -> '24 hours', in the active language."""
    if hours >= 48 and hours % 24 == 0:
        return ngettext("%(count)s day", "%(count)s days", hours // 24) % {"count": hours // 24}
    return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}


def instruction_sentence(item):
    """One preparation instruction as the consent words it (screening/instructions.py decides
    what it is; this only says it)."""
    words = {"substance": translate_substance(item.substance), "doctor": item.prescriber}
    if item.kind == "pause":
        words["duration"] = hold_words(item.hours_before)
        return (
            gettext(
                "As agreed with %(doctor)s: do not take %(substance)s in the %(duration)s before each session, "
                "and start it again when %(doctor)s told you to."
            )
            % words
        )
    if item.kind == "continue":
        return gettext("Keep taking %(substance)s as prescribed, as agreed with %(doctor)s.") % words
    words["duration"] = hold_words(item.hours_before)
    if item.is_medicine:
        return (
            gettext(
                "Do not take %(substance)s in the %(duration)s before each session (if a doctor prescribed it "
                "for a long-term condition, ask that doctor first)."
            )
            % words
        )
    return gettext("Have no %(substance)s in the %(duration)s before each session.") % words


def consent_document(plan, *, practitioner, on_date, instructions=(), language=None):
    """The document the patient reads and signs, as HTML (a fragment, without page chrome), in
    `language` (see consent_language; by default the patient's)."""
    clauses = clauses_for(plan)
    language = consent_language(plan, language, clauses)
    clinic = current_clinic()
    ingredients = list(plan.ingredients.all())
    plain = dict(IngredientInfo.objects.filter(term__in=ingredients).values_list("term_id", "plain_name"))
    notice = clinic.regulatory_notice(language)
    sections = [{"heading": c.heading_in(language), "text": c.text_in(language), "code": c.code} for c in clauses]
    beside = next((s for s in sections if s["code"] == REGULATORY_CLAUSE), sections[0] if sections else None)
    if beside is not None and notice:
        beside["notice"] = notice
    with translation.override(language):
        return render_to_string(
            "plans/consent_document.html",
            {
                "language": language,
                "clinic": clinic,
                "patient": plan.patient,
                "plan": plan,
                "practitioner": practitioner,
                "on_date": on_date,
                "indication": gettext(plan.indication.label),
                "areas": [gettext(t.label) for t in plan.areas.all()],
                "ingredients": [gettext(plain.get(t.pk) or t.label) for t in ingredients],
                "products": list(plan.products.all()),
                "technique": gettext(TECHNIQUE_WORDS.get(plan.technique, plan.get_technique_display())),
                "spacing": describe_spacing(plan.intervals),
                "instructions": [instruction_sentence(item) for item in instructions],
                "sections": sections,
                "notice_orphan": notice if beside is None else "",
                "sources": [source for clause in clauses for source in clause.sources],
            },
        )


def signed_words(consent):
    """What the printed consent says about its signing, in the language it was signed in and
    at the clinic's time: the PDF a clinic would show a court."""
    clinic = current_clinic()
    moment = timezone.localtime(consent.signed_at, clinic.zone)
    offset = moment.strftime("%z")
    with translation.override(consent.language):
        withdrawn = timezone.localtime(consent.withdrawn_at, clinic.zone) if consent.withdrawn_at else None
        return {
            "language": consent.language,
            "signed_at": date_format(moment, "j F Y, H:i"),
            "zone": f"{clinic.timezone}, UTC{offset[:3]}:{offset[3:]}",
            "withdrawn_at": date_format(withdrawn, "j F Y, H:i") if withdrawn else "",
            "signature_src": (
                "data:image/png;base64," + base64.b64encode(bytes(consent.signature_png)).decode()
                if consent.signature_png
                else ""
            ),
            "version": consent.document_sha256[:12],
        }


def names_match(typed, patient):
    def simple(text):
        return " ".join(text.casefold().split())

    return simple(typed) == simple(patient.display_name)


def signing_problems(patient, *, signed_name, confirmed, signed, signature_required):
    """What stops the patient's signing, by field: the tick, the name as recorded, and the drawn
    signature when the clinic requires one. The form shows them all at once; the service
    refuses on them again, so no caller stores a consent the form would have refused."""
    errors = {}
    if not confirmed:
        errors["confirmed"] = CONFIRM_MISSING
    if signed_name and not names_match(signed_name, patient):
        errors["signed_name"] = gettext("Type the full name exactly as recorded: %(name)s.") % {
            "name": patient.display_name
        }
    elif not signed_name.strip():
        errors["signed_name"] = gettext("Type your full name.")
    if signature_required and not signed:
        errors["signature"] = SIGNATURE_MISSING
    return errors
