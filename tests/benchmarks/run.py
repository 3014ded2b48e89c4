#!/usr/bin/env python
"""`make bench`: every benchmark, on ten years of a clinic chain, and the chain against a tenth.

DATABASE_URL names the benchmark database (PostgreSQL by default, created if missing). The
first run seeds it with `seed_demo --scale chain` (100,000 patients, 1,000,000 sessions,
10,000,000 audit entries: minutes), and a second database, BENCH_TENTH_DATABASE_URL (by
default the same name with `_tenth`), with a tenth of it; later runs reuse both.
Run one benchmark with: tests/benchmarks/run.py patients
Only the chain against the tenth (issue 19's flat pages): tests/benchmarks/run.py scale
"""

import json
import os
import secrets
import subprocess
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
SCALE_RESULT = "SCALE-RESULT "


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


def prepare(scale):
    """Migrate, collect the static files and seed this process's database at `scale`."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        ensure_postgres_database(url)
    production_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.monotonic()
    # The benchmark database is its own, run with production settings: its demo users' known
    # passwords are allowed there (seed_demo refuses them in production otherwise).
    call_command("seed_demo", scale=scale, allow_known_passwords=True, verbosity=1)
    print(f"Seeded (or checked) the {scale} scale data in {time.monotonic() - started:.1f} s", flush=True)
    # The clinic outcomes page of a clinic this size shows what beat's hourly task counted; a
    # database seeded a moment ago has not been counted yet (the page would say so, and be
    # measured empty). Count it once, as beat would within the hour.
    from mesoclinic.outcomes.models import ClinicOutcomes
    from mesoclinic.outcomes.tasks import count_clinic_outcomes

    if not ClinicOutcomes.objects.exists():
        started = time.monotonic()
        count_clinic_outcomes()
        print(f"Counted the clinic outcomes in {time.monotonic() - started:.1f} s", flush=True)


def tenth_url(chain_url):
    parts = urlparse(chain_url)
    return parts._replace(path=parts.path.rstrip("/") + "_tenth").geturl()


def measure_scale(scale, url):
    """Seed (first time) and measure one scale in a process of its own; its results."""
    env = {**os.environ, "DATABASE_URL": url}
    child = subprocess.run(
        [sys.executable, __file__, "--measure-scale", scale], env=env, stdout=subprocess.PIPE, text=True, check=False
    )
    results = None
    for line in child.stdout.splitlines():
        if line.startswith(SCALE_RESULT):
            results = json.loads(line[len(SCALE_RESULT) :])
        else:
            print(f"  [{scale}] {line}", flush=True)
    if child.returncode or results is None:
        raise SystemExit(f"Measuring the {scale} scale failed (exit {child.returncode}).")
    return results


def scale_comparison():
    """Issue 19's flat pages: each page on the tenth and on the chain. Returns what missed."""
    from tests.benchmarks.bench_scale import compare

    chain = os.environ["DATABASE_URL"]
    tenth = os.environ.get("BENCH_TENTH_DATABASE_URL") or tenth_url(chain)
    print("\n== scale: the chain against a tenth ==", flush=True)
    small = measure_scale("tenth", tenth)
    big = measure_scale("chain", chain)
    lines, missed = compare(small, big)
    print(f"  median server time, production settings; tenth: {tenth}, chain: {chain}")
    for line in lines:
        print("  " + line, flush=True)
    return missed


def main(selected):
    if selected[:1] == ["--measure-scale"]:
        prepare(selected[1])
        from tests.benchmarks.bench_scale import measure

        print(SCALE_RESULT + json.dumps(measure()), flush=True)
        return 0
    if selected == ["scale"]:
        missed = scale_comparison()
        for failure in missed:
            print(f"  - {failure}")
        return 1 if missed else 0
    prepare("chain")
    from tests.benchmarks.harness import Report

    report = Report()
    for name in selected or BENCHMARKS:
        module = __import__(f"tests.benchmarks.bench_{name}", fromlist=["run"])
        print(f"\n== {name} ==", flush=True)
        module.run(report)
    failures = report.failures()
    if not selected:
        failures += scale_comparison()
    if failures:
        print(f"\n{len(failures)} benchmark(s) missed their target:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nAll benchmarks within their targets.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
