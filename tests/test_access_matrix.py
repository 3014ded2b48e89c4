"""Every URL pattern of the app, requested anonymously, as a patient (with another patient's
ids), as a scheduler and as a practitioner: never a 500, and 403/404 wherever the role must
not see the page. POSTs without a CSRF token are refused."""

import datetime
import io

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from PIL import Image

from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.core.models import WorkingHours
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Consent
from mesoclinic.questionnaires.models import QuestionnaireResponse
from mesoclinic.questionnaires.services import link_create as questionnaire_link_create
from mesoclinic.questionnaires.services import questionnaire_send, questionnaire_submit
from mesoclinic.treatment_sessions.models import Lot, PhotoAlignment, SessionPhoto
from mesoclinic.treatment_sessions.scheduling.feeds import feed_create
from tests.builders import PatientFactory, screened, signed_session

pytestmark = pytest.mark.django_db

P, S, T, A = "practitioner", "scheduler", "patient", "anonymous"

# Django's own views declare nothing; who may use them. Every view of ours declares its roles
# with core.permissions.allow, and that declaration is what this test holds it to.
DJANGO_VIEWS = {
    "login": {A},
    "logout": {P, S, T},
    "password_change": {P, S, T},
    "password_change_done": {P, S, T},
}
# Medical history is for practitioners only: whatever a view declares in these namespaces.
CLINICAL_NAMESPACES = ("screening:", "plans:", "session_day:", "photos:")


POST_ONLY = {
    "logout",
    "screening:evaluate",
    "plans:activate",
    "plans:stop",
    "plans:complete",
    "plans:flags",
    "plans:consent_withdraw",
    "aftercare:revoke",
    "aftercare:resend",
    "screening:prescriber_decision",
    "session_day:addendum",
    "scheduling:no_show",
    "patients:restore",
    "questionnaires:send",
    "questionnaires:revoke",
    "stock:scan",
    "outcomes:report_send",
    "photos:align",
}


def _patterns():
    """(name, URLPattern) for every named URL of the app (the admin has its own permissions)."""
    found = []

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.append((f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern))

    walk(get_resolver().url_patterns)
    return found


def url_names():
    return [name for name, _ in _patterns()]


@pytest.fixture
def world(clinic, alice, sam, pat, room):
    """Another patient with everything: screening, plan, consent, sessions, chart, photo, sheet."""
    for day in range(7):
        WorkingHours.objects.get_or_create(
            practitioner=alice, weekday=day, starts=datetime.time(7), ends=datetime.time(21)
        )
    other = PatientFactory(given_name="Other", family_name="Person")
    done = signed_session(
        alice, room, other, indication="cellulite", areas=("thighs",), events=("bruising",),
        measured={"circumference_thigh": "58.5"},
    )  # fmt: skip
    upcoming = done.plan.sessions.get(sequence=2)
    consent = Consent.objects.get(plan=done.plan)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="PNG")
    Consent.objects.filter(pk=consent.pk).update(signature_png=buffer.getvalue())
    photo_buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(photo_buffer, format="JPEG")
    from django.core.files.base import ContentFile

    photo = SessionPhoto(session=done, patient=other, kind="before", uploaded_by=alice, width=64, height=48)
    photo.image.save("x.jpg", ContentFile(photo_buffer.getvalue()), save=False)
    photo.width, photo.height = 64, 48
    photo.save()
    # The same photo as both ends: the service refuses that pair, the views need only a record.
    alignment = PhotoAlignment.objects.create(
        baseline=photo, later=photo, patient=other, baseline_points=[[1, 1], [50, 40]],
        later_points=[[1, 1], [50, 40]], scale=1, rotation_degrees=0, shift_x=0, shift_y=0,
        residual_px=0, created_by=alice,
    )  # fmt: skip
    own = signed_session(alice, room, pat, start=done.starts_at + datetime.timedelta(hours=2), next_in_days=0)
    sheet, own_sheet = sheet_for(done), sheet_for(own)
    return {
        **_questionnaires(other, pat, alice),
        "patient": other,
        "session": upcoming,
        "done": done,
        "plan": done.plan,
        "consent": consent,
        "screening": done.recheck,
        "photo": photo,
        "alignment": alignment,
        "sheet": sheet,
        "own_sheet": own_sheet,
        "link": link_create(sheet),
        "feed": feed_create(owner=alice),
        "product": None,
        "rx_screening": screened(
            PatientFactory(given_name="Rx", family_name="Person"), alice, medications=["warfarin"]
        ),
    }


