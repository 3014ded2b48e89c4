import datetime

import pytest

from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import build_knowledge_base

ON_DATE = "2026-12-01"


def pytest_collection_modifyitems(items):
    """Tests that use only the compiled knowledge base still need the test database set up
    (pytest-django sets up only the databases that marked tests ask for): run alone, these
    modules found no tables."""
    for item in items:
        if "tests/screening/" in str(item.fspath) and "kb" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(scope="session")
def kb(django_db_setup, django_db_blocker):
    """The real knowledge base from fixtures/, compiled once: the engine itself is pure."""
    with django_db_blocker.unblock():
        return build_knowledge_base()


def answers(**fields):
    """A healthy 38-year-old's answers for 1 December 2026, plus `fields`."""
    base = {"date_of_birth": "1988-03-14", "on_date": ON_DATE}
    return {**base, **fields}


def screen(kb, **fields):
    return engine.evaluate(engine.parse_answers(answers(**fields), kb), kb)


def rules_of(result):
    return {finding.rule for finding in result.findings}


def born_years_before(years, days=0):
    on = datetime.date.fromisoformat(ON_DATE)
    return (on.replace(year=on.year - years) + datetime.timedelta(days=days)).isoformat()
