import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key_and_hosts():
    result = _manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_refuses_to_start_without_hosts():
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k3y-" + "pQ7vX2mZ9rT4wY8uB1nC6eA0sD5fG3hJ" * 2,
        DJANGO_ALLOWED_HOSTS="clinic.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200
    assert body["database"]["state"] == "up"
    assert body["broker"]["state"] == "up"


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"]["state"] == "down"
    assert response.json()["database"]["state"] == "up"


def test_the_embedded_brokers_control_folder_is_under_var_not_the_working_folder():
    """kombu keeps its exchange tables in ./control unless told otherwise: once it was
    committed to the repository from a worker started at the top of the checkout."""
    from django.conf import settings as django_settings

    tracked = subprocess.run(
        ["git", "ls-files", "control"], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True
    )
    assert tracked.stdout == ""
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}  # the default
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mesoclinic import settings as s; "
            "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['control_folder']); print(s.VAR_DIR)",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "mesoclinic.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(shown[0]).is_relative_to(Path(shown[1]))
    assert django_settings.VAR_DIR.name == "var" or "MESOCLINIC_VAR_DIR" in os.environ
