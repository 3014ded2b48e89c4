import argparse
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from mesoclinic.aftercare import demo as aftercare_demo
from mesoclinic.core import demo as core_demo
from mesoclinic.desk import scale as scale_data
from mesoclinic.outcomes import demo as outcome_demo
from mesoclinic.patients import demo as patient_demo
from mesoclinic.plans import demo as plan_demo
from mesoclinic.questionnaires import demo as questionnaire_demo
from mesoclinic.treatment_sessions import demo as session_demo

# The demo users' password is printed in the README: on a server others can reach, that is a
# way in. Production (DJANGO_DEBUG=0) must ask for it by name.
FORCE_FLAG = "--allow-known-passwords"


class Command(BaseCommand):
    help = (
        "Create (or complete) the demo clinic, its users and patients. Safe to run again. "
        f"Refuses in production (DJANGO_DEBUG=0) unless {FORCE_FLAG} is given: the demo users' "
        "password is public."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=0, help="Also make sure N generated patients exist.")
        parser.add_argument("--weeks", type=int, default=0, help="Fill the calendar with sessions for N weeks.")
        parser.add_argument(
            "--scale",
            choices=("chain", "tenth"),
            help="Then add ten years of a clinic chain (PostgreSQL only): 'chain' is 100,000 patients, "
            "1,000,000 sessions and 10,000,000 audit entries; 'tenth' a tenth of it. Takes minutes.",
        )
        # The tests seed a sliver of the chain (e.g. 0.0001); not for people.
        parser.add_argument("--scale-fraction", type=float, default=None, help=argparse.SUPPRESS)
        parser.add_argument(
            FORCE_FLAG,
            action="store_true",
            dest="allow_known_passwords",
            help="Seed even in production (DJANGO_DEBUG=0), knowing that the demo users' password is public.",
        )

    def handle(self, *args, patients, weeks, allow_known_passwords=False, scale=None, scale_fraction=None, **options):
        if settings.PRODUCTION and not allow_known_passwords:
            raise CommandError(
                "seed_demo creates users whose password is published in the README, and this is "
                f"production (DJANGO_DEBUG=0). Nothing was created. To do it anyway (a trial or "
                f"staging server), run it again with {FORCE_FLAG}."
            )
        if patients < 0:
            raise CommandError("--patients must be zero or more.")
        if weeks < 0 or weeks > 260:
            raise CommandError("--weeks must be between 0 and 260.")
        if scale_fraction is not None and not (scale and 0 < scale_fraction <= 1):
            raise CommandError("--scale-fraction needs --scale and a fraction above 0, at most 1.")
        if scale and connection.vendor != "postgresql":
            raise CommandError(
                f"--scale needs PostgreSQL; this database is {connection.vendor}. Nothing was created. "
                "Set DATABASE_URL to a PostgreSQL database (see the README, Benchmarks)."
            )
        started = time.monotonic()
        core_demo.seed_clinic()
        users = core_demo.seed_users()
        patient_demo.seed_named_patients(patient_user=users["patient_user"])
        plan_demo.seed_products()
        session_demo.seed_journeys(practitioner=users["practitioners"][0], scheduler=users["scheduler"])
        session_demo.seed_stock(by=users["practitioners"][0])
        outcome_demo.seed_outcomes(practitioner=users["practitioners"][0])  # past courses, measured
        if not scale_data.scale_started():
            # The demo's sheets for its past charts, not one per chart of ten years of history.
            aftercare_demo.seed_sheets()
        questionnaire_link = questionnaire_demo.seed_questionnaires()
        if patients:
            created = patient_demo.seed_bulk_patients(patients, stdout=self.stdout)
            self.stdout.write(f"Generated patients: {created} added, {patients} wanted.")
        if weeks:
            session_demo.seed_calendar(weeks, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready in {time.monotonic() - started:.1f} s."))
        if scale:
            try:
                summary = scale_data.seed_scale(
                    scale_data.Size.of(scale, scale_fraction),
                    stdout=self.stdout,
                    verbose=options["verbosity"] > 1,
                    # a second connection cannot see an open transaction's rows (the tests')
                    parallel=not connection.in_atomic_block,
                )
            except scale_data.ScaleRefused as refusal:
                raise CommandError(str(refusal)) from refusal
            self.stdout.write(
                f"Busiest patient: /patients/{summary['busiest_patient']}/ "
                f"({summary['busiest_patient_sessions']} sessions, {summary['audit_patient_rows']} audit entries)."
            )
        self.stdout.write(
            "Demo logins (password for all: "
            f"{core_demo.DEMO_PASSWORD}):\n"
            "  practitioner  Dr. Deniz Aksoy, practitioner\n"
            "  scheduler     Selin Demir, clinic admin (calendar, contact details)\n"
            "  patient       Emma Clarke, patient (her own aftercare sheets)"
        )
        if questionnaire_link:
            self.stdout.write(
                f"A pre-visit questionnaire to try as a patient (Sofia Martins, born 30.01.1995):\n  {questionnaire_link}"
            )
