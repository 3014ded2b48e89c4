"""The clinic's "Send questionnaire" form, on the patient page.

The form posts to its own view (questionnaires:send), and the patient page is the desk's. When
the questionnaire cannot be sent, the view keeps what was typed and why in the session, for
this patient only, and the patient page shows the form with it, next to the field, once
(`send_form`): the whole page again, nothing lost, and no second copy of the page's code here.
"""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.selectors import clinic_today

FURTHEST = datetime.timedelta(days=366)
KEPT = "questionnaire_send"  # the session key of a refused form


class SendForm(forms.Form):
    visit_on = forms.DateField(
        label=_("Day of the visit"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Give the day of the visit."), "invalid": _("Give a date, as 2025-12-15.")},
    )
    # The open questionnaire the page showed ("" for none): a second click, or a colleague who
    # sent one meanwhile, finds another open now, and nothing more is sent.
    replaces = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "questionnaire-%s")  # the patient page has other forms
        super().__init__(*args, **kwargs)

    def clean_visit_on(self):
        day = self.cleaned_data["visit_on"]
        if day < clinic_today():
            raise forms.ValidationError(_("The visit is in the past: give the day of the appointment."))
        if day > clinic_today() + FURTHEST:
            raise forms.ValidationError(_("Give a day within the next year."))
        return day


def keep_refused(request, patient, form, refusal=""):
    """Keep a form that could not be sent (what was typed, and its errors or the refusal) for
    the patient page's next showing."""
    errors = {name: list(messages) for name, messages in form.errors.items()}
    if refusal:
        errors.setdefault("visit_on", []).append(str(refusal))
    request.session[KEPT] = {
        "patient": patient.pk,
        "data": {"visit_on": form.data.get("visit_on", "")[:40]},
        "errors": errors,
    }


def send_form(request, patient, visit_on, replaces=""):
    """The form for the patient page: the one refused a moment ago, with its errors, if it was
    this patient's; else a fresh one for `visit_on`."""
    kept = request.session.pop(KEPT, None)
    if not kept or kept.get("patient") != patient.pk:
        return SendForm(initial={"visit_on": visit_on, "replaces": replaces})
    form = SendForm(data={**(kept.get("data") or {}), "replaces": replaces})
    form.is_valid()
    for name, messages in (kept.get("errors") or {}).items():
        for message in messages:
            if name in form.fields and message not in form.errors.get(name, []):
                form.add_error(name, message)
    return form
