"""A recalled lot followed down to the points of each patient's map (a point's syringe holds the
lot at a share, so the point took that share of its volume), charts without a map by their
volume; the lot marked recalled once, audited; a contact list; and one notice per patient
through the outbox, in their language, by their channels, the text message saying nothing
clinical, never sent twice for a lot."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import sms
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.models import ContactBy, Language
from mesoclinic.plans.models import Product
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import (
    InjectionPoint,
    Lot,
    ProductUse,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    Syringe,
    SyringeComponent,
)
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.session_day.recall import (
    RecallRefused,
    diagram_title,
    lot_mark_recalled,
    lot_recall,
    number_ranges,
    recall_contacts,
    recall_notices_send,
)
from tests.builders import PatientFactory, active_plan, booked, next_monday
from tests.treatment_sessions.session_day.test_recall import chart_of, read_csv, use

pytestmark = pytest.mark.django_db
ML = Decimal


@pytest.fixture(autouse=True)
def _texts_in_memory(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def hydra(db):
    return Product.objects.create(name="HydraGlow Meso", manufacturer="Nova Aesthetics")


@pytest.fixture
def relief(db):
    return Product.objects.create(name="Relief Meso", manufacturer="Meridian Labs")


@pytest.fixture
def hb(hydra):
    return Lot.objects.create(product=hydra, lot_number="HB-2611", expires_on=datetime.date(2027, 5, 31))


@pytest.fixture
def rl(relief):
    return Lot.objects.create(product=relief, lot_number="RL-0412", expires_on=datetime.date(2027, 1, 31))


@pytest.fixture
def people(clinic, alice, room):
    """Three patients as they take messages: Ayşe in Turkish by email and SMS, Emma in English by
    email, Mehmet in Turkish by SMS only. Each has a plan of sessions, a week apart."""
    clinic.phone = "+90 212 555 01 02"
    clinic.name = "Nişantaşı Meso"
    clinic.save()
    cast = {
        "ayse": PatientFactory(
            given_name="Ayşe",
            family_name="Çelik",
            email="ayse@example.com",
            phone="+905321112233",
            preferred_language=Language.TURKISH,
            contact_by=ContactBy.BOTH,
        ),
        "emma": PatientFactory(
            given_name="Emma",
            family_name="Clarke",
            email="emma@example.com",
            phone="",
            preferred_language=Language.ENGLISH,
            contact_by=ContactBy.EMAIL,
        ),
        "mehmet": PatientFactory(
            given_name="Mehmet",
            family_name="Öztürk",
            email="",
            phone="+905339998877",
            preferred_language=Language.TURKISH,
            contact_by=ContactBy.SMS,
        ),
    }
    sessions = {}
    for hour, (name, patient) in zip((9, 12, 15), cast.items(), strict=True):
        plan = active_plan(alice, "cellulite", patient=patient)
        sessions[name] = list(booked(plan, alice, room, next_monday(), hour=hour).sessions.order_by("sequence"))
    return cast, sessions


def face():
    return Term.objects.get(kind="area", code="face")


def neck():
    return Term.objects.get(kind="area", code="neck")


def mapped(session, by, syringes, points, product_rows=True):
    """A chart's map as mapping.py saves it: syringes of lots at shares, numbered points, and
    (unless told not to) the product rows derived from it (per lot: the points' volume x share)."""
    chart = chart_of(session, by)
    made = {}
    for label, components in syringes.items():
        made[label] = Syringe.objects.create(chart=chart, label=label)
        for lot, percent in components:
            SyringeComponent.objects.create(syringe=made[label], lot=lot, percent=Decimal(percent))
    per_lot = {}
    for number, (label, diagram, area, volume, shape) in enumerate(points, start=1):
        InjectionPoint.objects.create(
            chart=chart,
            syringe=made[label],
            diagram=diagram,
            area=area,
            shape=shape,
            x=Decimal(10 + number),
            y=Decimal(20 + number),
            outline=[[1, 1], [5, 1], [5, 5]] if shape == "zone" else [],
            depth_mm=Decimal("1.0"),
            technique="nappage",
            needle_gauge=32,
            volume_ml=Decimal(volume),
            position=number,
        )
        for lot, percent in syringes[label]:
            per_lot[lot] = per_lot.get(lot, Decimal(0)) + Decimal(volume) * Decimal(percent) / 100
    if product_rows:
        for lot, volume in per_lot.items():
            ProductUse.objects.create(chart=chart, lot=lot, volume_ml=volume.quantize(Decimal("0.01")))
    return chart


def two_product_map(session, by, hb, rl, **options):
    """Syringe A: 60 % HydraGlow (lot HB-2611) and 40 % Relief (RL-0412); syringe B: Relief only.
    Points 1-3 from A on the face, 4 from B on the left profile, 5 a zone from A on the neck."""
    return mapped(
        session,
        by,
        {"A": [(hb, "60"), (rl, "40")], "B": [(rl, "100")]},
        [
            ("A", "face_front", face(), "0.05", "point"),
            ("A", "face_front", face(), "0.05", "point"),
            ("A", "face_front", face(), "0.05", "point"),
            ("B", "face_left", face(), "0.10", "point"),
            ("A", "neck_decollete", neck(), "0.20", "zone"),
        ],
        **options,
    )


def search(client, lot):
    return client.get(reverse("session_day:recall"), {"lot": lot})


def post(client, search_text, **data):
    return client.post(reverse("session_day:recall") + f"?lot={search_text}", data)


def day_of(session):
    return timezone.localtime(session.starts_at, clinic_zone()).date()


# --- Down to the points ---------------------------------------------------------------------


def test_a_two_product_syringe_lists_the_lots_share_of_each_point(people, alice, hb, rl):
    _, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    (row,) = lot_recall("hb2611").exact
    assert row.lot == hb and row.volume_ml == ML("0.21")
    assert [(p.number, p.diagram, p.lot_ml) for p in row.points] == [
        (1, "face_front", ML("0.030")),
        (2, "face_front", ML("0.030")),
        (3, "face_front", ML("0.030")),
        (5, "neck_decollete", ML("0.120")),
    ]  # point 4 came from syringe B, which holds no HydraGlow
    front, neckline = row.point_groups
    assert (front.numbers_text, front.lot_ml, front.zones) == ("1–3", ML("0.090"), 0)
    assert (neckline.numbers_text, neckline.lot_ml, neckline.zones) == ("5", ML("0.120"), 1)
    assert row.points_ml == ML("0.210")
    (other,) = lot_recall("RL 0412").exact
    assert [(p.number, p.lot_ml) for p in other.points] == [
        (1, ML("0.020")),
        (2, ML("0.020")),
        (3, ML("0.020")),
        (4, ML("0.100")),
        (5, ML("0.080")),
    ]


def test_the_page_shows_the_points_by_diagram_and_area(alice_client, people, alice, hb, rl):
    _, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    page = search(alice_client, "HB-2611").content.decode()
    front = page.index(diagram_title("face_front"))
    assert "points 1–3" in page[front : front + 400] and "0.090 ml of this lot" in page[front : front + 600]
    neckline = page.index(diagram_title("neck_decollete"))
    assert "point 5" in page[neckline : neckline + 400] and "1 zone" in page[neckline : neckline + 600]
    assert diagram_title("face_left") not in page  # syringe B's point took none of this lot


def test_a_chart_without_a_map_is_listed_by_its_volume(alice_client, people, alice, hb, rl):
    cast, sessions = people
    legacy = use(sessions["emma"][0], hb, alice, volume="2.00", signed=True)
    two_product_map(sessions["ayse"][1], alice, hb, rl)
    recall = lot_recall("HB-2611")
    assert [row.chart.session.patient for row in recall.exact] == [cast["emma"], cast["ayse"]]
    assert recall.exact[0] == legacy and recall.exact[0].points == [] and recall.exact[0].point_groups == []
    page = search(alice_client, "HB-2611").content.decode()
    assert page.count("No map: the volume was charted for the session") == 1
    assert "2.00 ml" in page


def test_a_map_without_its_product_row_is_found_all_the_same(people, alice, hb, rl):
    """Every map saves its product rows (mapping.py); a map alone is still a patient to reach."""
    _, sessions = people
    chart = two_product_map(sessions["mehmet"][0], alice, hb, rl, product_rows=False)
    (row,) = lot_recall("HB-2611").exact
    assert row.pk is None and row.chart == chart and row.lot == hb
    assert row.volume_ml == ML("0.210") and [p.number for p in row.points] == [1, 2, 3, 5]


def test_each_chart_keeps_its_own_points(people, alice, hb, rl):
    _, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    mapped(sessions["emma"][0], alice, {"C": [(hb, "100")]}, [("C", "scalp", face(), "0.10", "point")] * 2)
    rows = lot_recall("HB-2611").exact
    assert [[p.number for p in row.points] for row in rows] == [[1, 2, 3, 5], [1, 2]]
    assert rows[1].points[0].lot_ml == ML("0.100")


def test_partial_matches_come_with_their_points_too(people, alice, hb, rl, hydra):
    _, sessions = people
    longer = Lot.objects.create(product=hydra, lot_number="HB-26110", expires_on=datetime.date(2027, 6, 30))
    mapped(sessions["emma"][0], alice, {"A": [(longer, "100")]}, [("A", "face_front", face(), "0.05", "point")])
    recall = lot_recall("HB-2611")
    assert recall.exact == [] and [p.number for p in recall.partial[0].points] == [1]


def test_number_ranges():
    assert number_ranges([7, 1, 2, 3, 9, 10, 3]) == "1–3, 7, 9–10"
    assert number_ranges([4]) == "4" and number_ranges([]) == ""


def test_the_csv_has_the_points(alice_client, people, alice, hb, rl):
    _, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    use(sessions["emma"][0], hb, alice, volume="1.50")
    header, *rows = read_csv(alice_client.get(reverse("session_day:recall_export"), {"lot": "HB-2611"}))
    assert header[-2:] == ["Points", "Lot in the points (ml)"]
    by_patient = {row[1]: row for row in rows}
    assert by_patient["Ayşe Çelik"][-2:] == [
        f"{diagram_title('face_front')}, Face: 1–3 (0.090 ml); {diagram_title('neck_decollete')}, Neck: 5 (0.120 ml)",
        "0.210",
    ]
    assert by_patient["Emma Clarke"][-2:] == ["no map", ""]


# --- Marking the lot recalled ----------------------------------------------------------------


def test_a_practitioner_marks_the_lot_recalled_with_the_reason(alice_client, alice, people, hb):
    response = post(
        alice_client,
        "hb2611",
        action="recall",
        lot_id=hb.pk,
        **{f"lot-{hb.pk}-reason": "Sterility", f"lot-{hb.pk}-confirm": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/recall/?lot=hb2611"
    hb.refresh_from_db()
    assert hb.recalled_at is not None and hb.recall_reason == "Sterility"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=hb.pk, content_type__model="lot")
    assert entry.actor == alice and entry.changes["recall reason"] == ["", "Sterility"]
    page = alice_client.get(response["Location"]).content.decode()
    assert "is marked recalled" in page and "Recalled on" in page and "Sterility" in page
    assert "Mark this lot recalled" not in page


def test_a_recall_without_reason_or_confirmation_keeps_what_was_typed(alice_client, people, hb):
    response = post(alice_client, "HB-2611", action="recall", lot_id=hb.pk, **{f"lot-{hb.pk}-reason": "Particles"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Tick the box to confirm the recall." in page and 'value="Particles"' in page
    assert page.index(f'id="id_lot-{hb.pk}-confirm"') < page.index("Tick the box to confirm the recall.")
    response = post(alice_client, "HB-2611", action="recall", lot_id=hb.pk, **{f"lot-{hb.pk}-confirm": "on"})
    assert "Say why the lot is recalled" in response.content.decode()
    hb.refresh_from_db()
    assert hb.recalled_at is None


def test_a_second_recall_changes_nothing_and_says_so(alice, people, hb):
    first = lot_mark_recalled(lot=hb, reason="Sterility", by=alice)
    with pytest.raises(RecallRefused, match="already marked recalled"):
        lot_mark_recalled(lot=hb, reason="Again", by=alice)
    hb.refresh_from_db()
    assert hb.recalled_at == first.recalled_at and hb.recall_reason == "Sterility"


def test_a_recall_post_with_nonsense_is_refused_without_a_500(alice_client, sam_client, people, hb):
    assert post(sam_client, "HB", action="recall", lot_id=hb.pk).status_code == 403
    for data in ({"action": "recall", "lot_id": "abc"}, {"action": "burn", "lot_id": hb.pk}, {"lot_id": "9" * 30}):
        response = post(alice_client, "HB-2611", **data)
        assert response.status_code == 302
    hb.refresh_from_db()
    assert hb.recalled_at is None


def test_a_lot_nobody_received_can_still_be_recalled(alice_client, people, hydra):
    shelf = Lot.objects.create(product=hydra, lot_number="HB-3000", expires_on=datetime.date(2027, 1, 1))
    page = search(alice_client, "HB-3000").content.decode()
    assert "No patient received this lot." in page and "Mark this lot recalled" in page
    post(
        alice_client,
        "HB-3000",
        action="recall",
        lot_id=shelf.pk,
        **{f"lot-{shelf.pk}-reason": "Label", f"lot-{shelf.pk}-confirm": "on"},
    )
    shelf.refresh_from_db()
    assert shelf.recall_reason == "Label"


# --- The contact list -------------------------------------------------------------------------


def test_the_contact_list_has_each_patient_once_with_how_they_take_messages(alice_client, people, alice, hb, rl):
    cast, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    two_product_map(sessions["ayse"][1], alice, hb, rl)
    use(sessions["emma"][0], hb, alice)
    two_product_map(sessions["mehmet"][2], alice, hb, rl)
    response = search(alice_client, "HB-2611")
    (group,) = response.context["contacts"]
    assert group.lot == hb and [c.patient for c in group.contacts] == [cast["ayse"], cast["emma"], cast["mehmet"]]
    assert group.contacts[0].treated_on == [day_of(sessions["ayse"][0]), day_of(sessions["ayse"][1])]
    page = response.content.decode()
    contacts = page[page.index("Contact list: 3 patients received lot HB-2611") :]
    for shown in ("ayse@example.com", "+90 532 111 22 33", "Email and text message", "Türkçe", "emma@example.com"):
        assert shown in contacts, shown
    assert "Text message (SMS)" in contacts and "English" in contacts and "no email" in contacts
    assert "Mark the lot recalled first" in contacts  # no notice before the lot is marked


def test_the_contact_list_as_csv(alice_client, people, alice, hb, rl):
    cast, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    use(sessions["emma"][0], hb, alice)
    response = alice_client.get(reverse("session_day:recall_export"), {"lot": "HB-2611", "list": "contacts"})
    assert response["Content-Disposition"] == 'attachment; filename="lot-recall-HB-2611-contacts.csv"'
    assert response["Cache-Control"] == "private, no-store"
    header, ayse, emma = read_csv(response)
    assert header == [
        "Patient",
        "Date of birth",
        "Email",
        "Phone",
        "Prefers",
        "Language",
        "Product",
        "Lot",
        "Treated on",
        "Recall notice",
        "Record",
    ]
    assert ayse[:6] == [
        "Ayşe Çelik",
        cast["ayse"].date_of_birth.isoformat(),
        "ayse@example.com",
        "'+905321112233",
        "Email and text message",
        "Türkçe",
    ]
    assert ayse[6:] == [
        "HydraGlow Meso (Nova Aesthetics)",
        "HB-2611",
        day_of(sessions["ayse"][0]).isoformat(),
        "not sent",
        "in use",
    ]
    assert emma[2:4] == ["emma@example.com", ""]
    entries = AuditEntry.objects.filter(additional_data__page="lot recall HB-2611 (contact list CSV)")
    assert sorted(entries.values_list("patient_id", flat=True)) == sorted([cast["ayse"].pk, cast["emma"].pk])


# --- The notices, as the patients get them ---------------------------------------------------


def recalled_and_charted(people, alice, hb, rl):
    cast, sessions = people
    two_product_map(sessions["ayse"][0], alice, hb, rl)
    use(sessions["emma"][0], hb, alice)
    use(sessions["emma"][1], hb, alice)
    two_product_map(sessions["mehmet"][0], alice, hb, rl)
    lot_mark_recalled(lot=hb, reason="Sterility not assured", by=alice)
    return cast, sessions


def delivered(reminder):
    """Send a queued notice as the worker would; the rows it went by, the copy included."""
    assert delivery.deliver(reminder.pk) == "sent"
    for copy in Reminder.objects.filter(details__copy_of=reminder.pk):
        assert delivery.deliver(copy.pk) == "sent"
    return list(Reminder.objects.filter(key__startswith=reminder.key).order_by("pk"))


def test_sending_the_notice_queues_one_message_per_patient(alice_client, alice, people, hb, rl):
    cast, _ = recalled_and_charted(people, alice, hb, rl)
    response = post(alice_client, "HB-2611", action="notify", lot_id=hb.pk)
    assert response.status_code == 302
    notices = list(Reminder.objects.filter(kind=ReminderKind.RECALL).order_by("patient__given_name"))
    assert [(n.patient, n.channel, n.status, n.session) for n in notices] == [
        (cast["ayse"], ReminderChannel.EMAIL, ReminderStatus.PENDING, None),
        (cast["emma"], ReminderChannel.EMAIL, ReminderStatus.PENDING, None),
        (cast["mehmet"], ReminderChannel.SMS, ReminderStatus.PENDING, None),
    ]
    assert {n.key for n in notices} == {f"recall:{hb.pk}:{p.pk}" for p in cast.values()}
    page = alice_client.get(response["Location"]).content.decode()
    assert "The recall notice is queued for 3 patients" in page and "The recall notice went to the outbox on" in page
    audited = AuditEntry.objects.filter(content_type__model="reminder", actor=alice)
    assert sorted(audited.values_list("patient_id", flat=True)) == sorted(p.pk for p in cast.values())
    assert all("lot HB-2611 of HydraGlow Meso" in e.changes["recall notice"][1] for e in audited)


def test_the_english_email_names_the_product_and_lot_and_asks_for_a_call(alice, people, hb, rl):
    cast, sessions = recalled_and_charted(people, alice, hb, rl)
    recall_notices_send(lot=hb, by=alice)
    emma = Reminder.objects.get(kind=ReminderKind.RECALL, patient=cast["emma"])
    mail.outbox.clear()
    (row,) = delivered(emma)
    (message,) = mail.outbox
    assert message.to == ["emma@example.com"] and row.recipient == "emma@example.com"
    assert message.subject == "Nişantaşı Meso: please call us about your treatment"
    assert "HydraGlow" not in message.subject and "recall" not in message.subject.lower()
    body = message.body
    assert body.startswith("Dear Emma,")
    assert "The maker of a product used at your treatments on these days has recalled the batch it came from:" in body
    for session in sessions["emma"][:2]:
        assert f"- {day_of(session):%-d %B %Y}" in body
    assert "The product is HydraGlow Meso (Nova Aesthetics), batch (lot) HB-2611." in body
    assert "Please call us on +90 212 555 01 02" in body
    assert "Sterility" not in body  # the maker's reason is the clinic's to explain, on the phone
    assert "&#x27;" not in body and "&amp;" not in body and "RL-0412" not in body


def test_a_turkish_patient_taking_both_gets_an_email_and_a_text_in_turkish(alice, people, hb, rl):
    cast, sessions = recalled_and_charted(people, alice, hb, rl)
    recall_notices_send(lot=hb, by=alice)
    ayse = Reminder.objects.get(kind=ReminderKind.RECALL, patient=cast["ayse"])
    mail.outbox.clear()
    rows = delivered(ayse)
    assert [r.channel for r in rows] == [ReminderChannel.EMAIL, ReminderChannel.SMS]
    (message,) = mail.outbox
    assert message.body.startswith("Sayın Ayşe Çelik,")
    assert "HB-2611" in message.body and "HydraGlow Meso" in message.body
    (text,) = sms.outbox
    assert text.to == "+905321112233"
    day = day_of(sessions["ayse"][0])
    assert f"{day.day} " in text.body and str(day.year) in text.body
    assert "Nişantaşı Meso" in text.body and "+90 212 555 01 02" in text.body
    for clinical in ("HydraGlow", "HB-2611", "recall", "geri çağır", "lot"):
        assert clinical.lower() not in text.body.lower(), text.body
    assert sms.fits(text.body)


def test_the_text_message_says_only_to_call_about_the_treatment_day(alice, people, hb, rl):
    cast, sessions = recalled_and_charted(people, alice, hb, rl)
    recall_notices_send(lot=hb, by=alice)
    mehmet = Reminder.objects.get(kind=ReminderKind.RECALL, patient=cast["mehmet"])
    with_english = Reminder.objects.get(pk=mehmet.pk)
    with_english.patient.preferred_language = Language.ENGLISH  # the wording as an English reader gets it
    day = day_of(sessions["mehmet"][0])
    assert delivery.compose_sms(with_english) == (
        f"Nişantaşı Meso: please call the clinic about your treatment on {day:%-d %B %Y}. Tel: +90 212 555 01 02"
    )
    (row,) = delivered(mehmet)
    (text,) = sms.outbox
    assert row.recipient == "+905339998877" and "HydraGlow" not in text.body
    assert mail.outbox == []  # Mehmet takes no email


def test_the_outbox_previews_the_notice_as_sent(alice, people, hb, rl):
    cast, _ = recalled_and_charted(people, alice, hb, rl)
    recall_notices_send(lot=hb, by=alice)
    emma = Reminder.objects.get(kind=ReminderKind.RECALL, patient=cast["emma"])
    preview = delivery.compose(emma, preview=True)
    mail.outbox.clear()
    delivered(emma)
    assert (preview.subject, preview.body) == (mail.outbox[0].subject, mail.outbox[0].body)


def test_the_notice_goes_once_per_lot_and_patient(alice_client, alice, people, hb, rl):
    _, sessions = recalled_and_charted(people, alice, hb, rl)
    assert len(recall_notices_send(lot=hb, by=alice)) == 3
    response = post(alice_client, "HB-2611", action="notify", lot_id=hb.pk)
    page = alice_client.get(response["Location"]).content.decode()
    assert "The recall notice for lot HB-2611 was already sent" in page and "to 3 patients" in page
    assert Reminder.objects.filter(kind=ReminderKind.RECALL).count() == 3
    # A patient found later (a chart charted with the lot before it was recalled, entered late)
    # is the only one the next notice goes to.
    late = PatientFactory(given_name="Zeynep", family_name="Kaya", email="zeynep@example.com")
    plan = active_plan(alice, "cellulite", patient=late)
    session = booked(plan, alice, sessions["ayse"][0].room, next_monday(3), hour=11).sessions.first()
    use(session, hb, alice)
    (only,) = recall_notices_send(lot=hb, by=alice)
    assert only.patient == late


def test_no_notice_before_the_lot_is_marked_recalled(alice_client, alice, people, hb, rl):
    _, sessions = people
    use(sessions["emma"][0], hb, alice)
    response = post(alice_client, "HB-2611", action="notify", lot_id=hb.pk)
    page = alice_client.get(response["Location"]).content.decode()
    assert "Mark the lot recalled first: the notice tells patients about a recall." in page
    assert not Reminder.objects.filter(kind=ReminderKind.RECALL).exists()


def test_an_archived_record_is_listed_but_not_messaged(alice, people, hb, rl):
    cast, _ = recalled_and_charted(people, alice, hb, rl)
    cast["emma"].archived_at = timezone.now()
    cast["emma"].save()
    sent = recall_notices_send(lot=hb, by=alice)
    assert {n.patient for n in sent} == {cast["ayse"], cast["mehmet"]}
    (group,) = recall_contacts(lot_recall("HB-2611"))
    assert cast["emma"] in [c.patient for c in group.contacts] and group.to_notify == []


def test_the_other_lot_of_the_syringe_has_its_own_notice(alice, people, hb, rl):
    cast, _ = recalled_and_charted(people, alice, hb, rl)
    recall_notices_send(lot=hb, by=alice)
    lot_mark_recalled(lot=rl, reason="Label", by=alice)
    sent = recall_notices_send(lot=rl, by=alice)
    assert {n.patient for n in sent} == {cast["ayse"], cast["mehmet"]}  # Emma had no Relief
    assert Reminder.objects.get(key=f"recall:{rl.pk}:{cast['ayse'].pk}").details["lot_number"] == "RL-0412"


# --- Queries ----------------------------------------------------------------------------------


def test_the_page_takes_the_same_queries_for_one_patient_or_many(
    alice_client, clinic, alice, room, hb, rl, django_assert_num_queries
):
    """Points, contacts and notices included: nothing is fetched per patient, row or point."""
    few, many = Lot.objects.create(product=hb.product, lot_number="FEW-1", expires_on=hb.expires_on), hb
    patients = [PatientFactory(contact_by=ContactBy.BOTH) for _ in range(6)]
    for index, patient in enumerate(patients):
        plan = active_plan(alice, "cellulite", patient=patient)
        sessions = list(booked(plan, alice, room, next_monday(), hour=8 + index).sessions.order_by("sequence"))
        for session in sessions[:2]:
            points = [("A", "face_front", face(), "0.05", "point")] * 10 + [
                ("A", "neck_decollete", neck(), "0.2", "zone")
            ]
            mapped(session, alice, {"A": [(many, "50"), (rl, "50")]}, points)
        if index == 0:
            mapped(sessions[2], alice, {"A": [(few, "100")]}, [("A", "face_front", face(), "0.05", "point")])
            use(sessions[3], few, alice)
    for lot in (few, many):
        lot_mark_recalled(lot=lot, reason="Sterility", by=alice)
    recall_notices_send(lot=many, by=alice)
    recall_notices_send(lot=few, by=alice)
    search(alice_client, "FEW-1")  # warm the caches (clinic, content types, the login session)
    with CaptureQueriesContext(connection) as one:
        response = search(alice_client, "FEW-1")
    assert len(response.context["recall"].exact) == 2 and len(response.context["contacts"][0].contacts) == 1
    with django_assert_num_queries(len(one.captured_queries)):
        response = search(alice_client, "HB-2611")
    (group,) = response.context["contacts"]
    assert len(group.contacts) == 6 and all(c.notified for c in group.contacts)
    assert sum(len(row.points) for row in response.context["recall"].exact) == 6 * 2 * 11
    print(f"recall page: {len(one.captured_queries)} queries for 1 patient or 6 patients with 132 points")
