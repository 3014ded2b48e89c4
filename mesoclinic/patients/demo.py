"""Demo patients: a few named ones for the walkthrough, and bulk ones for benchmarks."""

import datetime
import random

from django.db import transaction

from .models import Language, Patient, Sex

BULK_EMAIL_DOMAIN = "bulk.demo.invalid"

NAMED = (
    # given, family, born, sex, language, phone
    ("Emma", "Clarke", datetime.date(1988, 3, 14), Sex.FEMALE, Language.ENGLISH, "+447700900123"),
    ("Elif", "Yılmaz", datetime.date(1991, 7, 2), Sex.FEMALE, Language.TURKISH, "+905321112233"),
    ("Mehmet", "Öztürk", datetime.date(1979, 11, 23), Sex.MALE, Language.TURKISH, "+905334445566"),
    ("Sofia", "Martins", datetime.date(1995, 1, 30), Sex.FEMALE, Language.ENGLISH, "+447700900456"),
    ("Ayşe", "Demirci", datetime.date(1984, 5, 9), Sex.FEMALE, Language.TURKISH, "+905357778899"),
    ("James", "Whitfield", datetime.date(1972, 9, 17), Sex.MALE, Language.ENGLISH, "+447700900789"),
    ("Zeynep", "Arslan", datetime.date(2000, 12, 4), Sex.FEMALE, Language.TURKISH, "+905301234567"),
    ("Olivia", "Bennett", datetime.date(1990, 4, 21), Sex.FEMALE, Language.ENGLISH, "+447700900321"),
    ("Can", "Şahin", datetime.date(1986, 2, 11), Sex.MALE, Language.TURKISH, "+905365554433"),
    ("Hannah", "Price", datetime.date(2009, 6, 1), Sex.FEMALE, Language.ENGLISH, "+447700900654"),
)

GIVEN = (
    "Ahmet",
    "Ali",
    "Ayşe",
    "Fatma",
    "Zeynep",
    "Elif",
    "Emre",
    "Burak",
    "Selin",
    "Deniz",
    "Ece",
    "Merve",
    "Oliver",
    "George",
    "Amelia",
    "Isla",
    "Ava",
    "Noah",
    "Leo",
    "Grace",
    "Lucy",
    "Jack",
    "Mia",
    "Ella",
    "Can",
    "Cem",
    "Derya",
    "Gül",
    "Hakan",
    "İrem",
    "Kerem",
    "Lale",
    "Murat",
    "Nil",
    "Orhan",
    "Pınar",
)
FAMILY = (
    "Yılmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Yıldız",
    "Yıldırım",
    "Öztürk",
    "Aydın",
    "Özdemir",
    "Arslan",
    "Doğan",
    "Kılıç",
    "Aslan",
    "Çetin",
    "Kara",
    "Koç",
    "Kurt",
    "Özkan",
    "Şimşek",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Clarke",
)


@transaction.atomic
def seed_named_patients(patient_user=None):
    patients = []
    for given, family, born, sex, language, phone in NAMED:
        patient, _ = Patient.objects.get_or_create(
            given_name=given,
            family_name=family,
            date_of_birth=born,
            defaults={
                "sex": sex,
                "preferred_language": language,
                "phone": phone,
                "email": _ascii(f"{given}.{family}@example.com".lower()),
                "emergency_contact_name": "Next of kin",
                "emergency_contact_phone": phone[:-3] + "000",
            },
        )
        patients.append(patient)
    if patient_user is not None and patients[0].user_id is None:
        patients[0].user = patient_user
        patients[0].save(update_fields=["user"])
    return patients


def _ascii(text):
    return text.translate(str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU"))


def seed_bulk_patients(count, batch_size=5000, stdout=None):
    """Make sure `count` generated patients exist, adding only the missing ones."""
    existing = Patient.objects.filter(email__endswith="@" + BULK_EMAIL_DOMAIN).count()
    if existing >= count:
        return 0
    rng = random.Random(20261121)
    # Advance the generator past the patients already made, so reruns stay deterministic.
    for _ in range(existing):
        _random_patient_fields(rng)
    created = 0
    for start in range(existing, count, batch_size):
        batch = []
        for number in range(start, min(start + batch_size, count)):
            fields = _random_patient_fields(rng)
            # bulk_create skips save(): the folded name search matches is set here.
            batch.append(Patient(email=f"p{number}@{BULK_EMAIL_DOMAIN}", **fields).refresh_search_name())
        Patient.objects.bulk_create(batch, batch_size=batch_size)
        created += len(batch)
        if stdout:
            stdout.write(f"  {start + len(batch)} of {count} generated patients")
    return created


def _random_patient_fields(rng):
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 55))
    return {
        "given_name": rng.choice(GIVEN),
        "family_name": rng.choice(FAMILY),
        "date_of_birth": born,
        "sex": rng.choice((Sex.FEMALE, Sex.FEMALE, Sex.MALE)),
        "preferred_language": rng.choice((Language.TURKISH, Language.ENGLISH)),
        "phone": f"+905{rng.randrange(10**8, 10**9)}",
    }
