import datetime

import factory

from mesoclinic.core.models import Role, User
from mesoclinic.patients.models import Language, Patient, Sex


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.PRACTITIONER
    password = factory.django.Password("correct horse battery")


class PractitionerFactory(UserFactory):
    role = Role.PRACTITIONER
    title = "Dr."


class SchedulerFactory(UserFactory):
    role = Role.SCHEDULER


class PatientUserFactory(UserFactory):
    role = Role.PATIENT


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.Faker(
        "date_between", start_date=datetime.date(1950, 1, 1), end_date=datetime.date(2004, 1, 1)
    )
    sex = Sex.FEMALE
    phone = factory.Sequence(lambda n: f"+90532{n:07d}")
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}.{p.family_name.lower()}@example.com")
    preferred_language = Language.ENGLISH
