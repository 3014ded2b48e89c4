"""The Django admin, as the technical superuser meets it: every page of every registered model
opens, accounts with a history are deactivated (never deleted), and reading clinical data in
the admin is recorded like reading it in the app."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from mesoclinic.core.admin import PatientDataAdmin
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Absence, AuditEntry, Closure, OpeningHours, User, WorkingHours
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Product
from tests.builders import PatientFactory, consented, plan_for, screened

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "correct horse battery")


@pytest.fixture
def root_client(root):
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def one_of_each(clinic, alice, patient, rf):
    """At least one row of every model the admin shows (the knowledge base comes with the
    database: rules, terms, sources, protocols, products)."""
    plan = plan_for(patient, alice)
    screened(patient, alice)
    consented(plan, alice)
    Closure.objects.create(starts_on=datetime.date(2030, 1, 1), ends_on=datetime.date(2030, 1, 2), reason="New Year")
    Absence.objects.create(practitioner=alice, starts_on=datetime.date(2030, 2, 1), ends_on=datetime.date(2030, 2, 3))
    Group.objects.create(name="Front desk")
    Product.objects.create(name="Hydra Boost", manufacturer="Meso Labs")
    AccessAttempt.objects.create(username="mallory", ip_address="10.0.0.9", failures_since_start=1)
    AccessLog.objects.create(username="alice", ip_address="10.0.0.1")
    AccessFailureLog.objects.create(username="mallory", ip_address="10.0.0.9", locked_out=False)
    request = rf.get("/")
    request.user = alice
    record_view(request, patient, "patient record")
    missing = [model._meta.label for model in REGISTERED if not model._default_manager.exists()]
    assert not missing, f"no row to open in the admin for {missing}"


def admin_url(model, page, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def permissions(model, request):
    model_admin = admin.site._registry[model]
    return model_admin.has_add_permission(request), model_admin.has_delete_permission(request)


@pytest.mark.parametrize("model", REGISTERED, ids=[model._meta.label for model in REGISTERED])
def test_every_admin_page_of_the_model_opens(model, root_client, root, one_of_each, rf):
    request = rf.get("/admin/")
    request.user = root
    may_add, may_delete = permissions(model, request)
    obj = model._default_manager.order_by("pk").first()
    model_admin = admin.site._registry[model]

    pages = {
        "changelist": (admin_url(model, "changelist"), 200),
        "add": (admin_url(model, "add"), 200 if may_add else 403),
        "change": (admin_url(model, "change", obj.pk), 200),
        "history": (admin_url(model, "history", obj.pk), 200),
        "delete": (admin_url(model, "delete", obj.pk), 200 if may_delete else 403),
    }
    if model_admin.search_fields:
        pages["search"] = (admin_url(model, "changelist") + "?q=a", 200)
    root_client.raise_request_exception = False  # every page's answer, not only the first failure's
    answers = {name: answer(root_client, url) for name, (url, _) in pages.items()}
    assert answers == {name: expected for name, (_, expected) in pages.items()}


def answer(client, url):
    """The status, or the exception behind a 500: `TemplateDoesNotExist: admin/widgets/date.html`."""
    response = client.get(url)
    if response.exc_info:
        return f"{response.exc_info[0].__name__}: {response.exc_info[1]}"
    return response.status_code


def test_the_index_pages_and_the_password_page_open(root_client, root):
    urls = [reverse("admin:index"), reverse("admin:auth_user_password_change", args=[root.pk])]
    urls += [reverse("admin:app_list", args=[label]) for label in {m._meta.app_label for m in REGISTERED}]
    assert {url: root_client.get(url).status_code for url in urls} == dict.fromkeys(urls, 200)


def test_every_registered_model_that_holds_patient_data_records_who_read_it():
    patient_data = {
        model._meta.label
        for model in REGISTERED
        if model is Patient or any(f.related_model is Patient for f in model._meta.fields)
    }
    audited = {model._meta.label for model, a in admin.site._registry.items() if isinstance(a, PatientDataAdmin)}
    assert patient_data == audited == {"patients.Patient", "screening.Screening", "plans.Plan", "plans.Consent"}


# --- Staff accounts: deactivated, never deleted --------------------------------------------


@pytest.fixture
def departed(alice, patient, rf):
    """Alice has read a patient's record: the audit trail names her."""
    request = rf.get("/")
    request.user = alice
    record_view(request, patient, "patient record")
    return alice


def test_a_user_the_audit_trail_names_cannot_be_deleted_in_the_model(departed):
    with pytest.raises(ProtectedError):
        departed.delete()
    assert User.objects.filter(pk=departed.pk).exists()
    assert AuditEntry.objects.filter(actor=departed).count() == 1