def _questionnaires(other, pat, alice):
    """A questionnaire still open and one sent back, for another patient and for Pat."""
    visit = clinic_today() + datetime.timedelta(days=10)
    made = {}
    for who, patient in (("other", other), ("own", pat)):
        sent = questionnaire_send(patient=patient, by=alice, visit_on=visit)
        questionnaire_submit(
            request=sent,
            given={
                "pregnant": "no",
                "breastfeeding": "no",
                "conditions_none": "yes",
                "medications_none": "yes",
                "allergies_none": "yes",
            },
            language="en",
        )
        still_open = questionnaire_send(patient=patient, by=alice, visit_on=visit)
        made[f"{who}_questionnaire"] = still_open
        made[f"{who}_questionnaire_sent"] = sent
    made["questionnaire_link"] = questionnaire_link_create(made["other_questionnaire"])
    made["questionnaire_sent_link"] = questionnaire_link_create(made["other_questionnaire_sent"])
    made["questionnaire_response"] = QuestionnaireResponse.objects.get(request=made["other_questionnaire_sent"])
    return made


def verified_for_questionnaires(client, world):
    """The link pages open only after the date of birth: this client has given it."""
    session = client.session
    session["questionnaire_verified"] = [world["other_questionnaire"].pk, world["other_questionnaire_sent"].pk]
    session.save()


def args_for(name, world, alice):
    from mesoclinic.plans.models import Product

    product, _ = Product.objects.get_or_create(name="Matrix", manufacturer="Test")
    by_name = {
        "core:setup_practitioner": [alice.pk],
        "desk:patient": [world["patient"].pk],
        "patients:edit": [world["patient"].pk],
        "patients:access_history": [world["patient"].pk],
        "patients:archive": [world["patient"].pk],
        "patients:restore": [world["patient"].pk],
        "desk:merge_choose": [world["patient"].pk],
        "desk:merge": [world["patient"].pk, world["rx_screening"].patient_id],
        "screening:new": [world["patient"].pk],
        "screening:evaluate": [world["patient"].pk],
        "screening:detail": [world["screening"].pk],
        "screening:prescriber_decision": [world["rx_screening"].pk, "warfarin"],
        "screening:rule": ["pregnancy"],
        "screening:term": ["medication", "ibuprofen"],
        "screening:source": ["guide-2024"],
        "plans:new": [world["patient"].pk],
        "plans:detail": [world["plan"].pk],
        "plans:edit": [world["plan"].pk],
        "plans:activate": [world["plan"].pk],
        "plans:stop": [world["plan"].pk],
        "plans:complete": [world["plan"].pk],
        "plans:flags": ["cellulite"],
        "plans:consent_sign": [world["plan"].pk],
        "plans:consent_detail": [world["consent"].pk],
        "plans:consent_pdf": [world["consent"].pk],
        "plans:consent_signature": [world["consent"].pk],
        "plans:consent_withdraw": [world["consent"].pk],
        "plans:protocol": ["cellulite"],
        "plans:product_edit": [product.pk],
        "scheduling:calendar_week_for": ["practitioner", alice.pk, datetime.date.today().isoformat()],
        "scheduling:feed": [world["feed"]],
        "scheduling:book": [world["plan"].pk],
        "scheduling:patient_ics": [world["patient"].pk],
        "photos:file": [world["photo"].pk],
        "photos:thumbnail": [world["photo"].pk],
        "photos:compare": [world["patient"].pk],
        "photos:align": [world["patient"].pk],
        "photos:aligned": [world["alignment"].pk],
        "aftercare:sheet": [world["sheet"].pk],
        "aftercare:sheet_pdf": [world["sheet"].pk],
        "aftercare:revoke": [world["sheet"].pk],
        "aftercare:resend": [world["sheet"].pk],
        "aftercare:link": [world["link"]],
        "aftercare:link_pdf": [world["link"]],
        "outcomes:link_scores": [world["link"]],
        "outcomes:link_report": [world["link"]],
        "outcomes:link_report_pdf": [world["link"]],
        "outcomes:my_scores": [world["sheet"].pk],
        "outcomes:my_report": [world["plan"].pk],
        "outcomes:my_report_pdf": [world["plan"].pk],
        "outcomes:report": [world["plan"].pk],
        "outcomes:chart": [world["plan"].pk, "circumference_thigh"],
        "outcomes:report_pdf": [world["plan"].pk],
        "outcomes:report_send": [world["plan"].pk],
        "reminders:message": [world["patient"].reminders.order_by("pk").first().pk],
        "questionnaires:link": [world["questionnaire_link"]],
        "questionnaires:link_screen": [world["questionnaire_link"], 1],
        "questionnaires:link_review": [world["questionnaire_link"]],
        "questionnaires:link_done": [world["questionnaire_sent_link"]],
        "questionnaires:mine_screen": [world["other_questionnaire"].pk, 1],
        "questionnaires:mine_review": [world["other_questionnaire"].pk],
        "questionnaires:mine_done": [world["other_questionnaire_sent"].pk],
        "questionnaires:send": [world["patient"].pk],
        "questionnaires:revoke": [world["other_questionnaire"].pk],
        "questionnaires:review": [world["questionnaire_response"].pk],
        "questionnaires:adopt": [world["questionnaire_response"].pk],
        "questionnaires:fhir_response": [world["questionnaire_response"].pk],
        "stock:lot": [Lot.objects.order_by("pk").first().pk],
    }
    if name in by_name:
        return by_name[name]
    if name.startswith(("treatment_sessions:", "scheduling:", "session_day:", "photos:")) and name not in (
        "session_day:today",
        "session_day:recall",
        "session_day:recall_export",
        "scheduling:calendar",
        "scheduling:to_book",
        "scheduling:feed_settings",
    ):
        return [world["session"].pk]
    return []


