from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext

from mesoclinic.core import params, sms
from mesoclinic.core.audit import record_list_view, record_view
from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.patients.selectors import read_page_cursor
from mesoclinic.treatment_sessions.models import ReminderChannel, ReminderKind, ReminderStatus

from . import delivery, services
from .channels import address, sms_number
from .selectors import COUNTED, PER_PAGE, due_reminders, history_page, previewable, reminder_history, status_counts

DUE_SHOWN = 20  # on the unfiltered outbox, the next ones; "Due" lists them all


@allow(*STAFF)
def outbox_page(request):
    """What goes next, the soonest first, and apart from it what was sent or not, the newest
    first. The clinic admin sees no clinical detail. Due and not-sent reminders are counted and
    paged by number; the history (all of it, sent, cancelled) newest first by position, with
    no count (reminders.selectors)."""
    status = params.choice(request, "status", ReminderStatus.values, "")
    counts = status_counts()
    due, page, history = [], None, None
    if status in COUNTED:
        listed = due_reminders() if status == ReminderStatus.PENDING else reminder_history(status)
        paginator = Paginator(listed, PER_PAGE)
        paginator.count = counts[status]  # the counts by status already say how many: no second COUNT
        page = paginator.get_page(params.page(request))
        rows = list(page.object_list)
    else:
        if not status:
            due = list(due_reminders()[:DUE_SHOWN])
        history = history_page(
            status,
            before=read_page_cursor(request.GET.get("before")),
            after=read_page_cursor(request.GET.get("after")),
        )
        rows, page = history.object_list, history
    _add_links([*due, *rows])
    # What patients are told to stop before a session: each one listed has it in their history.
    record_list_view(request, (reminder.patient for reminder in [*due, *rows]), "outbox")
    context = {
        "page": page,
        "history": history,
        "rows": rows,
        "due": due,
        "more_due": counts[ReminderStatus.PENDING] - len(due),
        "status": status,
        "statuses": [(value, label, counts.get(value)) for value, label in ReminderStatus.choices],
        "clinical": request.user.is_practitioner,
    }
    return render(request, "treatment_sessions/reminders/outbox.html", context)


def _url_for(name):
    """pk -> the URL of `name`, from one reverse(): the outbox's rows reversed three patterns
    each (the message, the patient, the session), a fifth of the page's time."""
    prefix, _zero, suffix = reverse(name, args=[0]).rpartition("0")
    return lambda pk: f"{prefix}{pk}{suffix}"


def _add_links(reminders):
    """Each listed reminder's links for its row (`message_url`, `patient_url`, `session_url`)."""
    message, patient, session = (
        _url_for("reminders:message"),
        _url_for("desk:patient"),
        _url_for("treatment_sessions:session"),
    )
    for reminder in reminders:
        reminder.message_url = message(reminder.pk)
        reminder.patient_url = patient(reminder.patient_id)
        reminder.session_url = session(reminder.session_id) if reminder.session_id else ""


@allow(*STAFF, record=True)
def outbox_message(request, pk):
    """One message as the patient receives it; for one that was not sent, sending it again
    (POST with the confirming button). A preparation reminder names the patient's medicines:
    only a practitioner reads it."""
    reminder = load_or_404(request, previewable(), pk=pk)
    if request.method == "POST":
        return _resend(request, reminder)
    clinical = request.user.is_practitioner
    # A text message never names a medicine (templates/sms/hold.txt): anyone on the staff may read it.
    # A recall notice's email names the product and lot a patient was treated with: clinical.
    hidden = (
        reminder.kind in (ReminderKind.HOLD, ReminderKind.RECALL)
        and not clinical
        and reminder.channel != ReminderChannel.SMS
    )
    gone = reminder.session_id is None and reminder.kind in delivery.SESSION_KINDS
    by_sms = reminder.channel == ReminderChannel.SMS
    message = None if gone or by_sms else delivery.compose(reminder, preview=True)
    text_message = _text_message_preview(reminder) if by_sms and not gone else None
    record_view(request, reminder.patient, "outbox message", obj=reminder)
    context = {
        "reminder": reminder,
        "patient": reminder.patient,
        "message": message,
        "text_message": text_message,
        "hidden": hidden,
        "gone": gone,
        "problem": services.resend_problem(reminder) if reminder.status == ReminderStatus.FAILED else "",
    }
    return render(request, "treatment_sessions/reminders/message.html", context)


def _text_message_preview(reminder):
    """The SMS as the patient gets it, with its length in parts; or why it cannot be sent."""
    to = sms_number(reminder.patient.phone)
    try:
        body = delivery.compose_sms(reminder, preview=True)
    except delivery.MessageTooLong as error:
        return {"to": to, "problem": str(error)}
    return {"to": to, "body": body, "parts": sms.parts(body), "encoding": sms.encoding(body), "length": len(body)}


def _resend(request, reminder):
    here = reverse("reminders:message", args=[reminder.pk])
    if request.POST.get("confirm") != "resend":
        messages.error(request, gettext("Nothing was sent: use the “Send again” button to confirm."))
        return redirect(here)
    try:
        outcome = services.reminder_resend(reminder=reminder, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(here)
    if outcome == services.QUEUED:
        messages.success(
            request,
            gettext("Sending again to %(email)s: it goes within a minute.")
            % {"email": address(reminder.patient, reminder.channel)},
        )
    elif outcome == services.ALREADY_QUEUED:
        messages.info(request, gettext("Already queued to be sent again: nothing more to do."))
    else:
        messages.info(request, gettext("Already sent: nothing more to do."))
    return redirect(reverse("reminders:outbox") + f"#reminder-{reminder.pk}")
