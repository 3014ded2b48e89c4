"""`python manage.py screen [PATH | -]`: the screening engine from the command line.

The contract is in README.md ("The screen command"). It runs the same engine and rules as
the browser, reads no patient record and writes nothing.
"""

import json
import sys

from django.core.management.base import BaseCommand
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today, current_clinic
from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import KnowledgeBaseError, knowledge_base, vocabulary
from mesoclinic.screening.selectors import hours_until

EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = "Screen answers (a JSON object, or an array of them) and print the findings as JSON."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default="-", help="A JSON file, or - for standard input (default).")
        parser.add_argument("--vocabulary", action="store_true", help="Print the accepted terms as JSON and stop.")

    def handle(self, *args, path, vocabulary: bool, **options):
        try:
            kb = knowledge_base()
        except KnowledgeBaseError as error:
            self._fail([f"knowledge base: {error}"])
        if vocabulary:
            self.stdout.write(json.dumps(_vocabulary_json(kb), ensure_ascii=False, indent=2))
            return
        document = self._read(path)
        batch = isinstance(document, list)
        items = document if batch else [document]
        today = clinic_today()
        zone, now = current_clinic().zone, timezone.now()  # "the moment the command runs" (contracts §1)
        results, problems = [], []
        for index, item in enumerate(items):
            try:
                answers = engine.parse_answers(item, kb, today=today)
            except engine.InvalidAnswers as error:
                prefix = f"[{index}] " if batch else ""
                problems += [f"{prefix}{problem}" for problem in error.problems]
                continue
            # A hold that needs longer than is left before on_date cannot be kept (contracts §1).
            result = engine.evaluate(answers, kb, hours_to_prepare=hours_until(answers.on_date, now, zone))
            results.append(result.as_json())
        if problems:
            self._fail(problems)  # nothing on stdout: a partial batch would be misread
        # One object, typed by a person, is printed for reading; a batch, sent by a program,
        # compactly (a few KB per result: indenting it doubled the cost of a screening).
        if batch:
            self.stdout.write(json.dumps(results, ensure_ascii=False, separators=(",", ":")))
        else:
            self.stdout.write(json.dumps(results[0], ensure_ascii=False, indent=2))

    def _read(self, path):
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as error:
            self._fail([f"{path}: cannot read the file ({error.strerror})"])
        except UnicodeDecodeError:
            self._fail([f"{path}: is not UTF-8 text"])
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            self._fail([f"input: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"])

    def _fail(self, lines):
        for line in lines:
            self.stderr.write(line)
        sys.exit(EXIT_BAD_INPUT)


def _vocabulary_json(kb):
    terms = vocabulary()
    return {
        "rules_version": kb.version,
        "conditions": terms["condition"],
        "medications": terms["medication"],
        "allergies": {**terms["ingredient"], **terms["allergen"]},
        "ingredients": terms["ingredient"],
        "areas": terms["area"],
        "indications": terms["indication"],
    }