def clients(alice, sam, pat):
    made = {A: Client()}
    for role, user in ((P, alice), (S, sam), (T, pat.user)):
        made[role] = Client()
        made[role].force_login(user)
    return made


def test_every_url_as_every_role(world, alice, sam, pat):
    names = url_names()
    assert len(names) >= 65
    by_role = clients(alice, sam, pat)
    problems, checked = [], 0
    for name in names:
        if name == "logout":
            continue  # it would sign the clients out; tested with the CSRF checks below
        url = reverse(name, args=args_for(name, world, alice))
        view = resolve(url).func
        allowed = DJANGO_VIEWS.get(name) or set(view.allowed_roles)
        if getattr(view, "shows_record", False):
            allowed.discard(T)  # the record is another patient's: to this patient it does not exist
        for role, client in by_role.items():
            method = "post" if name in POST_ONLY else "get"
            response = getattr(client, method)(url)
            checked += 1
            code = response.status_code
            if code >= 500:
                problems.append(f"{role} {method.upper()} {url}: {code}")
            elif role in allowed:
                if code in (403, 404) and not (name == "login" and role != A):
                    problems.append(f"{role} {method.upper()} {url}: {code}, but this role may use it")
            elif role == A:
                if not (code == 302 and "/accounts/login/" in response["Location"]):
                    problems.append(f"anonymous {method.upper()} {url}: {code}, expected the login page")
            elif name == "login":
                continue  # signed-in users are sent on to their start page
            elif role == T and getattr(view, "shows_record", False) and code != 404:
                problems.append(f"patient {method.upper()} {url}: {code}, expected 404 (another patient's record)")
            elif code not in (403, 404):
                problems.append(f"{role} {method.upper()} {url}: {code}, expected 403 or 404")
    print(f"access matrix: {len(names)} URL patterns x {len(by_role)} roles = {checked} requests")
    assert not problems, "\n".join(problems)


def test_every_view_declares_its_roles_and_clinical_pages_are_for_practitioners():
    undeclared, too_open = [], []
    for name in url_names():
        if name in DJANGO_VIEWS:
            continue
        pattern = next(p for p in _patterns() if p[0] == name)[1]
        roles = getattr(pattern.callback, "allowed_roles", None)
        if roles is None:
            undeclared.append(name)
        elif name.startswith(CLINICAL_NAMESPACES) and set(roles) != {P}:
            too_open.append(f"{name}: {sorted(roles)}")
    assert not undeclared, f"views without @allow: {undeclared}"
    assert not too_open, too_open


def test_a_patient_reads_her_own_sheet_but_not_another_patients(world, pat):
    client = Client()
    client.force_login(pat.user)
    assert client.get(world["own_sheet"].get_absolute_url()).status_code == 200
    assert client.get(world["sheet"].get_absolute_url()).status_code == 404


def test_posts_without_a_csrf_token_are_refused(world, alice, sam, pat):
    refused = []
    for role, user in ((P, alice), (S, sam)):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        for name in (
            "patients:create",
            "plans:activate",
            "plans:stop",
            "scheduling:cancel",
            "scheduling:move",
            "screening:new",
            "aftercare:revoke",
            "aftercare:resend",
            "reminders:message",
            "logout",
        ):
            url = reverse(name, args=args_for(name, world, alice))
            response = client.post(url, {"reason": "x"})
            if response.status_code != 403:
                refused.append(f"{role} {name}: {response.status_code}")
    assert not refused, refused
