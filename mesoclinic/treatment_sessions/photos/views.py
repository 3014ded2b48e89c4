"""Session photos: upload, serve (to practitioners, while photo consent stands), compare."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import SessionPhoto, TreatmentSession

from . import services
from .forms import PhotoUploadForm
from .selectors import NO_PHOTO_CONSENT, patient_photos, photo_viewable, session_photos

PRIVATE = "private, no-store"
SESSIONS = TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "room")
PHOTOS = SessionPhoto.objects.select_related("patient", "session__plan__indication", "session__patient")


def _no_consent(request, patient, session=None):
    return render(
        request,
        "treatment_sessions/photos/no_consent.html",
        {"patient": patient, "session": session, "message": NO_PHOTO_CONSENT},
        status=403,
    )


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET", "POST"])
def photo_upload(request, pk):
    """POST: add photos to session `pk`. GET, or a POST with errors: the upload page."""
    session = load_or_404(request, SESSIONS, pk=pk)
    form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.photos_upload(
                session=session,
                files=form.cleaned_data["images"],
                kind=form.cleaned_data["kind"],
                caption=form.cleaned_data["caption"],
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            count = len(added)
            messages.success(
                request, ngettext("Added {count} photo.", "Added {count} photos.", count).format(count=count)
            )
            return redirect(reverse("treatment_sessions:session", args=[session.pk]) + "#photos")
    context = session_photos(session, request.user)
    record_view(request, session.patient, f"photos of session {session.sequence}", obj=session)
    return render(
        request,
        "treatment_sessions/photos/upload.html",
        {"session": session, "patient": session.patient, "photo_form": form, **context},
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


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET"])
def photo_file(request, pk):
    """The stored photo itself, only to practitioners and only while photo consent stands."""
    photo = load_or_404(request, PHOTOS, pk=pk)
    if not photo_viewable(photo):
        return _no_consent(request, photo.patient, photo.session)
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    return _photo_response(request, photo, handle, f"photo {photo.pk} (session {photo.session.sequence})")


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET"])
def photo_thumbnail(request, pk):
    """A small version of the photo for lists, under the same rules as the photo."""
    photo = load_or_404(request, PHOTOS, pk=pk)
    if not photo_viewable(photo):
        return _no_consent(request, photo.patient, photo.session)
    try:
        body = services.thumbnail(photo)
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    return _photo_response(request, photo, body, f"photo {photo.pk} thumbnail (session {photo.session.sequence})")


class _HiddenPhoto(Exception):
    """A photo of this patient whose plan no longer has photo consent."""


def _chosen(request, name, by_id, hidden_ids):
    """The photo picked in ?left= / ?right=: one of this patient's, or a 404."""
    pk = params.pk(request, name)
    if pk is None:
        return None
    if pk in hidden_ids:
        raise _HiddenPhoto
    if pk not in by_id:
        raise Http404  # another patient's photo, or none at all
    return by_id[pk]


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET"])
def photo_compare(request, patient_pk):
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    summary = patient_photos(patient)
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
