"""Session photos: upload, serve (to practitioners, while photo consent stands), compare."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import PhotoAlignment, SessionPhoto, TreatmentSession

from . import alignment, services
from .forms import AlignmentForm, PhotoUploadForm
from .selectors import (
    NO_AREA,
    NO_PHOTO_CONSENT,
    comparison,
    patient_photos,
    photo_viewable,
    session_photos,
    upload_area_form,
)

PRIVATE = "private, no-store"
SESSIONS = TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "room")
PHOTOS = SessionPhoto.objects.select_related("patient", "session__plan__indication", "session__patient")
ALIGNMENTS = PhotoAlignment.objects.select_related(
    "patient", "baseline__session__plan", "later__session__plan", "later__session__patient"
)
MODES = [("side", _("Side by side")), ("slider", _("Slider")), ("overlay", _("Overlay"))]


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
    area_form = upload_area_form(session, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() & area_form.is_valid():
        try:
            added = services.photos_upload(
                session=session,
                files=form.cleaned_data["images"],
                kind=form.cleaned_data["kind"],
                caption=form.cleaned_data["caption"],
                area=area_form.cleaned_data.get("area"),
                by=request.user,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "area" in error.error_dict:
                add_form_errors(area_form, error)
            else:
                add_form_errors(form, error)
        else:
            count = len(added)
            messages.success(
                request, ngettext("Added {count} photo.", "Added {count} photos.", count).format(count=count)
            )
            return redirect(reverse("treatment_sessions:session", args=[session.pk]) + "#photos")
    context = session_photos(session, request.user)
    if context["photo_area_form"] is not None:
        context["photo_area_form"] = area_form
    record_view(request, session.patient, f"photos of session {session.sequence}", obj=session)
    return render(
        request,
        "treatment_sessions/photos/upload.html",
        {"session": session, "patient": session.patient, "photo_form": form, **context},
        status=400 if form.errors or area_form.errors else 200,
    )


def _photo_response(request, photo, body, page, name="photo"):
    """`body`: an open file (streamed) or bytes. Recorded in the audit trail as `page`."""
    if isinstance(body, bytes):
        response = HttpResponse(body, content_type="image/jpeg")
    else:
        response = FileResponse(body, content_type="image/jpeg")
    response["Cache-Control"] = PRIVATE
    response["Content-Disposition"] = f'inline; filename="{name}-{photo.pk}.jpg"'
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


def _chosen(pk, by_id, hidden_ids):
    """The photo with id `pk`: one of this patient's that may be shown, or a 404."""
    if pk is None:
        return None
    if pk in hidden_ids:
        raise _HiddenPhoto
    if pk not in by_id:
        raise Http404  # another patient's photo, or none at all
    return by_id[pk]


def _patient_photos(patient):
    summary = patient_photos(patient)
    by_id = {photo.pk: photo for photo in summary.photos}
    hidden_ids = set(SessionPhoto.objects.filter(patient=patient).exclude(pk__in=by_id).values_list("pk", flat=True))
    return summary, by_id, hidden_ids


def _render_compare(request, patient, summary, pair, *, mode, align_form=None, status=200):
    if align_form is None:
        align_form = AlignmentForm(initial=AlignmentForm.initial_for(pair.baseline, pair.later, pair.alignment))
    record_view(
        request,
        patient,
        "photo comparison",
        baseline=getattr(pair.baseline, "pk", None),
        later=getattr(pair.later, "pk", None),
        alignment=getattr(pair.alignment, "pk", None),
    )
    return render(
        request,
        "treatment_sessions/photos/compare.html",
        {
            "patient": patient,
            "summary": summary,
            "photos": summary.photos,
            "pair": pair,
            "mode": mode,
            "modes": MODES,
            "no_area": NO_AREA,
            "align_form": align_form,
        },
        status=status,
    )


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET"])
def photo_compare(request, patient_pk):
    """A baseline and a later photo of one area: side by side, as a slider, or overlaid."""
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    summary, by_id, hidden_ids = _patient_photos(patient)
    area = params.text(request, "area", max_length=20)
    mode = params.choice(request, "mode", [value for value, _label in MODES], default="side")
    try:
        # ?left= / ?right=: the addresses of the page before it compared baselines and later photos.
        baseline = _chosen(params.pk(request, "baseline") or params.pk(request, "left"), by_id, hidden_ids)
        later = _chosen(params.pk(request, "later") or params.pk(request, "right"), by_id, hidden_ids)
    except _HiddenPhoto:
        return _no_consent(request, patient)
    pair = comparison(summary.photos, area=area, baseline=baseline, later=later)
    return _render_compare(request, patient, summary, pair, mode=mode)


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["POST"])
def photo_align(request, patient_pk):
    """Save the landmarks clicked (or typed) on a baseline and a later photo: the alignment."""
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    summary, by_id, hidden_ids = _patient_photos(patient)
    form = AlignmentForm(request.POST)
    baseline = later = None
    try:
        if form.is_valid():
            baseline = _chosen(form.cleaned_data["baseline"], by_id, hidden_ids)
            later = _chosen(form.cleaned_data["later"], by_id, hidden_ids)
            services.alignment_record(
                baseline=baseline,
                later=later,
                baseline_points=form.cleaned_data["baseline_points"],
                later_points=form.cleaned_data["later_points"],
                by=request.user,
            )
            messages.success(request, gettext("Alignment saved: the later photo is shown lined up with the baseline."))
            query = urlencode({"baseline": baseline.pk, "later": later.pk, "mode": "slider"})
            return redirect(reverse("photos:compare", args=[patient.pk]) + f"?{query}#compare-view")
    except _HiddenPhoto:
        return _no_consent(request, patient)
    except ValidationError as error:
        if str(NO_PHOTO_CONSENT) in error.messages:
            return _no_consent(request, patient)
        add_form_errors(form, error)
    if baseline is None:
        # An invalid form: keep the pair it names when those are this patient's shown photos.
        baseline = by_id.get(params.small_int(request.POST.get("baseline", ""), 2**63 - 1))
        later = by_id.get(params.small_int(request.POST.get("later", ""), 2**63 - 1))
    pair = comparison(summary.photos, baseline=baseline, later=later)
    return _render_compare(request, patient, summary, pair, mode="side", align_form=form, status=400)


@allow(Role.PRACTITIONER, record=True)
@require_http_methods(["GET"])
def photo_aligned(request, pk):
    """The later photo of an alignment, redrawn in its baseline's frame, exposure matched."""
    found = load_or_404(request, ALIGNMENTS, pk=pk)
    if not (photo_viewable(found.baseline) and photo_viewable(found.later)):
        return _no_consent(request, found.patient, found.later.session)
    try:
        body = alignment.aligned_jpeg(found)
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    page = f"aligned photo {found.later_id} onto {found.baseline_id} (alignment {found.pk})"
    return _photo_response(request, found, body, page, name="aligned")
