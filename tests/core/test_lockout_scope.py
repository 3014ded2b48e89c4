"""The lockout is what the README says it is: per username and client address together."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

RIGHT = "correct horse battery"


def _sign_in(username, password, address):
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failures_lock_that_username_at_that_address_only(alice, sam):
    for _ in range(3):
        _sign_in("alice", "wrong", "198.51.100.7")
    assert _sign_in("alice", RIGHT, "198.51.100.7").status_code == 429
    # the same account from another address, and another account from the same address, still sign in
    assert _sign_in("alice", RIGHT, "203.0.113.9").status_code == 302
    assert _sign_in("sam", RIGHT, "198.51.100.7").status_code == 302
