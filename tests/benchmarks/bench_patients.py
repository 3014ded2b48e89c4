"""Patient search at 100,000 patients: server time, and the plan PostgreSQL chooses."""

from django.db import connection

from mesoclinic.core.models import User
from mesoclinic.patients.selectors import patient_search
from tests.benchmarks.harness import client_for, page_timing, timed

SEARCHES = {
    "name (part of a family name)": "korkma",
    "two words of a name": "ayşe yıldırım",
    "date of birth": "14.03.1988",
    "phone digits": "532 111 22",
}


def run(report):
    client = client_for(User.objects.get(username="practitioner"))
    total = patient_search("").count()
    print(f"  patients in the database: {total}")
    for label, query in SEARCHES.items():
        report.add(f"patient search page, {label}", page_timing(client, f"/patients/?q={query}"))
        report.add(f"patient search query only, {label}", timed(lambda q=query: list(patient_search(q)[:25])))
    report.add("patient list page, no search (recent first)", page_timing(client, "/patients/"))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql, params = patient_search("korkma").query.sql_with_params()
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print("  EXPLAIN ANALYZE, name search:")
        for line in plan:
            print("    " + line)
