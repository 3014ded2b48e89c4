"""Shared fixtures. The cast, as in the clinic: Dr. Alice is a practitioner, Sam the
scheduler runs the front desk, and Pat is a patient with a login of her own."""

import datetime
import os

import pytest
from django.db import connection
from django.test import Client

from mesoclinic.core.models import Clinic, OpeningHours, Room, WorkingHours
from tests.builders import PatientFactory, PatientUserFactory, PractitionerFactory, SchedulerFactory


def pytest_runtest_setup(item):
    """A test marked `postgres` needs PostgreSQL. On a laptop running SQLite it is skipped; in CI
    (CI set) it fails, so a CI that lost its DATABASE_URL cannot pass without those tests."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        message = f"{item.name} needs PostgreSQL (set DATABASE_URL); this run uses {connection.vendor}"
        if os.environ.get("CI"):
            pytest.fail(message + ", and CI must not skip it", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Django empties every table with one TRUNCATE after each transactional test, and the audit
    trail refuses TRUNCATE (core migration 0004): in the test database only, that trigger is
    off. tests/core/test_audit.py switches it back on to prove it refuses."""
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_truncate")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The clinic is cached for pages; a test must not see the previous test's clinic."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_knowledge_copies():
    """What processes keep per knowledge revision is rebuilt for each test (see forget_kept)."""
    from mesoclinic.screening.knowledge import forget_kept

    forget_kept()
    yield
    forget_kept()


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture
def alice(db):
    return PractitionerFactory(username="alice", first_name="Alice", last_name="Hart")


@pytest.fixture
def sam(db):
    return SchedulerFactory(username="sam", first_name="Sam", last_name="Reed")


@pytest.fixture
def pat(db):
    """A patient record with its own login."""
    user = PatientUserFactory(username="pat", first_name="Pat", last_name="Lowe")
    return PatientFactory(given_name="Pat", family_name="Lowe", user=user)


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Ayla", family_name="Demir")


CLINIC_ZONE = "Europe/London"  # a zone with daylight saving, so tests meet it


@pytest.fixture
def clinic(db, alice):
    """Open Monday to Saturday 08:00-20:00 in London; Alice works all those hours; two rooms."""
    clinic = Clinic.current()
    clinic.timezone = CLINIC_ZONE
    clinic.save()
    for day in range(6):
        OpeningHours.objects.create(weekday=day, starts=datetime.time(8), ends=datetime.time(20))
        WorkingHours.objects.create(practitioner=alice, weekday=day, starts=datetime.time(8), ends=datetime.time(20))
    Room.objects.create(name="Room 1")
    Room.objects.create(name="Room 2")
    return Clinic.current()


@pytest.fixture
def room(clinic):
    return Room.objects.get(name="Room 1")


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice):
    return _client_for(alice)


@pytest.fixture
def sam_client(sam):
    return _client_for(sam)


@pytest.fixture
def pat_client(pat):
    return _client_for(pat.user)
