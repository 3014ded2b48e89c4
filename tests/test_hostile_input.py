"""Out-of-range and malformed input never gives a 500.

Every URL pattern of the app (enumerated and filled as the access matrix does) is requested as
each role with hostile values for every query parameter the views read: days at the ends of the
calendar, years typed by mistake, integers of 5,000 digits, negative and out-of-range numbers,
NUL bytes, 10,000-character strings and garbage. Then the forms of the known cases are posted
with hostile values: booking, moving, signing in, a consent's signature. A 5xx, or an exception
escaping a view, fails the test with the URL, the parameter and the exception.
"""

import base64
import datetime
import io
from urllib.parse import quote, urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse

from mesoclinic.core.models import Role
from tests.builders import PatientFactory, active_plan, plan_for, screened
from tests.test_access_matrix import DJANGO_VIEWS, POST_ONLY, A, P, S, T, args_for, clients, url_names, world  # noqa: F401

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000  # passes str.isdigit(), overflows int() (Python's int max str digits is 4300)
BIG = "1" * 4000  # int() reads it; no database column holds it
HOSTILE = {
    "first day": "0001-01-01",
    "last day": "9999-12-31",
    "2099": "2099-01-01",
    "2206": "2206-05-04",
    "huge": HUGE,
    "big": BIG,
    "past bigint": "99999999999999999999",
    "negative": "-1",
    "NUL": "\x00",
    "NUL inside": "ab\x00cd",
    "long": "x" * 10_000,
    "garbage": "💉'\"<script>%zz[]{}\\",
    "control": "\x1b[2J\x07",
    "superscript": "²",  # str.isdigit() says yes, int() says no
}

# Every query parameter a view reads (grep request.GET, and forms bound to request.GET).
QUERY_PARAMS = {
    "scheduling:calendar": ["by", "practitioner", "room", "date", "view"],
    "scheduling:to_book": ["start_date", "start_time", "practitioner", "room"],
    "scheduling:book": ["start_date", "start_time", "practitioner", "room", "action", "pick", "session_1"],
    "session_day:today": ["date"],
    "session_day:recall": ["lot", "before", "after"],
    "session_day:recall_export": ["lot", "list"],
    "stock:list": ["show"],
    "stock:receive": ["product", "supplier"],
    "reminders:outbox": ["status", "page"],
    "patients:list": ["q", "page"],
    "patients:access_history": ["before", "after"],
    "stock:lot": ["before", "after"],
    "screening:knowledge": ["q", "severity"],
    "screening:terms": ["q"],
    "screening:new": ["areas", "ingredients", "indication"],
    "plans:new": ["indication"],
    "photos:compare": ["left", "right", "baseline", "later", "area", "mode"],
    "aftercare:sheet": ["lang"],
    "aftercare:sheet_pdf": ["lang"],
    "outcomes:link_scores": ["done"],
    "outcomes:my_scores": ["done"],
    "outcomes:report": ["lang"],
    "outcomes:report_pdf": ["lang"],
    "outcomes:clinic": ["period"],
}
ALL_PARAMS = sorted({name for names in QUERY_PARAMS.values() for name in names} | {"plan", "session_" + HUGE})
SLOW = {
    "aftercare:sheet_pdf",
    "aftercare:link_pdf",
    "plans:consent_pdf",
    "outcomes:report_pdf",
    "outcomes:link_report_pdf",
    "outcomes:my_report_pdf",
}  # a PDF per request


class Probe:
    """Requests in a savepoint each (a database error must not poison the rest of the test),
    counting them and keeping every 5xx or escaped exception with what caused it."""

    def __init__(self):
        self.count = 0
        self.problems = []

    def __call__(self, client, method, url, what, data=None):
        self.count += 1
        try:
            with transaction.atomic():
                response = getattr(client, method)(url, data or {})
                code = response.status_code
        except Exception as error:  # the point: report any of them, with the request that caused it
            self.problems.append(f"{what}: {type(error).__name__}: {str(error)[:160]}")
            return None
        if code >= 500:
            self.problems.append(f"{what}: {code}")
        return response

    def report(self, title):
        print(f"{title}: {self.count} requests, {len(self.problems)} problems")
        for problem in self.problems:
            print("  " + problem)
        assert not self.problems, "\n".join(self.problems)


def _query(params):
    return urlencode(params)


def _short(value):
    return value if len(value) <= 24 else f"{value[:12]}…({len(value)} chars)"


