"""The practitioner's pages for the day of a session: Today, the re-check, the chart; lot recall."""

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.core import params
from mesoclinic.core.audit import record_list_view, record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.selectors import read_page_cursor
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.treatment_sessions.models import ChartLockedError, SessionStatus, TreatmentSession

from . import charting, recheck
from .forms import AddendumForm, ChartForms, RecheckSubmission
from .recall import (
    LotRecallForm,
    RecallAction,
    RecallRefused,
    contacts_csv,
    lot_mark_recalled,
    lot_recall,
    lot_recall_page,
    recall_contacts,
    recall_contacts_page,
    recall_csv,
    recall_notices_send,
    record_recall_views,
)
from .selectors import today_rows

SESSIONS = TreatmentSession.objects.select_related(
    "patient", "plan__indication", "plan__protocol", "practitioner", "room", "recheck"
)
MAX_LOT_LENGTH = 60  # Lot.lot_number's max_length


@allow(Role.PRACTITIONER)
def today(request):
    """A practitioner's sessions today, in time order, each with what needs attention."""
    now = clinic_today()
    day = params.day(request, "date", now)
    rows = today_rows(request.user, day)
    record_list_view(request, (row["session"].patient for row in rows), "today's sessions", day=day.isoformat())
    return render(request, "treatment_sessions/session_day/today.html", {"rows": rows, "day": day, "today": now})


def _recheck_refusal(session):
    """Why this session cannot be re-checked now (not scheduled, not its day, no current
    screening), or "" with the screening the re-check builds on."""
    if session.status != SessionStatus.SCHEDULED:
        return _("The session is %(status)s.") % {"status": session.get_status_display().lower()}, None
    refusal = recheck.recheck_refusal(session)
    if refusal:
        return refusal, None
    try:
        return "", recheck.base_screening(session)
    except ValidationError as error:
        return " ".join(error.messages), None


def _recheck_context(session, submission):
    earlier = session.recheck if session.recheck and not recheck.is_for_the_day(session) else None
    return {"session": session, "patient": session.patient, "earlier_recheck": earlier, **submission.context()}


@allow(Role.PRACTITIONER, record=True)
def recheck_page(request, pk):
    """The re-check, on the day of the session only (a crafted POST on another day included)."""
    session = load_or_404(request, SESSIONS, pk=pk)
    refusal, screening = _recheck_refusal(session)
    if refusal:
        messages.error(request, refusal)
        return redirect(session)
    submission = RecheckSubmission(session, screening, request.POST or None, kb=knowledge_base())
    if submission.is_valid() and (recorded := submission.save(request.user)):
        if recorded.is_deferred:
            messages.error(
                request, _("The re-check defers treatment: the session is stopped until resolved or overridden.")
            )
        else:
            messages.success(request, _("Re-check recorded. You can chart the session."))
        return redirect(session)
    if request.method == "GET":
        record_view(request, session.patient, "re-check on the day", obj=session)
    return render(request, "treatment_sessions/session_day/recheck.html", _recheck_context(session, submission))


@allow(Role.PRACTITIONER, record=True)
@require_POST
def recheck_evaluate(request, pk):
    """Today's findings for the answers as they stand: htmx calls this on every change. The
    decisions already made (ticks, override reasons) come back as they were sent."""
    session = load_or_404(request, SESSIONS, pk=pk)
    refusal, screening = _recheck_refusal(session)
    if refusal:
        return render(request, "treatment_sessions/session_day/_recheck_findings.html", {"refusal": refusal})
    data = request.POST.copy()
    data.pop("action", None)  # a live update never saves
    submission = RecheckSubmission(session, screening, data, kb=knowledge_base())
    submission.is_valid()
    context = {**_recheck_context(session, submission), "live": True}
    return render(request, "treatment_sessions/session_day/_recheck_findings.html", context)


