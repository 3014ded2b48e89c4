"""The pages a patient fills the pre-visit questionnaire in, at home, on their phone.

Two ways in, one set of pages:
- through the link in the clinic's message, with no account: the token finds the
  questionnaire, the date of birth is the second factor, and only then does this browser
  session see anything (the session remembers it; every page but the date-of-birth form
  asks for it);
- signed in to the patient's own account: no date of birth, and another patient's
  questionnaire is a 404.

Both ways end in a `Way` (which questionnaire, in which language, how to link its pages), and
every page below takes one: a page per screen (saved as the patient goes, on every change when
JavaScript runs and on every Next and Back when it does not), the review with the problems
that stop sending, and what to do next. What the patient is told after sending is decided in
services.patient_outcome; these pages only say it, never the findings.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import EVERYONE, allow, load_or_404
from mesoclinic.core.selectors import clinic_today, current_clinic
from mesoclinic.screening.engine import duration_words
from mesoclinic.screening.instructions import STOP, translate_substance
from mesoclinic.screening.knowledge import knowledge_base

from . import answers, services
from .models import PatientMessage, QuestionnaireRequest, QuestionnaireResponse
from .patient_forms import DateOfBirthForm, answers_in_words, screen_fields
from .services import QuestionnaireRefused

LANGUAGES = ("en", "tr")
PAGE = "pre-visit questionnaire"  # what the audit trail says was read
LINK_VIA = "questionnaire link"
VERIFIED = "questionnaire_verified"  # session: the questionnaires this browser opened with the date of birth
LANGUAGE = "questionnaire_language"  # session: the language the patient switched to
AUTOSAVE = "X-Questionnaire-Autosave"  # header of questionnaire.js's saves as the patient types


@dataclass
class Way:
    """How the patient reached this questionnaire: `token` through the link, "" signed in."""

    asked: QuestionnaireRequest
    language: str
    token: str = ""

    def url(self, page, step=None):
        """The URL of one of this questionnaire's pages, the same way in."""
        if page == "start":
            return reverse("questionnaires:link", args=[self.token]) if self.token else reverse("questionnaires:mine")
        prefix, key = ("link", self.token) if self.token else ("mine", self.asked.pk)
        args = [key] if step is None else [key, step]
        return reverse(f"questionnaires:{prefix}_{page}", args=args)

    @property
    def url_done(self):
        return self.url("done")

    @property
    def audit(self):
        return {"via": LINK_VIA} if self.token else {}


# --- Through the link --------------------------------------------------------------------


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_start(request, token):
    """The link from the message: the date of birth first, then the first screen."""
    asked, problem = services.link_lookup(token)
    language = _language(request, asked.patient if asked else None)
    with translation.override(language):
        way = Way(asked, language, token) if asked else None
        verified = asked is not None and _verified(request, asked)
        if problem == "answered":
            # What the patient was told (call the clinic, what to stop) stays readable through
            # the link, after the date of birth again in a new browser: it is theirs to keep.
            return redirect(way.url_done) if verified else _date_of_birth(request, way)
        if problem:
            return _problem(request, problem, way, verified=verified)
        if request.method != "POST" and verified:
            return redirect(way.url("screen", 1))
        return _date_of_birth(request, way)


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_screen(request, token, step):
    return _through_link(request, token, _screen, step=step)


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_review(request, token):
    return _through_link(request, token, _review)


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_done(request, token):
    return _through_link(request, token, _done, answered_ok=True)


def _through_link(request, token, page, *, answered_ok=False, **kwargs):
    """`page` for the questionnaire the token opens, once this session gave the date of birth.
    A questionnaire that closed meanwhile (sent from another tab, switched off, expired) still
    takes the POST: the page that refuses it shows back what the patient had typed."""
    asked, problem = services.link_lookup(token)
    language = _language(request, asked.patient if asked else None)
    with translation.override(language):
        if asked is None:
            return _problem(request, problem, None)
        way = Way(asked, language, token)
        verified = _verified(request, asked)
        if problem and not verified:
            return _problem(request, problem, way)
        if not verified:
            return redirect(way.url("start"))
        if _stops(problem, request, answered_ok):
            return _problem(request, problem, way, verified=True)
        return page(request, way, **kwargs)


