"""The clinic sends a questionnaire from the patient page, and switches one off.

Both the practitioner and the clinic admin may: sending asks nothing clinical (a day, and the
patient's own address), and the clinic admin books the visits it prepares for. Both answer
with the patient page again (the desk's), where the panel says what happened.
"""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.core.selectors import current_clinic
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import ReminderChannel

from . import services
from .forms import SendForm, keep_refused
from .models import QuestionnaireRequest
from .selectors import destinations, last_moment, session_on

PANEL = "#questionnaire"


@allow(*STAFF, record=True)
@require_POST
def send(request, patient_pk):
    """Send the questionnaire for the visit on the day given, for the patient's session on that
    day if there is one. A new one replaces the one still open (services.questionnaire_send)."""
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    back = patient.get_absolute_url() + PANEL
    form = SendForm(request.POST)
    if patient.is_archived:  # the page offers no form: say it where it shows
        messages.error(request, _("The record is archived: nothing is sent from it."))
        return redirect(back)
    if not form.is_valid():
        keep_refused(request, patient, form)
        return redirect(back)
    zone = current_clinic().zone
    day = form.cleaned_data["visit_on"]
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one send at a time
            if _replaced_meanwhile(request, patient, form):
                messages.info(request, _("A questionnaire was sent a moment ago: nothing more was sent."))
                return redirect(back)
            sent = services.questionnaire_send(
                patient=patient, by=request.user, visit_on=day, session=session_on(patient, day, zone)
            )
    except services.QuestionnaireRefused as refusal:
        keep_refused(request, patient, form, refusal)
        return redirect(back)
    messages.success(request, _sent_words(patient, sent))
    return redirect(back)


def _replaced_meanwhile(request, patient, form):
    """The page was sent with one open questionnaire (or none) and another is open now: a double
    click, or a colleague sent one since. A form without the field (a script) is not checked."""
    if "replaces" not in request.POST:
        return False
    now_open = QuestionnaireRequest.objects.open().filter(patient=patient).values_list("pk", flat=True).first()
    return str(now_open or "") != form.cleaned_data["replaces"]


def _sent_words(patient, sent):
    """Where it went, masked ("by email to a•••@example.com and by text message to +90 ••• 67"),
    for which visit, and until when the patient can answer it."""
    ways = [
        (_("by text message to %(address)s") if channel == ReminderChannel.SMS else _("by email to %(address)s"))
        % {"address": where}
        for channel, where in destinations(patient)
    ]
    return _("Questionnaire sent %(ways)s, for the visit on %(day)s. It can be answered until %(until)s.") % {
        "ways": _(" and ").join(ways),
        "day": date_format(sent.visit_on, "l j F"),
        "until": date_format(last_moment(sent), "l j F, H:i"),
    }


@allow(*STAFF, record=True)
@require_POST
def revoke(request, pk):
    """Switch the open questionnaire off: its links stop working and its chase is not sent
    (the panel asks first)."""
    questionnaire = load_or_404(request, QuestionnaireRequest.objects.select_related("patient"), pk=pk)
    back = questionnaire.patient.get_absolute_url() + PANEL
    if request.POST.get("confirm") != "revoke":
        messages.error(request, _("Nothing was switched off: use the “Switch it off” button to confirm."))
        return redirect(back)
    if services.questionnaire_revoke(request=questionnaire, by=request.user):
        messages.success(
            request, _("Questionnaire switched off: its link no longer opens, and no reminder about it is sent.")
        )
    else:
        messages.info(request, _("This questionnaire was already answered or switched off: nothing to change."))
    return redirect(back)
