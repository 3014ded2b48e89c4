"""Words of the patient page that come from the knowledge base, in the reader's language."""

from django import template

from mesoclinic.screening import bilingual
from mesoclinic.screening.knowledge import knowledge_base

register = template.Library()


@register.filter
def medicine_names(questions):
    """The medicines the prescriber must decide about, joined: "aspirin, warfarin". A finding
    records a medicine's English label; a Turkish reader sees the term's Turkish label."""
    kb = knowledge_base()
    names = []
    for question in questions:
        term = kb.terms.get(("medication", question.medication))
        names.append(bilingual.text(term, "label") if term is not None else question.label)
    return ", ".join(names)
