"""The demo clinic: rooms, hours and the three demo users. Only `seed_demo` calls this."""

import datetime

from django.db import transaction

from .models import Clinic, OpeningHours, Role, Room, User, WorkingHours

DEMO_PASSWORD = "mesoclinic-demo"
ROOMS = ("Room 1", "Room 2", "Room 3")
PRACTITIONERS = (
    # username, title, first, last, working weekdays
    ("practitioner", "Dr.", "Deniz", "Aksoy", (0, 1, 2, 3, 4)),
    ("dr.hale", "Dr.", "Hale", "Kaya", (0, 1, 2, 3, 4, 5)),
    ("dr.martin", "Dr.", "Martin", "Reeves", (1, 2, 3, 4, 5)),
)


@transaction.atomic
def seed_clinic():
    clinic = Clinic.objects.order_by("pk").first() or Clinic()
    clinic.name = "Nova Mesotherapy Clinic"
    clinic.phone = "+90 212 555 01 23"
    clinic.email = "care@nova-clinic.example"
    clinic.address = "Halaskargazi Cd. 120, Şişli, İstanbul"
    clinic.timezone = "Europe/Istanbul"
    clinic.save()
    for name in ROOMS:
        Room.objects.get_or_create(name=name)
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            [OpeningHours(weekday=day, starts=datetime.time(9), ends=datetime.time(19)) for day in range(5)]
            + [OpeningHours(weekday=5, starts=datetime.time(10), ends=datetime.time(16))]
        )
    return clinic


def _user(username, role, first, last, title="", email=None):
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "role": role,
            "first_name": first,
            "last_name": last,
            "title": title,
            "email": email or f"{username.replace('.', '-')}@nova-clinic.example",
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed_users():
    practitioners = []
    for username, title, first, last, weekdays in PRACTITIONERS:
        practitioner = _user(username, Role.PRACTITIONER, first, last, title)
        if not practitioner.working_hours.exists():
            end = {5: datetime.time(16)}
            WorkingHours.objects.bulk_create(
                WorkingHours(
                    practitioner=practitioner,
                    weekday=day,
                    starts=datetime.time(10 if day == 5 else 9),
                    ends=end.get(day, datetime.time(18)),
                )
                for day in weekdays
            )
        practitioners.append(practitioner)
    scheduler = _user("scheduler", Role.SCHEDULER, "Selin", "Demir")
    patient_user = _user("patient", Role.PATIENT, "Emma", "Clarke", email="emma.clarke@example.com")
    return {"practitioners": practitioners, "scheduler": scheduler, "patient_user": patient_user}