def _stops(problem, request, answered_ok):
    """Does `problem` stop the page? A locked questionnaire always; a closed one for reading,
    but its POST goes on, to be refused with what was typed shown back; and an answered one is
    what the done page shows."""
    if problem == "locked":
        return True
    if not problem or request.method == "POST":
        return False
    return not (answered_ok and problem == "answered")


def _verified(request, asked):
    return asked.pk in request.session.get(VERIFIED, [])


def _date_of_birth(request, way):
    form = DateOfBirthForm(request.POST or None, today=clinic_today())
    if request.method == "POST" and form.is_valid():
        outcome = services.date_of_birth_check(request=way.asked, date_of_birth=form.cleaned_data["date_of_birth"])
        if outcome == "locked":
            return _problem(request, "locked", way)
        if outcome == "ok":
            # A new session key for what is now a verified session: a key planted before
            # (session fixation) opens nothing.
            request.session.cycle_key()
            request.session[VERIFIED] = [*request.session.get(VERIFIED, [])[-9:], way.asked.pk]
            answered = QuestionnaireResponse.objects.filter(request=way.asked).exists()
            return redirect(way.url_done if answered else way.url("screen", 1))
        way.asked.refresh_from_db(fields=["failed_checks"])
        form.add_error(
            None,
            ngettext(
                "This is not the date of birth the clinic has for you. You can try %(count)s more time.",
                "This is not the date of birth the clinic has for you. You can try %(count)s more times.",
                way.asked.tries_left,
            )
            % {"count": way.asked.tries_left},
        )
    context = {"form": form, "way": way, "tries_left": way.asked.tries_left, "tried": way.asked.failed_checks > 0}
    return _render(request, way, "date_of_birth.html", context)


# --- Signed in ---------------------------------------------------------------------------


@allow(Role.PATIENT)
@never_cache
def mine(request):
    """The patient's questionnaires: to fill in (newest first) and sent."""
    patient = getattr(request.user, "patient_record", None)
    language = _language(request, patient)
    context = {"patient": patient, "language": language, "open": [], "returned": []}
    if patient is not None:
        context["open"] = list(QuestionnaireRequest.objects.open().filter(patient=patient).order_by("-created_at"))
        context["returned"] = list(
            QuestionnaireResponse.objects.filter(patient=patient).select_related("request").order_by("-submitted_at")
        )
    with translation.override(language):
        return _render(request, None, "mine.html", context)


@allow(Role.PATIENT, record=True)
@never_cache
def mine_screen(request, pk, step):
    return _signed_in(request, pk, _screen, step=step)


@allow(Role.PATIENT, record=True)
@never_cache
def mine_review(request, pk):
    return _signed_in(request, pk, _review)


@allow(Role.PATIENT, record=True)
@never_cache
def mine_done(request, pk):
    return _signed_in(request, pk, _done, answered_ok=True)


def _signed_in(request, pk, page, *, answered_ok=False, **kwargs):
    """`page` for the signed-in patient's own questionnaire (another patient's is a 404)."""
    asked = load_or_404(request, QuestionnaireRequest.objects.select_related("patient", "response"), pk=pk)
    language = _language(request, asked.patient)
    with translation.override(language):
        way = Way(asked, language)
        problem = asked.problem()
        if _stops(problem, request, answered_ok):
            return _problem(request, problem, way, verified=True)
        return page(request, way, **kwargs)


# --- The pages, either way in --------------------------------------------------------------


