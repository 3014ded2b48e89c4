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
        _("Today"),
        "session_day:today",
        (P,),
        "bi-sun",
        (
            "treatment_sessions:session",
            "scheduling:move",
            "scheduling:cancel",
            "session_day:recheck",
            "session_day:chart",
        ),
    ),
    NavItem(
        _("Patients"),
        "patients:list",
        (P, S),
        "bi-people",
        (
            "patients:",
            "desk:",
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
        _("Calendar"),
        "scheduling:calendar",
        (P, S),
        "bi-calendar3",
        ("scheduling:calendar", "scheduling:to_book", "scheduling:book", "scheduling:feed"),
    ),
    NavItem(
        _("Knowledge base"),
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
    # Lot recall is reached from the stock list (one fewer link: the bar fits a laptop's width).
    NavItem(_("Stock"), "stock:list", (P, S), "bi-box-seam", ("stock:", "session_day:recall")),
    NavItem(_("Outbox"), "reminders:outbox", (P, S), "bi-envelope"),
    NavItem(_("Outcomes"), "outcomes:clinic", (P, S), "bi-graph-up", ("outcomes:clinic",)),
    NavItem(_("Clinic setup"), "core:setup", (S,), "bi-gear", ("core:setup",)),
    NavItem(_("My aftercare"), "aftercare:mine", (PT,), "bi-heart-pulse", ("aftercare:",)),
    NavItem(_("My questionnaires"), "questionnaires:mine", (PT,), "bi-clipboard2-pulse", ("questionnaires:mine",)),
    NavItem(_("My progress"), "outcomes:mine", (PT,), "bi-graph-up-arrow", ("outcomes:mine",)),
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
