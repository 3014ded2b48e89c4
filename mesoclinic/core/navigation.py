"""The main navigation: each role sees only the places it may go."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .models import Role

P, S, PT = Role.PRACTITIONER, Role.SCHEDULER, Role.PATIENT


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple
    icon: str
    # Prefixes of "namespace:url_name" under which this item shows as the current place.
    sections: tuple = ()


NAVIGATION = (
    NavItem(
        "Today",
        "treatment_sessions:today",
        (P,),
        "bi-sun",
        ("treatment_sessions:session", "treatment_sessions:move", "treatment_sessions:cancel"),
    ),
    NavItem(
        "Patients",
        "patients:list",
        (P, S),
        "bi-people",
        (
            "patients:",
            "screening:new",
            "screening:detail",
            "plans:new",
            "plans:detail",
            "plans:edit",
            "plans:consent",
            "photos:",
        ),
    ),
    NavItem(
        "Calendar",
        "treatment_sessions:calendar",
        (P, S),
        "bi-calendar3",
        (
            "treatment_sessions:calendar",
            "treatment_sessions:to_book",
            "treatment_sessions:book",
            "treatment_sessions:feed",
        ),
    ),
    NavItem(
        "Knowledge base",
        "screening:knowledge",
        (P,),
        "bi-journal-medical",
        (
            "screening:knowledge",
            "screening:rule",
            "screening:term",
            "screening:source",
            "plans:protocol",
            "plans:product",
        ),
    ),
    NavItem("Lot recall", "recall:search", (P,), "bi-upc-scan", ("recall:",)),
    NavItem("Outbox", "treatment_sessions:outbox", (P, S), "bi-envelope"),
    NavItem("Clinic setup", "core:setup", (S,), "bi-gear", ("core:setup",)),
    NavItem(_("My aftercare"), "aftercare:mine", (PT,), "bi-heart-pulse", ("aftercare:",)),
)


def navigation_for(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    match = getattr(request, "resolver_match", None)
    here = match.view_name if match else ""
    items = []
    for item in NAVIGATION:
        if user.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # the app that serves it is not installed yet
        active = any(here.startswith(prefix) for prefix in (item.url_name, *item.sections))
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return items