@allow(Role.PRACTITIONER, record=True)
def chart(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    existing = getattr(session, "chart", None) if hasattr(session, "chart") else None
    if existing is not None and existing.is_signed:
        if request.method == "POST":  # a second click on "Sign and lock", or a stale tab
            messages.info(request, charting.ALREADY_SIGNED)
        return redirect(session)
    allowed, reason = recheck.may_chart(session)
    if not allowed:
        messages.error(request, reason)
        return redirect(session)
    forms = ChartForms.for_session(session, request.POST or None, existing=existing)
    if request.method == "POST" and forms.is_valid():
        signing = request.POST.get("action") == "sign"
        try:
            saved = forms.save(request.user, sign=signing)
        except charting.ChartAlreadySigned as error:
            messages.info(request, str(error))  # signed by the first click: nothing was lost
            return redirect(session)
        except ChartLockedError as error:
            messages.error(request, str(error))
            return redirect(session)
        if saved and signing:
            messages.success(
                request, _("Chart signed and locked. The session is complete; its aftercare sheet is being prepared.")
            )
        elif saved:
            messages.success(request, _("Chart saved as a draft."))
        if saved:
            for warning in charting.saved_chart_warnings(saved):
                messages.warning(request, _("Saved with a warning: %(warning)s") % {"warning": warning.message})
            return redirect(session)
    if request.method == "GET":
        record_view(request, session.patient, "session chart", obj=session)
    context = {"session": session, "patient": session.patient, **forms.context()}
    return render(request, "treatment_sessions/session_day/chart.html", context)


@allow(Role.PRACTITIONER, record=True)
def addendum(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    chart = getattr(session, "chart", None) if hasattr(session, "chart") else None
    if chart is None or request.method != "POST":
        return redirect(session)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            charting.chart_addendum(chart=chart, text=form.cleaned_data["text"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Addendum added."))
    else:
        messages.error(request, _("Write the addendum before adding it."))
    return redirect(session)


# --- Lot recall: practitioners search a lot number, see who received it down to the points of
# their maps, mark the lot recalled and send its patients the notice; export either list -------


def _lot_param(request):
    return params.text(request, "lot", max_length=MAX_LOT_LENGTH * 2)


@allow(Role.PRACTITIONER)
@require_http_methods(["GET", "POST"])
def recall_search(request):
    """The search, the lot's patients and points, its contact list. Marking a lot recalled and
    sending its notice are POSTs here (`action`), so their refusals show on this page."""
    search = _lot_param(request)
    bound = {}
    if request.method == "POST":
        done, bound = _recall_post(request, search)
        if done is not None:
            return done
    # A page of the uses (newest first), its patients' contact cards, and the whole lot's
    # counts: the page costs the same however often the lot was used. The exports list it all.
    recall = lot_recall_page(
        search, before=read_page_cursor(request.GET.get("before")), after=read_page_cursor(request.GET.get("after"))
    )
    contacts = recall_contacts_page(recall)
    for lot in recall.lots:
        lot.recall_form = bound.get(lot.pk) or LotRecallForm(prefix=f"lot-{lot.pk}")
    record_recall_views(request, recall)  # the patients this page shows
    context = {"recall": recall, "contacts": contacts, "searched": _recall_url(search)}
    return render(request, "treatment_sessions/session_day/recall/search.html", context)


def _recall_url(search):
    return reverse("session_day:recall") + ("?" + urlencode({"lot": search}) if search else "")


def _recall_post(request, search):
    """(a redirect, {}) when the action was done or refused; (None, {lot pk: bound form}) when
    the recall form has errors to show beside its fields."""
    action = RecallAction(request.POST)
    if not action.is_valid():
        messages.error(request, _("That lot is no longer there: search again."))
        return redirect(_recall_url(search)), {}
    lot = action.cleaned_data["lot_id"]
    back = redirect(_recall_url(search or lot.lot_number))
    try:
        if action.cleaned_data["action"] == RecallAction.RECALL:
            form = LotRecallForm(request.POST, prefix=f"lot-{lot.pk}")
            if not form.is_valid():
                return None, {lot.pk: form}
            lot_mark_recalled(lot=lot, reason=form.cleaned_data["reason"], by=request.user)
            messages.success(
                request,
                _("Lot %(lot)s of %(product)s is marked recalled: it can no longer be charted or used from stock.")
                % {"lot": lot.lot_number, "product": lot.product},
            )
        else:
            sent = recall_notices_send(lot=lot, by=request.user)
            messages.success(
                request,
                ngettext(
                    "The recall notice is queued for %(count)d patient, in their language, by the way they "
                    "take messages. The outbox shows when it goes.",
                    "The recall notice is queued for %(count)d patients, each in their language, by the way "
                    "they take messages. The outbox shows when they go.",
                    len(sent),
                )
                % {"count": len(sent)},
            )
    except RecallRefused as refusal:
        messages.info(request, " ".join(refusal.messages))
    except ValidationError as error:
        if action.cleaned_data["action"] == RecallAction.RECALL and hasattr(error, "error_dict"):
            form = LotRecallForm(request.POST, prefix=f"lot-{lot.pk}")
            add_form_errors(form, error)
            return None, {lot.pk: form}
        messages.error(request, " ".join(error.messages))
    return back, {}


@allow(Role.PRACTITIONER)
@require_GET
def recall_export(request):
    """The recall as a spreadsheet: who received the lot, with the points (the default), or the
    contact list of the exact matches (`?list=contacts`)."""
    recall = lot_recall(_lot_param(request))
    which = params.choice(request, "list", ("uses", "contacts"), default="uses")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", recall.lot).strip("-.") or "search"
    if which == "contacts":
        groups = recall_contacts(recall)
        patients = [contact.patient for group in groups for contact in group.contacts]
        record_recall_views(request, recall, page=f"lot recall {recall.lot} (contact list CSV)", patients=patients)
        response = HttpResponse(contacts_csv(groups), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="lot-recall-{name}-contacts.csv"'
    else:
        record_recall_views(request, recall, page=f"lot recall {recall.lot} (CSV export)")
        response = HttpResponse(recall_csv(recall), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="lot-recall-{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