def _screen(request, way, step):
    screens = services.screens_for(way.asked, way.language)
    if not 1 <= step <= len(screens):
        raise Http404
    screen = screens[step - 1]
    if request.method != "POST":
        record_view(request, way.asked.patient, PAGE, obj=way.asked, **way.audit)
        return _render_screen(request, way, screens, step, way.asked.draft, {})
    given, problems = answers.clean_given(_posted(request), [screen])
    try:
        saved = services.draft_save(request=way.asked, given=given)  # always: nothing typed is lost
    except QuestionnaireRefused as refusal:
        if request.headers.get(AUTOSAVE) == "1":
            return HttpResponse(str(refusal), status=409, content_type="text/plain; charset=utf-8")
        return _refused(request, way, str(refusal), screens, given)
    if request.headers.get(AUTOSAVE) == "1":
        return HttpResponse(status=204)
    way.asked.draft, way.asked.draft_saved_at = saved.draft, saved.draft_saved_at
    if request.POST.get("go") == "back":
        return redirect(way.url("screen", max(step - 1, 1)))
    problems = {**problems, **_typed_problems(way, screens, screen)}
    if problems:
        return _render_screen(request, way, screens, step, given, problems)
    if step == len(screens) or request.POST.get("then") == "review":  # "Change" on the review
        return redirect(way.url("review"))
    return redirect(way.url("screen", step + 1))


def _posted(request):
    """The posted answers without NUL characters: no one types them, and PostgreSQL cannot
    store them in the draft (a 500, for a pasted or forged one)."""
    posted = request.POST.copy()
    for name, values in posted.lists():
        posted.setlist(name, [value.replace("\x00", "") for value in values])
    return posted


def _typed_problems(way, screens, screen):
    """What is wrong with the words typed in this screen's "not in the list" boxes ("Advil"
    among the conditions belongs with the medicines): said here, beside the box, rather than
    only on the review."""
    boxes = {question.other_name for question in screen.questions if question.has_other}
    if not boxes:
        return {}
    read = answers.read(
        way.asked.draft,
        screens,
        kb=knowledge_base(),
        date_of_birth=way.asked.patient.date_of_birth,
        on_date=way.asked.visit_on,
    )
    return {name: messages for name, messages in read.problems.items() if name in boxes}


def _render_screen(request, way, screens, step, values, problems):
    screen = screens[step - 1]
    fields = screen_fields(screen, values, problems)
    context = {
        "way": way,
        "screen": screen,
        "step": step,
        "total": len(screens),
        "fields": fields,
        "summary": _error_summary(fields),
        # Opened from "Change" on the review: Next goes back there.
        "then_review": "review" in (request.POST.get("then"), request.GET.get("then")),
    }
    return _render(request, way, "screen.html", context)


def _error_summary(fields):
    """(the id of the field, message) for the list of problems at the top of a screen."""
    summary = []
    for field in fields:
        summary += [(f"q-{field.name}", message) for message in field.errors]
        summary += [(field.question.other_name, message) for message in field.other_errors]
    return summary


def _review(request, way):
    screens = services.screens_for(way.asked, way.language)
    if request.method == "POST":
        return _submit(request, way, screens)
    record_view(request, way.asked.patient, PAGE, obj=way.asked, **way.audit)
    return _render(request, way, "review.html", _review_context(way, screens))


def _review_context(way, screens):
    draft = way.asked.draft
    read, _result = services.evaluate(way.asked, draft, language=way.language)
    _given, too_long = answers.clean_given(draft, screens)  # over-long text kept in the draft
    where = _where(screens)
    problems = []
    for name in dict.fromkeys([*too_long, *read.problems]):
        step, text = where.get(name, (None, ""))
        for message in [*too_long.get(name, []), *read.problems.get(name, [])]:
            problems.append(_Problem(f"{text}: {message}" if text else message, _anchor(way, step, name)))
    for name in read.unanswered:
        step, text = where[name]
        problems.append(_Problem(_("Not answered yet: %(question)s") % {"question": text}, _anchor(way, step, name)))
    answered = answers_in_words(screens, draft)
    for screen in answered:
        screen.url = way.url("screen", screen.step) + "?then=review"
    return {"way": way, "answered": answered, "problems": problems, "ready": not problems, "total": len(screens)}


@dataclass
class _Problem:
    text: str
    url: str


def _where(screens):
    """{answer name: (step, question)}, the "not in the list" boxes included."""
    where = {}
    for step, screen in enumerate(screens, start=1):
        for question in screen.questions:
            where[question.name] = (step, question.text)
            if question.has_other:
                where[question.other_name] = (step, question.text)
            if question.needs_answer:
                where[question.none_name] = (step, question.text)
    return where


def _anchor(way, step, name):
    """The screen of `name`, coming back to the review after it."""
    if step is None:
        return way.url("screen", 1) + "?then=review"
    return f"{way.url('screen', step)}?then=review#{name if name.endswith('_other') else 'q-' + name}"