def test_every_url_with_hostile_query_parameters_as_every_role(world, alice, sam, pat):  # noqa: F811
    probe = Probe()
    by_role = clients(alice, sam, pat)
    for name in url_names():
        if name == "logout":
            continue
        url = reverse(name, args=args_for(name, world, alice))
        method = "post" if name in POST_ONLY else "get"
        values = list(HOSTILE.items())[:4] if name in SLOW else list(HOSTILE.items())
        view = resolve(url).func
        allowed = DJANGO_VIEWS.get(name) or set(getattr(view, "allowed_roles", ()))
        for role, client in by_role.items():
            # A role the view refuses never reaches its parameters: one request of each kind of
            # hostile value shows the refusal holds (the whole set goes to the roles it serves).
            mine = values if role in allowed else values[4::5]
            # Every parameter any view reads, all at once with one hostile value...
            for label, value in mine:
                query = _query(dict.fromkeys(ALL_PARAMS, value))
                probe(client, method, f"{url}?{query}", f"{role} {method.upper()} {name} all params={label}")
            # ...and each parameter this view reads on its own.
            for param in QUERY_PARAMS.get(name, []):
                for label, value in mine:
                    query = _query({param: value})
                    probe(client, method, f"{url}?{query}", f"{role} {method.upper()} {name} ?{param}={label}")
    probe.report("hostile query parameters")


PATH_HOSTILE = {"huge": HUGE, "past bigint": "99999999999999999999", "NUL": "a\x00b", "long": "x" * 10_000}


def test_hostile_path_arguments_never_give_a_500(world, alice, sam, pat):  # noqa: F811
    """Ids of 5,000 digits or past the database's integers, tokens and days with NUL bytes."""
    probe = Probe()
    by_role = clients(alice, sam, pat)
    for name in url_names():
        args = args_for(name, world, alice)
        if name == "logout" or not args:
            continue
        method = "post" if name in POST_ONLY else "get"
        for index in range(len(args)):
            for label, value in PATH_HOSTILE.items():
                hostile = list(args)
                hostile[index] = value
                try:
                    url = reverse(
                        name, args=[quote(str(arg), safe="") if i == index else arg for i, arg in enumerate(hostile)]
                    )
                except NoReverseMatch:
                    continue  # the pattern cannot hold it: it never reaches a view
                for role in (A, P, S):
                    probe(by_role[role], method, url, f"{role} {method.upper()} {name} arg {index}={label}")
    probe.report("hostile path arguments")


# --- Forms of the known cases, posted with hostile values ----------------------------------


def _png_data_url():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


HOSTILE_DATES = ["0001-01-01", "9999-12-31", "2099-01-01", "2206-05-04", "1899-12-31"]


def test_booking_far_and_malformed_dates_is_refused_cleanly(clinic, alice, sam, room):
    plan = active_plan(alice)
    client = Client()
    client.force_login(sam)
    url = reverse("scheduling:book", args=[plan.pk])
    probe = Probe()
    base = {"start_time": "10:00", "practitioner": alice.pk, "room": room.pk}
    soon = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()
    for day in [*HOSTILE_DATES, HUGE, "\x00", "x" * 10_000]:
        for action in ("", "book"):
            data = {**base, "start_date": day, "action": action}
            response = probe(client, "post", url, f"book start_date={_short(day)} action={action!r}", data)
            if response is not None and response.status_code == 302:
                probe.problems.append(f"book start_date={_short(day)}: booked")
        # The first date sane, a later one far away or malformed.
        for later in (f"{day}T10:00", f"{day}T25:99", day):
            data = {**base, "start_date": soon, "action": "book", "session_1": f"{soon}T10:00", "session_2": later}
            response = probe(client, "post", url, f"book session_2={_short(later)}", data)
            if response is not None and response.status_code == 302:
                probe.problems.append(f"book session_2={_short(later)}: booked")
    for key, value in (
        (f"session_{HUGE}", f"{soon}T10:00"),
        (f"session_{BIG}", f"{soon}T10:00"),
        ("pick", f"{HUGE}|{soon}T10:00"),
        ("pick", f"{BIG}|{soon}T10:00"),
        ("pick", "1|9999-12-31T23:45"),
        ("pick", "1|0001-01-01T00:00"),
        ("practitioner", HUGE),
        ("practitioner", BIG),
        ("room", "\x00"),
    ):
        data = {**base, "start_date": soon, key: value}
        probe(client, "post", url, f"book {_short(key)}={_short(value)}", data)
        probe(client, "get", f"{url}?{_query(data)}", f"book GET {_short(key)}={_short(value)}")
    probe.report("booking")


