import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from mesoclinic.core.middleware import SESSION_KEY

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_lands_on_the_start_page(alice):
    client = Client()
    response = client.post(reverse("login"), {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get(reverse("patients:list")).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_even_with_the_right_password(alice):
    client = Client()
    for _ in range(3):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_passwords_follow_the_rules(alice_client):
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": "correct horse battery", "new_password1": "12345", "new_password2": "12345"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "too short" in page
    assert "entirely numeric" in page


def test_staff_are_signed_out_after_inactivity(alice_client, settings):
    settings.IDLE_TIMEOUT_MINUTES = 15
    session = alice_client.session
    session[SESSION_KEY] = int(time.time()) - 16 * 60
    session.save()
    response = alice_client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    # and the session is gone: the next request is anonymous
    assert alice_client.get(reverse("patients:list")).status_code == 302


def test_activity_within_the_timeout_keeps_the_session(alice_client):
    session = alice_client.session
    session[SESSION_KEY] = int(time.time()) - 5 * 60
    session.save()
    assert alice_client.get(reverse("patients:list")).status_code == 200
    # the clock was reset by that request
    assert alice_client.session[SESSION_KEY] >= int(time.time()) - 5


def test_logout_is_a_post(alice_client):
    response = alice_client.post(reverse("logout"))
    assert response.status_code == 302
    assert alice_client.get(reverse("patients:list")).status_code == 302
