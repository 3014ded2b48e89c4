"""Small helpers the benchmarks share: timing, query counting and a printed report."""

import statistics
import time
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parents[2]


def timed(fn, repeat=30, warmup=3):
    """Median and 95th percentile wall time of fn(), in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p95_ms": samples[max(0, int(len(samples) * 0.95) - 1)],
        "n": repeat,
    }


def busiest_day(practitioner):
    """The day the practitioner has the most sessions on (the fullest week and day views)."""
    from django.db.models import Count

    from mesoclinic.treatment_sessions.models import TreatmentSession

    busiest = (
        TreatmentSession.objects.filter(practitioner=practitioner)
        .values("starts_at__date")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return busiest["starts_at__date"] if busiest else None


def client_for(user):
    # The benchmarks run in production mode (run.py): requests come through the TLS proxy.
    client = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


def page_timing(client, url, repeat=30, expect=200, data=None, **extra):
    """Server time of one page through the whole Django stack (no network), and its queries.

    With `data` it is a POST of that form data, as htmx sends it.
    """

    def request():
        if data is None:
            return client.get(url, **extra)
        return client.post(url, data, **extra)

    response = request()
    assert response.status_code == expect, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        request()
    # Count now: the captured slice is read from a log that later requests reset.
    query_count = len(queries)
    result = timed(request, repeat=repeat)
    result["queries"] = query_count
    return result


class Report:
    def __init__(self):
        self.rows = []
        self.missed = []

    def miss(self, name, why):
        """A target missed that is not a median time (throughput, tail latency, errors)."""
        self.missed.append((name, why))
        print(f"  MISSED {name}: {why}", flush=True)

    def add(self, name, result, target_ms=None, note=""):
        self.rows.append((name, result, target_ms, note))
        verdict = ""
        if target_ms is not None:
            verdict = "OK " if result["median_ms"] <= target_ms else "SLOW"
            verdict += f" (target < {target_ms} ms)"
        queries = f"{result['queries']:>3} queries" if "queries" in result else ""
        print(
            f"  {name:<58} median {result['median_ms']:8.2f} ms  p95 {result['p95_ms']:8.2f} ms  {queries}  {verdict} {note}",
            flush=True,
        )

    def failures(self):
        slow = [row[0] for row in self.rows if row[2] is not None and row[1]["median_ms"] > row[2]]
        return slow + [f"{name}: {why}" for name, why in self.missed]
