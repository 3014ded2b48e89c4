import time

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.aftercare import demo as aftercare_demo
from mesoclinic.core import demo as core_demo
from mesoclinic.patients import demo as patient_demo
from mesoclinic.plans import demo as plan_demo
from mesoclinic.treatment_sessions import demo as session_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo clinic, its users and patients. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=0, help="Also make sure N generated patients exist.")
        parser.add_argument("--weeks", type=int, default=0, help="Fill the calendar with sessions for N weeks.")

    def handle(self, *args, patients, weeks, **options):
        if patients < 0:
            raise CommandError("--patients must be zero or more.")
        if weeks < 0 or weeks > 260:
            raise CommandError("--weeks must be between 0 and 260.")
        started = time.monotonic()
        core_demo.seed_clinic()
        users = core_demo.seed_users()
        patient_demo.seed_named_patients(patient_user=users["patient_user"])
        plan_demo.seed_products()
        session_demo.seed_journeys(practitioner=users["practitioners"][0], scheduler=users["scheduler"])
        aftercare_demo.seed_sheets()
        if patients:
            created = patient_demo.seed_bulk_patients(patients, stdout=self.stdout)
            self.stdout.write(f"Generated patients: {created} added, {patients} wanted.")
        if weeks:
            session_demo.seed_calendar(weeks, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready in {time.monotonic() - started:.1f} s."))
        self.stdout.write(
            "Demo logins (password for all: "
            f"{core_demo.DEMO_PASSWORD}):\n"
            "  practitioner  Dr. Deniz Aksoy, practitioner\n"
            "  scheduler     Selin Demir, clinic admin (calendar, contact details)\n"
            "  patient       Emma Clarke, patient (her own aftercare sheets)"
        )