def test_the_admin_refuses_to_delete_a_user_with_a_history_and_says_why(root_client, departed):
    url = admin_url(User, "delete", departed.pk)
    page = root_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cannot delete" in text
    assert "1 audit entry" in text
    assert "Deactivate" in text

    answer = root_client.post(url, {"post": "yes"})
    assert answer.status_code == 200
    assert "Cannot delete" in answer.content.decode()
    assert User.objects.filter(pk=departed.pk).exists()


def test_the_bulk_delete_action_refuses_too(root_client, departed):
    answer = root_client.post(
        admin_url(User, "changelist"), {"action": "delete_selected", "_selected_action": [departed.pk], "post": "yes"}
    )
    assert answer.status_code == 200
    assert "Cannot delete" in answer.content.decode()
    assert User.objects.filter(pk=departed.pk).exists()


def test_a_content_type_the_audit_trail_names_cannot_be_deleted(departed, patient):
    with pytest.raises(ProtectedError):
        ContentType.objects.get_for_model(Patient).delete()


def test_a_user_with_no_history_can_still_be_deleted(root_client, db):
    mistake = User.objects.create_user("typo", password="x")
    answer = root_client.post(admin_url(User, "delete", mistake.pk), {"post": "yes"})
    assert answer.status_code == 302
    assert not User.objects.filter(pk=mistake.pk).exists()


def test_deactivating_a_user_signs_them_out_everywhere_and_keeps_the_history(root_client, departed):
    alice_client = Client()
    alice_client.force_login(departed)
    assert alice_client.get(reverse("patients:list")).status_code == 200
    other_session = Client()
    other_session.force_login(departed)

    answer = root_client.post(
        admin_url(User, "changelist"),
        {"action": "deactivate_and_sign_out", "_selected_action": [departed.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    assert "Deactivated 1 account" in answer.content.decode()
    departed.refresh_from_db()
    assert not departed.is_active
    assert not any(s.get_decoded().get("_auth_user_id") == str(departed.pk) for s in Session.objects.all())
    assert alice_client.get(reverse("patients:list")).status_code == 302  # back to sign-in
    assert AuditEntry.objects.filter(actor=departed).count() == 1


def test_unticking_active_on_the_change_page_signs_the_user_out(root_client, departed):
    alice_client = Client()
    alice_client.force_login(departed)
    form = {
        "username": departed.username,
        "first_name": departed.first_name,
        "last_name": departed.last_name,
        "email": departed.email,
        "role": departed.role,
        "title": departed.title,
        "date_joined_0": "2024-01-01",
        "date_joined_1": "09:00:00",
        # is_active left out: unticked
    }
    answer = root_client.post(admin_url(User, "change", departed.pk), form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    departed.refresh_from_db()
    assert not departed.is_active
    assert not any(s.get_decoded().get("_auth_user_id") == str(departed.pk) for s in Session.objects.all())


# --- Reading clinical data in the admin is recorded ---------------------------------------


def views_of(patient):
    return AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS)


@pytest.fixture
def records(clinic, alice, patient):
    plan = plan_for(patient, alice)
    screening = screened(patient, alice)
    consent = consented(plan, alice)
    return {"patient": patient, "screening": screening, "plan": plan, "consent": consent}


@pytest.mark.parametrize("kind", ["patient", "screening", "plan", "consent"])
def test_opening_a_clinical_record_in_the_admin_is_recorded(kind, records, root_client, root, patient):
    obj = records[kind]
    before = views_of(patient).count()
    assert root_client.get(admin_url(type(obj), "change", obj.pk)).status_code == 200
    entries = list(views_of(patient).order_by("pk"))[before:]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == root
    assert entry.object_pk == str(obj.pk)
    assert entry.additional_data["page"].startswith("admin: ")
    assert entry.additional_data["path"] == admin_url(type(obj), "change", obj.pk)


@pytest.mark.parametrize("kind", ["patient", "screening", "plan", "consent"])
def test_listing_clinical_records_in_the_admin_records_each_patient_shown(kind, records, root_client, root):
    other = PatientFactory()
    model = type(records[kind])
    answer = root_client.get(admin_url(model, "changelist"))
    assert answer.status_code == 200
    shown = {entry.patient_id for entry in AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS, actor=root)}
    assert records["patient"].pk in shown
    if kind == "patient":
        assert other.pk in shown


def test_the_history_page_of_a_clinical_record_is_recorded_too(records, root_client, patient):
    before = views_of(patient).count()
    root_client.get(admin_url(type(patient), "history", patient.pk))
    assert views_of(patient).count() == before + 1


def test_opening_a_page_that_holds_no_patient_data_writes_no_entry(root_client, one_of_each):
    before = AuditEntry.objects.count()
    root_client.get(admin_url(OpeningHours, "changelist"))
    root_client.get(admin_url(WorkingHours, "changelist"))
    assert AuditEntry.objects.count() == before
