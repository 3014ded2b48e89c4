"""The clinical knowledge in the reader's language: the one accessor every page uses.

The knowledge base is written in English, its source, and carries Turkish beside it in the
fixtures themselves: `title_tr` beside `title`, `label_tr` beside `label` (rules, vocabulary,
evaluation steps, protocols, adverse event types). A finding carries the Turkish it was shown
with under `translations` ({"tr": {"title": ...}}), so a recorded screening reads as it was
recorded. `text(item, "title")` gives the text in the active language
(django.utils.translation.get_language()) and falls back to the English wherever a Turkish text
is missing, so a gap shows the source rather than nothing.
"""

from django.utils.translation import get_language

ENGLISH = "en"
# The languages the knowledge base carries besides its English source.
TRANSLATED = ("tr",)


def active_language():
    """'tr' for a Turkish-speaking reader, otherwise 'en' (the source)."""
    code = (get_language() or ENGLISH).split("-")[0].lower()
    return code if code in TRANSLATED else ENGLISH


def _english(item, field):
    if isinstance(item, dict):
        if field == "hold_substance":
            return (item.get("hold") or {}).get("substance", "")
        return item.get(field, "")
    return getattr(item, field, "")


def translation(item, field, language=None):
    """The text of `field` in `language` (the active one by default), or "" if it has none."""
    language = language or active_language()
    if language == ENGLISH:
        return ""
    if isinstance(item, dict):
        return ((item.get("translations") or {}).get(language) or {}).get(field, "")
    return getattr(item, f"{field}_{language}", "") or ""


def text(item, field, language=None):
    """`item`'s `field` in `language` (the active one by default), the English if it has none.

    `item` is a model row (Rule, Term, EvaluationItem, Protocol, AdverseEventType), a compiled
    one (engine.RuleSpec, engine.TermInfo), or a finding as recorded (a dict)."""
    return translation(item, field, language) or _english(item, field)


def shows_translation(item, field, language=None):
    """Does the reader see a translation of `field` that differs from the English (and so may
    want the English source beside it)? "Aspirin" is the same word in both: nothing to show."""
    translated = translation(item, field, language)
    return bool(translated) and translated != _english(item, field)
