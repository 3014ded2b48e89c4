from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mesoclinic.screening.knowledge import KnowledgeBaseError, build_knowledge_base, untranslated

# In dependency order. Each app's clinical knowledge is a fixture in fixtures/.
KNOWLEDGE_FIXTURES = [
    "sources",
    "vocabulary",
    "rules",
    "evaluation",
    "protocols",
    "ingredients",
    "consent",
    "adverse_events",
    "outcome_measures",
    "aftercare",
]


class Command(BaseCommand):
    help = "Load (or refresh) the clinical knowledge base from fixtures/, then check it is consistent."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, verbosity, **options):
        try:
            with transaction.atomic(using=database):
                call_command("loaddata", *KNOWLEDGE_FIXTURES, database=database, verbosity=0)
                kb = build_knowledge_base()
        except KnowledgeBaseError as error:
            raise CommandError(f"The knowledge base is inconsistent, nothing was loaded: {error}") from error
        if verbosity:
            counts = {
                severity: sum(rule.severity == severity for rule in kb.rules)
                for severity in ("critical", "warning", "info")
            }
            self.stdout.write(
                f"Knowledge base {kb.version}: {len(kb.terms)} terms, {len(kb.rules)} rules "
                f"({counts['critical']} critical, {counts['warning']} warning, {counts['info']} info), "
                f"{len(kb.documents)} source documents."
            )
        # A missing Turkish text shows the English to Turkish-speaking staff: loaded, but said.
        missing = untranslated("tr", using=database)
        if missing and verbosity:
            self.stderr.write(
                f"{len(missing)} texts have no Turkish translation (the English is shown): " + "; ".join(missing[:10])
            )
