"""How letters address people, in the language being written."""

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def addressed(patient):
    """The name after "Dear": the given name in English ("Dear Ayşe,"); Turkish formal address
    takes the full name ("Sayın Ayşe Öztürk,"), never "Sayın" with a given name alone."""
    if (get_language() or "").startswith("tr"):
        return f"{patient.given_name} {patient.family_name}".strip()
    return patient.given_name
