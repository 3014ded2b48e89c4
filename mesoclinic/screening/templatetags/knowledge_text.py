"""The clinical knowledge in the reader's language, for templates (see screening/bilingual.py).

{% load knowledge_text %}
{{ rule|localized:"title" }}               the Turkish for a Turkish reader, else the English
{% if rule|translated:"detail" %}...{% endif %}   a translation is shown: offer the English source
{{ finding|matched_in_language|join:", " }}       a finding's "because", term labels translated
"""

import re

from django import template
from django.utils.translation import gettext, pgettext

from mesoclinic.screening import bilingual
from mesoclinic.screening.engine import FLAG_LABELS
from mesoclinic.screening.knowledge import knowledge_base

register = template.Library()


@register.filter
def localized(item, field):
    return bilingual.text(item, field)


@register.filter
def translated(item, field):
    return bilingual.shows_translation(item, field)


@register.simple_tag
def reading_language():
    """'tr' or 'en': the language the knowledge is shown in."""
    return bilingual.active_language()


# The yes/no answers a finding names, as the engine words them (FLAG_LABELS), for the catalogue.
_FLAG_WORDS = {
    "pregnant": lambda: pgettext("screening answer", "pregnant"),
    "breastfeeding": lambda: pgettext("screening answer", "breastfeeding"),
    "trying to conceive": lambda: pgettext("screening answer", "trying to conceive"),
    "alcohol in the last 24 hours": lambda: pgettext("screening answer", "alcohol in the last 24 hours"),
    "feeling unwell today": lambda: pgettext("screening answer", "feeling unwell today"),
}
assert set(_FLAG_WORDS) == set(FLAG_LABELS.values())


@register.filter
def matched_in_language(finding):
    """The answers that made a finding fire, as recorded, with vocabulary terms in the reader's
    language. Only the labels change: what matched is the record's."""
    matched = list(finding.get("matched", ())) if isinstance(finding, dict) else list(finding.matched)
    language = bilingual.active_language()
    if language == bilingual.ENGLISH:
        return matched
    terms = finding.get("matched_terms", ()) if isinstance(finding, dict) else ()
    kb = knowledge_base()
    by_label = {}
    for term in terms:
        info = kb.terms.get((term["kind"], term["code"]))
        if info is not None:
            by_label[term["label"]] = info.label_in(language)
    return [by_label.get(label) or _answer_words(label, kb, language) for label in matched]


_AGE = re.compile(r"^age (\d+)$")
_SKIN = re.compile(r"^Fitzpatrick type (\d+)$")
_ALLERGY = re.compile(r"^allergy to (.+) \((.+) planned\)$")


def _answer_words(label, kb, language):
    """The engine's own words for an answer that is not a term ("age 17", "Fitzpatrick type 5",
    "allergy to Aspirin (Piroxicam planned)"), in the reader's language; anything else as recorded."""
    if label in _FLAG_WORDS:
        return _FLAG_WORDS[label]()
    if match := _AGE.match(label):
        return gettext("age %(age)s") % {"age": match[1]}
    if match := _SKIN.match(label):
        return gettext("Fitzpatrick type %(type)s") % {"type": match[1]}
    if match := _ALLERGY.match(label):
        labels = {
            info.label: info.label_in(language)
            for (kind, _), info in kb.terms.items()
            if kind in ("ingredient", "allergen")
        }
        return gettext("allergy to %(allergy)s (%(ingredient)s planned)") % {
            "allergy": labels.get(match[1], match[1]),
            "ingredient": labels.get(match[2], match[2]),
        }
    return label
