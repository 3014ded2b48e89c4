"""Screening speed: the marginal cost of one screening in `screen` batch mode (target 0.5 ms),
and the live-evaluation request the browser sends on every change (target 30 ms)."""

import datetime
import io
import json
import random
import tempfile
import time
from pathlib import Path

from django.core.management import call_command

from mesoclinic.core.models import User
from mesoclinic.patients.models import Patient
from mesoclinic.screening.knowledge import knowledge_base
from tests.benchmarks.harness import client_for, page_timing


def _batch(size, kb, seed=7):
    """Random answer sets, a fifth with something the vocabulary does not know, for a date a
    month ahead (the holds fit) or three days ahead (the week-long ones become warnings)."""
    rng = random.Random(seed)
    today = datetime.date.today()
    codes = {
        kind: sorted(code for (k, code) in kb.terms if k == kind)
        for kind in ("condition", "medication", "ingredient", "area", "indication")
    }
    batch = []
    for _ in range(size):
        batch.append(
            {
                "date_of_birth": f"{rng.randint(1950, 2005)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "on_date": (today + datetime.timedelta(days=rng.choice((3, 30)))).isoformat(),
                "pregnant": rng.random() < 0.05,
                "conditions": rng.sample(codes["condition"], rng.randint(0, 3)),
                "medications": rng.sample(codes["medication"], rng.randint(0, 3)),
                "allergies": rng.sample(codes["ingredient"], rng.randint(0, 1)),
                "areas": rng.sample(codes["area"], rng.randint(1, 3)),
                "indication": rng.choice(codes["indication"]),
                "ingredients": rng.sample(codes["ingredient"], rng.randint(1, 4)),
                "fitzpatrick_skin_type": rng.randint(1, 6),
                **(
                    {"unlisted": {"conditions": ["epilepsy"], "medications": ["fish oil"]}}
                    if rng.random() < 0.2
                    else {}
                ),
            }
        )
    return batch


def _command_seconds(path, runs=5):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call_command("screen", str(path), stdout=io.StringIO())
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2]


def run(report):
    kb = knowledge_base()
    with tempfile.TemporaryDirectory() as folder:
        one, many = Path(folder, "one.json"), Path(folder, "many.json")
        size = 5000
        one.write_text(json.dumps(_batch(1, kb)))
        many.write_text(json.dumps(_batch(size + 1, kb)))
        base, big = _command_seconds(one), _command_seconds(many)
    marginal_ms = (big - base) / size * 1000
    print(f"  screen: 1 answer set {base * 1000:.1f} ms, {size + 1} answer sets {big * 1000:.1f} ms")
    report.add(
        "screen command, marginal cost of one screening (batch)",
        {"median_ms": marginal_ms, "p95_ms": marginal_ms},
        target_ms=0.5,
    )

    client = client_for(User.objects.get(username="practitioner"))
    patient = Patient.objects.order_by("pk").first()
    url = f"/patients/{patient.pk}/screenings/evaluate/"
    data = {
        "on_date": (datetime.date.today() + datetime.timedelta(days=3)).isoformat(),
        "conditions": ["eczema", "diabetes"],
        "medications": ["aspirin", "warfarin"],
        "allergies": ["lidocaine"],
        "areas": ["face", "neck"],
        "ingredients": ["hyaluronic_acid", "lidocaine"],
        "fitzpatrick_skin_type": "4",
        "HTTP_HX_REQUEST": "true",
    }
    headers = {"HTTP_HX_REQUEST": data.pop("HTTP_HX_REQUEST")}
    report.add(
        "live evaluation request (htmx), 9 findings", page_timing(client, url, data=data, **headers), target_ms=30
    )
    report.add("screening form page", page_timing(client, f"/patients/{patient.pk}/screenings/new/"))
