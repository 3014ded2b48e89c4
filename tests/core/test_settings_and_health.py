import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse

from mesoclinic.core import health
from mesoclinic.screening.models import Rule

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


@pytest.fixture(autouse=True)
def _fresh_health_checks():
    """/healthz remembers the deploy-time checks that passed; each test asks them afresh."""
    health.forget_passed_checks()
    yield
    health.forget_passed_checks()


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200
    assert body["database"]["state"] == "up"
    assert body["broker"]["state"] == "up"


@pytest.mark.django_db
def test_healthz_also_says_pages_can_render_static_files_migrations_and_knowledge_base(client):
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert set(body) == {"status", "database", "broker", "static", "migrations", "knowledge"}
    assert {key: body[key]["state"] for key in body if key != "status"} == dict.fromkeys(set(body) - {"status"}, "up")
    assert body["knowledge"]["rules"] > 0


def _manifest_storage(settings, root):
    settings.STATIC_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }


@pytest.mark.django_db
def test_healthz_is_503_in_production_when_collectstatic_wrote_no_manifest(client, settings, tmp_path):
    """Every page's {% static %} raises without the manifest: the pages are 500s, so healthz must not be ok."""
    _manifest_storage(settings, tmp_path)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["static"]["state"] == "down"
    assert body["static"]["storage"] == "manifest"
    assert "css/app.css" in body["static"]["missing"]
    assert body["database"]["state"] == "up"


@pytest.mark.django_db
def test_healthz_is_ok_with_a_manifest_whose_files_are_there(client, settings, tmp_path):
    paths = {}
    for name in health.KNOWN_ASSETS:
        stored = name.replace(".", ".0123456789ab.", 1) if name.count(".") == 1 else name
        (tmp_path / stored).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / stored).write_text("/* collected */")
        paths[name] = stored
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1", "hash": "x"}))
    _manifest_storage(settings, tmp_path)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    assert response.json()["static"] == {"state": "up", "storage": "manifest"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_manifest_names_a_file_that_is_not_on_disk(client, settings, tmp_path):
    paths = {name: name for name in health.KNOWN_ASSETS}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1", "hash": "x"}))
    _manifest_storage(settings, tmp_path)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert set(response.json()["static"]["missing"]) == set(health.KNOWN_ASSETS)


@pytest.mark.django_db
def test_healthz_remembers_a_passed_static_check_for_the_life_of_the_process(client, settings, tmp_path):
    """It is called every few seconds: what only a deploy changes is not checked again once it passed."""
    assert client.get(reverse("healthz")).status_code == 200
    _manifest_storage(settings, tmp_path)  # would fail, if it were asked again
    assert client.get(reverse("healthz")).json()["static"]["state"] == "up"
    health.forget_passed_checks()
    assert client.get(reverse("healthz")).json()["static"]["state"] == "down"


@pytest.mark.django_db
def test_healthz_is_503_while_a_migration_is_not_applied(client):
    """As after a deploy whose `migrate` failed or was forgotten (rolled back with the test)."""
    latest = MigrationRecorder.Migration.objects.filter(app="core").order_by("-applied", "-id").first()
    latest.delete()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    migrations = response.json()["migrations"]
    assert migrations["state"] == "down"
    assert migrations["unapplied"] >= 1
    assert migrations["next"].startswith("core.")


@pytest.mark.django_db
def test_healthz_is_503_when_the_knowledge_base_is_not_loaded(client):
    Rule.objects.all().delete()  # a database that never ran load_knowledge has no rules
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    knowledge = response.json()["knowledge"]
    assert knowledge["state"] == "down"
    assert "load_knowledge" in knowledge["error"]


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


def _settings_shown(*names, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_BROKER_URL"))}
    environment.update(env, DJANGO_SETTINGS_MODULE="mesoclinic.settings")
    code = "from mesoclinic import settings as s; " + "; ".join(f"print(repr(s.{name}))" for name in names)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_there_are_two_modes_and_debug_pages_only_when_asked_for(tmp_path):
    """Development (unset or 1) and production (0). The debug pages are on only for `make run`,
    which sets DJANGO_DEBUG=1: "on for run, off otherwise" (contracts.md)."""
    var = str(tmp_path / "var")
    assert _settings_shown("PRODUCTION", "DEBUG", MESOCLINIC_VAR_DIR=var) == ["False", "False"]
    assert _settings_shown("PRODUCTION", "DEBUG", DJANGO_DEBUG="1", MESOCLINIC_VAR_DIR=var) == ["False", "True"]
    production = _settings_shown(
        "PRODUCTION",
        "DEBUG",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_ALLOWED_HOSTS="clinic.example.com",
        MESOCLINIC_VAR_DIR=var,
    )
    assert production == ["True", "False"]


def test_beats_schedule_folder_exists_whatever_the_broker(tmp_path):
    """`celery beat` opened var/celery/beat-schedule.dat, and the folder was made only for the file broker."""
    var = tmp_path / "fresh-clone-var"
    (schedule,) = _settings_shown(
        "CELERY_BEAT_SCHEDULE_FILENAME", CELERY_BROKER_URL="redis://127.0.0.1:6379/11", MESOCLINIC_VAR_DIR=str(var)
    )
    assert Path(eval(schedule)).parent.is_dir()


def test_collectstatic_with_the_manifest_processes_pdf_css_and_its_fonts(settings, tmp_path):
    """pdf.css once named its fonts relative to a folder it is not in, and collectstatic stopped there
    (production's storage is this one plus compression; .ci/production-smoke runs the real thing)."""
    from django.core.management import call_command

    root = tmp_path / "static"
    settings.STATIC_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    collected_css = (root / paths["css/pdf.css"]).read_text()
    fonts = re.findall(r'url\("([^"]+)"\)', collected_css)
    assert len(fonts) == (Path(settings.BASE_DIR) / "static" / "css" / "pdf.css").read_text().count("url(")
    for font in fonts:
        assert (root / "css" / font).resolve().is_file(), font
        assert font.startswith("../vendor/noto-sans/") and re.search(r"\.[0-9a-f]{12}\.woff2$", font)  # hashed


@pytest.mark.django_db
def test_pdfs_draw_with_the_apps_own_noto_sans_not_a_system_font():
    from pypdf import PdfReader

    from mesoclinic.core.pdf import html_to_pdf

    reader = PdfReader(io.BytesIO(html_to_pdf("<h1>Bakım</h1><p>Şişlik ve <b>kızarıklık</b></p>")))
    fonts = {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("Noto-Sans" in font for font in fonts), fonts