def _submit(request, way, screens):
    """Send the draft. A second tap, a second tab or a questionnaire the clinic closed meanwhile
    is refused with words, never an error; what is missing brings the review back."""
    _given, too_long = answers.clean_given(way.asked.draft, screens)
    if too_long:
        return _render(request, way, "review.html", _review_context(way, screens))
    try:
        services.questionnaire_submit(request=way.asked, given={}, language=way.language)
    except QuestionnaireRefused as refusal:
        return _refused(request, way, str(refusal), screens, way.asked.draft)
    except ValidationError:
        return _render(request, way, "review.html", _review_context(way, screens))
    return redirect(way.url("done"))


def _done(request, way):
    response = getattr(way.asked, "response", None)
    if response is None:
        return redirect(way.url("review"))
    record_view(request, way.asked.patient, PAGE, obj=way.asked, **way.audit)
    context = {
        "way": way,
        "call": response.patient_message == PatientMessage.CALL,
        "instructions": _instructions(response, way),
    }
    # As the preparation email says it: a painkiller a doctor prescribed is the doctor's to stop.
    context["medicines_to_stop"] = any(item["is_medicine"] for item in context["instructions"])
    return _render(request, way, "done.html", context)


def _instructions(response, way):
    """The preparation the patient was given when sending, in their words: stop ibuprofen a
    week before, no alcohol for a day. Only "stop" holds are ever stored (services)."""
    session = way.asked.session
    lines = []
    for item in response.instructions:
        hours = item.get("hours_before")
        if item.get("kind", STOP) != STOP or not hours:
            continue
        begins = None
        if session is not None:
            begins = date_format(timezone.localtime(session.starts_at - datetime.timedelta(hours=hours)), "l j F, H:i")
        lines.append(
            {
                "substance": translate_substance(item["substance"]),
                "is_medicine": bool(item.get("medication")) or item["substance"].casefold() != "alcohol",
                "duration": duration_words(hours, way.language),
                "from": begins,
            }
        )
    return lines


# --- Refusals and problems -------------------------------------------------------------------


def _problem(request, problem, way, *, verified=False):
    """Why the questionnaire cannot be opened, in words: 404 for a link that never was, 410 for
    one that was and no longer works."""
    context = {
        "problem": problem or "unknown",
        "way": way,
        "verified": verified,
    }
    status = 404 if problem == "unknown" or way is None else 410
    return _render(request, way, "problem.html", context, status=status)


def _refused(request, way, message, screens, given):
    """The questionnaire closed while the patient was answering: say why, and show what they
    had given (this page's answers, or all of them), so they can tell the clinic."""
    way.asked.refresh_from_db(fields=["revoked_at", "locked_at", "expires_at"])
    problem = "answered" if QuestionnaireResponse.objects.filter(request=way.asked).exists() else way.asked.problem()
    answered = [screen for screen in answers_in_words(screens, given) if any(a[2] for a in screen.answers)]
    context = {
        "way": way,
        "message": message,
        "problem": problem,
        "answered": answered,
    }
    return _render(request, way, "refused.html", context, status=409)


# --- Language and rendering ------------------------------------------------------------------


def _language(request, patient):
    """The patient's language, or the one they switched to on these pages (?lang=, kept in
    the session so the next page stays in it)."""
    wanted = params.choice(request, "lang", LANGUAGES, "")
    if wanted:
        request.session[LANGUAGE] = wanted
        return wanted
    if request.session.get(LANGUAGE) in LANGUAGES:
        return request.session[LANGUAGE]
    if patient is not None and patient.preferred_language in LANGUAGES:
        return patient.preferred_language
    return translation.get_language() if translation.get_language() in LANGUAGES else "en"


def _render(request, way, template, context, status=200):
    context = {"language": translation.get_language(), "way": way, "tel": _tel(current_clinic().phone), **context}
    return render(request, f"questionnaires/patient/{template}", context, status=status)


def _tel(phone):
    """The clinic's phone as a tel: link dials it: digits and a leading +, nothing else."""
    return re.sub(r"[^\d+]", "", phone or "")
