"""Every URL pattern of the app, requested anonymously, as a patient (with another patient's
ids), as a scheduler and as a practitioner: never a 500, and 403/404 wherever the role must
not see the page. POSTs without a CSRF token are refused."""

import datetime
import io

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.core.models import WorkingHours
from mesoclinic.plans.models import Consent
from mesoclinic.treatment_sessions.feeds import feed_create
from mesoclinic.treatment_sessions.models import SessionPhoto
from tests.aftercare.conftest import signed_session
from tests.factories import PatientFactory
from tests.plans.conftest import screen_patient as screened

pytestmark = pytest.mark.django_db

P, S, T, A = "practitioner", "scheduler", "patient", "anonymous"
STAFF, CLINICAL, ADMIN = {P, S}, {P}, {S}

# Who may open each page; everyone else gets 403 or 404 (anonymous: the login page).
POLICY = {
    "home": {P, S, T},
    "healthz": {P, S, T, A},
    "login": {A},
    "password_change": {P, S, T},
    "password_change_done": {P, S, T},
    "core:setup": ADMIN,
    "core:setup_clinic": ADMIN,
    "core:setup_hours": ADMIN,
    "core:setup_closures": ADMIN,
    "core:setup_rooms": ADMIN,
    "core:setup_practitioner": ADMIN,
    "patients:list": STAFF,
    "patients:create": STAFF,
    "patients:detail": STAFF,
    "patients:edit": STAFF,
    "patients:access_history": CLINICAL,
    "treatment_sessions:calendar": STAFF,
    "treatment_sessions:calendar_week_for": STAFF,
    "treatment_sessions:to_book": STAFF,
    "treatment_sessions:book": STAFF,
    "treatment_sessions:session": STAFF,
    "treatment_sessions:move": STAFF,
    "treatment_sessions:cancel": STAFF,
    "treatment_sessions:patient_ics": STAFF,
    "treatment_sessions:outbox": STAFF,
    "treatment_sessions:no_show": STAFF,
    "treatment_sessions:feed": {P, S, T, A},  # the secret is the URL
    "aftercare:mine": {T},
    "aftercare:link": {P, S, T, A},
    "aftercare:link_pdf": {P, S, T, A},  # the secret is the URL
}
POST_ONLY = {
    "logout",
    "screening:evaluate",
    "plans:activate",
    "plans:stop",
    "plans:complete",
    "plans:flags",
    "plans:consent_withdraw",
    "aftercare:revoke",
    "screening:prescriber_decision",
    "treatment_sessions:addendum",
    "treatment_sessions:no_show",
}


def url_names():
    names = []

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.append(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    return names


@pytest.fixture
def world(clinic, alice, sam, pat, room):
    """Another patient with everything: screening, plan, consent, sessions, chart, photo, sheet."""
    for day in range(7):
        WorkingHours.objects.get_or_create(
            practitioner=alice, weekday=day, starts=datetime.time(7), ends=datetime.time(21)
        )
    other = PatientFactory(given_name="Other", family_name="Person")
    done = signed_session(alice, room, other, indication="cellulite", areas=("thighs",), events=("bruising",))
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
    own = signed_session(alice, room, pat, start=done.starts_at + datetime.timedelta(hours=2), next_in_days=0)
    sheet, own_sheet = sheet_for(done), sheet_for(own)
    return {
        "patient": other,
        "session": upcoming,
        "done": done,
        "plan": done.plan,
        "consent": consent,
        "screening": done.day_check,
        "photo": photo,
        "sheet": sheet,
        "own_sheet": own_sheet,
        "link": link_create(sheet),
        "feed": feed_create(owner=alice),
        "product": None,
        "rx_screening": screened(
            PatientFactory(given_name="Rx", family_name="Person"), alice, medications=["warfarin"]
        ),
    }


def args_for(name, world, alice):
    from mesoclinic.plans.models import Product

    product, _ = Product.objects.get_or_create(name="Matrix", manufacturer="Test")
    by_name = {
        "core:setup_practitioner": [alice.pk],
        "patients:detail": [world["patient"].pk],
        "patients:edit": [world["patient"].pk],
        "patients:access_history": [world["patient"].pk],
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
        "treatment_sessions:calendar_week_for": ["practitioner", alice.pk, datetime.date.today().isoformat()],
        "treatment_sessions:feed": [world["feed"]],
        "treatment_sessions:book": [world["plan"].pk],
        "treatment_sessions:patient_ics": [world["patient"].pk],
        "photos:file": [world["photo"].pk],
        "photos:thumbnail": [world["photo"].pk],
        "photos:compare": [world["patient"].pk],
        "aftercare:sheet": [world["sheet"].pk],
        "aftercare:sheet_pdf": [world["sheet"].pk],
        "aftercare:revoke": [world["sheet"].pk],
        "aftercare:link": [world["link"]],
        "aftercare:link_pdf": [world["link"]],
    }
    if name in by_name:
        return by_name[name]
    if name.startswith(("treatment_sessions:", "photos:")) and name not in (
        "treatment_sessions:today",
        "treatment_sessions:calendar",
        "treatment_sessions:to_book",
        "treatment_sessions:feed_settings",
        "treatment_sessions:outbox",
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
        allowed = POLICY.get(name, CLINICAL)
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
            elif code not in (403, 404):
                problems.append(f"{role} {method.upper()} {url}: {code}, expected 403 or 404")
    print(f"access matrix: {len(names)} URL patterns x {len(by_role)} roles = {checked} requests")
    assert not problems, "\n".join(problems)


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
            "treatment_sessions:cancel",
            "treatment_sessions:move",
            "screening:new",
            "aftercare:revoke",
            "logout",
        ):
            url = reverse(name, args=args_for(name, world, alice))
            response = client.post(url, {"reason": "x"})
            if response.status_code != 403:
                refused.append(f"{role} {name}: {response.status_code}")
    assert not refused, refused
