"""Private calendar feeds: a random token in the URL, only its hash in the database."""

import secrets

from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpResponse
from django.utils import timezone

from mesoclinic.core.audit import client_ip
from mesoclinic.core.models import AuditEntry
from mesoclinic.treatment_sessions.models import CalendarFeed, TreatmentSession

from .ics import FEED_WINDOW, practitioner_feed


def feed_create(*, owner) -> str:
    """A new secret link for `owner`; any previous link stops working."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        owner=owner, defaults={"token_sha256": CalendarFeed.digest(token), "created_at": timezone.now()}
    )
    return token


def feed_revoke(*, owner) -> None:
    CalendarFeed.objects.filter(owner=owner).delete()


def feed_response(request, token):
    feed = CalendarFeed.objects.select_related("owner").filter(token_sha256=CalendarFeed.digest(token)).first()
    if feed is None or not feed.owner.is_active:
        raise Http404
    now = timezone.now()
    sessions = list(
        TreatmentSession.objects.filter(
            practitioner=feed.owner, starts_at__gte=now - FEED_WINDOW[0], starts_at__lte=now + FEED_WINDOW[1]
        )
        .select_related("patient", "room", "plan")
        .order_by("starts_at")
    )
    # Who fetched the feed and from where, and whose sessions it listed (patients' initials and
    # times): one entry per fetch, not one per patient, since calendar apps poll it all day.
    AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(CalendarFeed),
        object_pk=str(feed.pk),
        object_id=feed.pk,
        object_repr=str(feed)[:200],
        action=AuditEntry.Action.ACCESS,
        actor=feed.owner,
        remote_addr=client_ip(request),
        additional_data={
            "page": "calendar feed",
            "via": "calendar feed link",
            "patient_ids": sorted({session.patient_id for session in sessions}),
        },
    )
    response = HttpResponse(practitioner_feed(feed.owner, sessions), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
