#!/usr/bin/env python
"""`make bench`: every benchmark, on a database seeded at clinic scale.

DATABASE_URL names the benchmark database (PostgreSQL by default, created if missing).
The first run seeds 100,000 patients and 52 weeks of sessions; later runs reuse them.
Run one benchmark with: tests/benchmarks/run.py patients
"""

import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")


def production_environment():
    """The benchmarks measure production, as README "Production" configures it: DJANGO_DEBUG=0 with
    its secret key and hosts, the collected static files (the manifest storage) and HTTPS behind a
    proxy (the clients send X-Forwarded-Proto). The load benchmark's gunicorn inherits all of it.
    A secret key of the run's own is fine: the sessions it signs live only as long as the run."""
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
    os.environ.setdefault("DJANGO_STATIC_ROOT", str(ROOT / "var" / "bench-static"))
    # Production would send mail by SMTP; nothing a benchmark does may reach a real server.
    os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")


BENCHMARKS = ["patients", "screening", "scheduling", "aftercare", "outcomes", "load"]


def ensure_postgres_database(url):
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        dbname="postgres", user=parts.username, password=parts.password, host=parts.hostname, port=parts.port
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def main(selected):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        ensure_postgres_database(url)
    production_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tests.benchmarks.harness import Report

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.monotonic()
    # The benchmark database is its own, run with production settings: its demo users' known
    # passwords are allowed there (seed_demo refuses them in production otherwise).
    call_command("seed_demo", patients=100_000, weeks=52, allow_known_passwords=True, verbosity=0)
    print(f"Seeded (or checked) the scale data in {time.monotonic() - started:.1f} s", flush=True)

    report = Report()
    for name in selected or BENCHMARKS:
        module = __import__(f"tests.benchmarks.bench_{name}", fromlist=["run"])
        print(f"\n== {name} ==", flush=True)
        module.run(report)
    failures = report.failures()
    if failures:
        print(f"\n{len(failures)} benchmark(s) missed their target:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nAll benchmarks within their targets.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
