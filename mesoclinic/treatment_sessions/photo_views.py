"""Session photos: upload, serve (to practitioners, while photo consent stands), compare."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import patient_for_staff

from . import photos as photo_services
from .models import SessionPhoto, TreatmentSession

PRACTITIONER = (Role.PRACTITIONER,)
PRIVATE = "private, no-store"


def _session_for_practitioner(request, pk):
    session = get_object_or_404(
        TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "room"), pk=pk
    )
    patient_for_staff(request, session.patient_id, roles=PRACTITIONER)
    return session


def _photo_for_practitioner(request, pk):
    photo = get_object_or_404(
        SessionPhoto.objects.select_related("patient", "session__plan__indication", "session__patient"), pk=pk
    )
    patient_for_staff(request, photo.patient_id, roles=PRACTITIONER)
    return photo


def _no_consent(request, patient, session=None):
    return render(
        request,
        "treatment_sessions/photos/no_consent.html",
        {"patient": patient, "session": session, "message": photo_services.NO_PHOTO_CONSENT},
        status=403,
    )


@login_required
@require_http_methods(["GET", "POST"])
def photo_upload(request, pk):
    """POST: add photos to session `pk`. GET, or a POST with errors: the upload page."""
    session = _session_for_practitioner(request, pk)
    form = photo_services.PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = photo_services.photos_upload(
                session=session,
                files=form.cleaned_data["images"],
                kind=form.cleaned_data["kind"],
                caption=form.cleaned_data["caption"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            count = len(added)
            messages.success(request, f"Added {count} photo{'s' if count != 1 else ''}.")
            return redirect(reverse("treatment_sessions:session", args=[session.pk]) + "#photos")
    context = photo_services.session_photos_context(session, request.user)
    context["photo_form"] = form
    record_view(request, session.patient, f"photos of session {session.sequence}", obj=session)
    return render(
        request,
        "treatment_sessions/photos/upload.html",
        {"session": session, "patient": session.patient, **context},
        status=400 if form.is_bound and form.errors else 200,
    )


def _photo_response(request, photo, body, page):
    """`body`: an open file (streamed) or bytes. Recorded in the audit trail as `page`."""
    if isinstance(body, bytes):
        response = HttpResponse(body, content_type="image/jpeg")
    else:
        response = FileResponse(body, content_type="image/jpeg")
    response["Cache-Control"] = PRIVATE
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.jpg"'
    record_view(request, photo.patient, page, obj=photo)
    return response


@login_required
@require_http_methods(["GET"])
def photo_file(request, pk):
    """The stored photo itself, only to practitioners and only while photo consent stands."""
    photo = _photo_for_practitioner(request, pk)
    if not photo_services.photo_viewable(photo):
        return _no_consent(request, photo.patient, photo.session)
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    return _photo_response(request, photo, handle, f"photo {photo.pk} (session {photo.session.sequence})")


@login_required
@require_http_methods(["GET"])
def photo_thumbnail(request, pk):
    """A small version of the photo for lists, under the same rules as the photo."""
    photo = _photo_for_practitioner(request, pk)
    if not photo_services.photo_viewable(photo):
        return _no_consent(request, photo.patient, photo.session)
    try:
        body = photo_services.thumbnail(photo)
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    return _photo_response(request, photo, body, f"photo {photo.pk} thumbnail (session {photo.session.sequence})")


class _HiddenPhoto(Exception):
    """A photo of this patient whose plan no longer has photo consent."""


def _chosen(request, name, by_id, hidden_ids):
    """The photo picked in ?left= / ?right=: one of this patient's, or a 404."""
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Http404
    pk = int(value)
    if pk in hidden_ids:
        raise _HiddenPhoto
    if pk not in by_id:
        raise Http404  # another patient's photo, or none at all
    return by_id[pk]


@login_required
@require_http_methods(["GET"])
def photo_compare(request, patient_pk):
    patient = patient_for_staff(request, patient_pk, roles=PRACTITIONER)
    summary = photo_services.patient_photos(patient)
    photos = summary.photos
    by_id = {photo.pk: photo for photo in photos}
    hidden_ids = set(SessionPhoto.objects.filter(patient=patient).exclude(pk__in=by_id).values_list("pk", flat=True))
    try:
        left = _chosen(request, "left", by_id, hidden_ids)
        right = _chosen(request, "right", by_id, hidden_ids)
    except _HiddenPhoto:
        return _no_consent(request, patient)
    if left is None and right is None and photos:
        befores = [p for p in photos if p.kind == "before"]
        afters = [p for p in photos if p.kind == "after"]
        left = befores[0] if befores else photos[0]
        right = afters[-1] if afters else photos[-1]
        if right == left and len(photos) > 1:
            right = photos[-1]
    record_view(request, patient, "photo comparison", left=getattr(left, "pk", None), right=getattr(right, "pk", None))
    return render(
        request,
        "treatment_sessions/photos/compare.html",
        {"patient": patient, "summary": summary, "photos": photos, "left": left, "right": right},
    )
