"""Pages under load: gunicorn as production runs it, wrk as twenty clients, in this run.

The server gets 2 x cores + 1 sync workers on the benchmark database; wrk runs in its own
process and keeps 20 connections busy against each URL in turn. The yardstick is the signed-in
page that draws only the layout (`/calendar/feed/`: the session, the user, the middleware, the
navigation and one small query): each graded page (the patient page of the busiest patient, the
screening page, the week calendar) must reach half its throughput in the same run, with a 99th
percentile under 100 ms (issue 19). The bare view (the middleware stack, no session) and the
sign-in page are printed beside them, as yardsticks of the machine. A shared machine is noisy:
what counts is the share within one run, not the requests per second themselves.

MESOCLINIC_LOAD_PATIENT names the patient of the patient and screening pages (the default: the
one with the most sessions, which costs a scan of the sessions on a chain-sized database).
"""

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.db.models import Count

from mesoclinic.core.models import User
from mesoclinic.treatment_sessions.models import TreatmentSession
from tests.benchmarks.harness import ROOT, busiest_day, client_for

CONNECTIONS = 20
SECONDS = int(os.environ.get("MESOCLINIC_LOAD_SECONDS", 15))
MIN_SHARE_OF_LAYOUT = 0.5
P99_TARGET_MS = 100
LAYOUT = "signed-in, layout only"
# What the TLS-terminating proxy in front of production adds (README, Production).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def run(report):
    wrk = shutil.which("wrk")
    if wrk is None:
        report.miss("load", "wrk is not installed: `make bench` installs Debian's wrk")
        return
    practitioner = User.objects.get(username="practitioner")
    scheduler = User.objects.get(username="scheduler")
    patient_id, week_url = _busiest_patient_and_week(practitioner)
    clinical = _session_cookie(practitioner)
    front_desk = _session_cookie(scheduler)
    # The first three rows are yardsticks; the last three are the pages with the targets.
    targets = [
        ("bare Django view", "/bench/bare", None, False),
        ("sign-in page", "/accounts/login/", None, False),
        (LAYOUT, "/calendar/feed/", clinical, False),
        ("patient page", f"/patients/{patient_id}/", clinical, True),
        ("screening page", f"/patients/{patient_id}/screenings/new/", clinical, True),
        ("week calendar", week_url, front_desk, True),
    ]
    workers = 2 * os.cpu_count() + 1
    print(f"  gunicorn: {workers} sync workers; wrk: {CONNECTIONS} connections, {SECONDS} s per URL")
    with Gunicorn(workers) as server:
        rows = []
        for label, path, cookie, graded in targets:
            server.check(path, cookie)
            _wrk(wrk, server.url + path, cookie, seconds=2)  # warm every worker's caches and connections
            rows.append((label, graded, _wrk(wrk, server.url + path, cookie, seconds=SECONDS)))
    layout_rps = next(result["rps"] for label, _graded, result in rows if label == LAYOUT)
    print(
        f"\n  {'page':<24} {'req/s':>8} {'share':>7} {'p50 ms':>8} {'p99 ms':>8}  errors   (share: of the layout page)"
    )
    for label, graded, result in rows:
        share = result["rps"] / layout_rps
        print(
            f"  {label:<24} {result['rps']:8.0f} {share:7.0%} {result['p50_ms']:8.1f} {result['p99_ms']:8.1f}"
            f"  {result['errors']}"
        )
        if result["errors"]:
            report.miss(label, f"{result['errors']} failed or non-2xx responses")
        if graded and result["p99_ms"] >= P99_TARGET_MS:
            report.miss(label, f"p99 {result['p99_ms']:.0f} ms (target < {P99_TARGET_MS} ms)")
        if graded and share < MIN_SHARE_OF_LAYOUT:
            report.miss(label, f"{share:.0%} of the layout page's throughput (target >= {MIN_SHARE_OF_LAYOUT:.0%})")


def _busiest_patient_and_week(practitioner):
    """The patient with the most sessions (the fullest hub) and the practitioner's busiest week."""
    patient = os.environ.get("MESOCLINIC_LOAD_PATIENT")
    if not patient:
        busiest = TreatmentSession.objects.values("patient").annotate(n=Count("id")).order_by("-n")
        patient = busiest.values_list("patient", flat=True)[0]
    day = busiest_day(practitioner)
    week = f"/calendar/?view=week&by=practitioner&practitioner={practitioner.pk}&date={day.isoformat()}"
    return int(patient), week


def _session_cookie(user):
    """A signed-in session stored in the benchmark database, which the server reads."""
    client = client_for(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Gunicorn:
    def __init__(self, workers):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers

    def __enter__(self):
        env = {
            **os.environ,
            "DATABASE_URL": os.environ["DATABASE_URL"],
            # Production, as run.py set it up (DJANGO_DEBUG=0, key, hosts, collected static files);
            # the requests come as a TLS proxy forwards them, with X-Forwarded-Proto: https.
            "DJANGO_DEBUG": "0",
            "MESOCLINIC_BENCHMARK_VIEWS": "1",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "mesoclinic.wsgi",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "256",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self._get("/bench/bare", None)
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def _get(self, path, cookie):
        http_connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {**PROXY_HEADERS, **({"Cookie": cookie} if cookie else {})}
        http_connection.request("GET", path, headers=headers)
        response = http_connection.getresponse()
        body = response.read()
        http_connection.close()
        return response.status, body

    def check(self, path, cookie):
        """The page itself, not a redirect to the login page or an error, is what gets measured."""
        status, body = self._get(path, cookie)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}, not 200: {body[:300]!r}")


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk(wrk, url, cookie, seconds):
    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    command += [arg for name, value in PROXY_HEADERS.items() for arg in ("-H", f"{name}: {value}")]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    percentile = {
        level: float(value) * UNITS_MS[unit]
        for level, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": percentile["50"],
        "p99_ms": percentile["99"],
        "errors": errors,
    }