def test_moving_a_session_far_away_is_refused_cleanly(world, sam):  # noqa: F811
    client = Client()
    client.force_login(sam)
    url = reverse("scheduling:move", args=[world["session"].pk])
    probe = Probe()
    for day in HOSTILE_DATES:
        for following in ("no", "yes"):
            for time in ("T00:00", "T10:00", "T23:45"):
                data = {"new_start": day + time, "following": following, "note": "x"}
                response = probe(client, "post", url, f"move new_start={day}{time} following={following}", data)
                if response is not None and response.status_code == 302:
                    probe.problems.append(f"move to {day}{time}: moved")
    for value in (HUGE, "\x00", "x" * 10_000):
        probe(client, "post", url, f"move new_start={_short(value)}", {"new_start": value, "following": "no"})
    probe(client, "post", url, "move note=NUL", {"new_start": "2030-01-01T10:00", "following": "no", "note": "\x00"})
    probe.report("move")


def test_sign_in_with_hostile_usernames_never_gives_a_500(db):
    probe = Probe()
    url = reverse("login")
    for username in ("a" * 256, "a" * 10_000, "\x00", "ali\x00ce", "💉" * 300):
        for password in ("x", "\x00", "p" * 10_000):
            probe(
                Client(),
                "post",
                url,
                f"login username={_short(username)}",
                {"username": username, "password": password},
            )
    probe.report("sign-in")


def test_a_malformed_consent_signature_is_a_form_error(clinic, alice):
    patient = PatientFactory()
    plan = plan_for(patient, alice, "hair_loss")
    screened(patient, alice)
    client = Client()
    client.force_login(alice)
    url = reverse("plans:consent_sign", args=[plan.pk])
    page = client.get(url)
    good = _png_data_url()
    truncated_png = base64.b64decode(good.split(",", 1)[1])
    bad_checksum = bytearray(truncated_png)
    bad_checksum[bad_checksum.find(b"IDAT") + 6] ^= 0xFF  # Pillow's verify() raises SyntaxError
    signatures = {
        "bad IDAT checksum": bytes(bad_checksum),
        "PNG header only": b"\x89PNG\r\n\x1a\n",
        "broken chunk": truncated_png[:8] + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 13 + b"\x00\x00\x00\x00",
        "truncated": truncated_png[: len(truncated_png) // 2],
        "zero size": truncated_png[:16] + b"\x00" * 8 + truncated_png[24:],
        "garbage": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    }
    probe = Probe()
    for label, raw in signatures.items():
        data = {
            "document_sha256": page.context["fingerprint"],
            "signed_name": patient.display_name,
            "confirmed": "on",
            "photo_consent": "no",
            "signature": "data:image/png;base64," + base64.b64encode(raw).decode(),
        }
        response = probe(client, "post", url, f"consent signature={label}", data)
        if response is not None and response.status_code == 302:
            probe.problems.append(f"consent signature={label}: accepted")
    for field, value in (
        ("signed_name", "\x00"),
        ("signature", "data:image/png;base64,\x00"),
        ("document_sha256", "\x00"),
    ):
        data = {"signed_name": patient.display_name, "confirmed": "on", "photo_consent": "no", field: value}
        probe(client, "post", url, f"consent {field}=NUL", data)
    probe.report("consent signature")


def test_recall_and_today_refuse_what_they_cannot_use(clinic, alice):
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("session_day:recall") + "?lot=%00").status_code == 400
    assert client.get(reverse("session_day:today") + "?date=9999-12-31").status_code == 400
    assert client.get(reverse("scheduling:calendar") + "?date=0001-01-01").status_code == 400
    assert alice.role == Role.PRACTITIONER


def test_a_far_date_gets_a_clear_message_not_a_crash(world, sam):  # noqa: F811
    """2206 typed for 2026 in Move: an error next to the field naming the range."""
    client = Client()
    client.force_login(sam)
    response = client.post(
        reverse("scheduling:move", args=[world["session"].pk]), {"new_start": "2206-05-04T10:00", "following": "no"}
    )
    assert response.status_code == 200
    assert "check the year" in " ".join(response.context["form"].errors["new_start"])
    far = datetime.date.today() + datetime.timedelta(days=800)  # past the two-year horizon
    response = client.post(
        reverse("scheduling:move", args=[world["session"].pk]),
        {"new_start": f"{far:%Y-%m-%d}T10:00", "following": "no"},
    )
    assert "beyond the booking horizon" in " ".join(response.context["form"].errors["new_start"])
    page = client.get(reverse("scheduling:calendar") + "?date=9999-12-31")
    assert page.status_code == 400
    assert "“date” in the page address must be a day between 1900-01-01 and" in page.content.decode()
