"""The shape of the code, held by tests: dependencies point one way (README, Architecture).

    core → patients → screening → plans → treatment_sessions → aftercare → questionnaires → outcomes → desk

A module may import its own app and the apps before it, never one after it. Work that flows
the other way goes through a signal the lower app sends (plans.signals, treatment_sessions.
signals), a registry it offers (reminders.delivery.register_composer) or a task by name.
Inside the session app, its capabilities keep an order too. Imports inside functions between
apps are allowed only in AppConfig.ready, where the app registry is ready for them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "core",
    "patients",
    "screening",
    "plans",
    "treatment_sessions",
    "aftercare",
    "questionnaires",
    "outcomes",
    "desk",
]
# Inside treatment_sessions: the shared core of the app, then each capability on those below it.
# The session page (views.py, urls.py), the tasks, the demo and apps.py sit at the top.
CAPABILITIES = ["models", "signals", "status", "selectors", "reminders", "scheduling", "stock", "session_day", "photos"]
TOP = {"views", "urls", "tasks", "demo", "apps", "admin"}


def _modules():
    for path in sorted((ROOT / "mesoclinic").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imports(path, module):
    """(line, imported module, inside a function, the function's name) for every import."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []

    def visit(node, function=None):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, function or child.name)
            elif isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                # "from x import y": y may be a module of x (from . import views), so x.y is what is
                # imported; for a name of x, x.y names the same app and capability as x.
                found.extend((child.lineno, f"{target}.{alias.name}", function) for alias in child.names)
            else:
                visit(child, function)

    visit(tree)
    return found


def _app(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "mesoclinic" and parts[1] in ORDER else None


def _capability(module):
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["mesoclinic", "treatment_sessions"]:
        return None
    return parts[2]


def _app_violations(path, module):
    here = _app(module)
    if here is None:
        return []
    wrong = []
    for line, target, function in _imports(path, module):
        there = _app(target)
        if there is None or there == here:
            continue
        if ORDER.index(there) > ORDER.index(here):
            wrong.append(f"{path.name}:{line} imports {target} ({there} is after {here})")
        elif function is not None and function != "ready":
            wrong.append(f"{path.name}:{line} imports {target} inside {function}()")
    return wrong


def _capability_violations(path, module):
    here = _capability(module)
    if here is None or here in TOP or here == "__init__":
        return []
    wrong = []
    for line, target, _ in _imports(path, module):
        there = _capability(target)
        if there is None or there == here:
            continue
        if there in TOP or CAPABILITIES.index(there) > CAPABILITIES.index(here):
            wrong.append(f"{path.name}:{line} imports {target} ({there} is after {here})")
    return wrong


def test_apps_import_only_the_apps_before_them():
    wrong = [problem for path, module in _modules() for problem in _app_violations(path, module)]
    assert not wrong, "\n".join(wrong)


def test_the_session_apps_capabilities_import_only_those_before_them():
    wrong = [problem for path, module in _modules() for problem in _capability_violations(path, module)]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_what_they_forbid(tmp_path):
    """Not vacuous: an import of aftercare from the session app, an import dodged into a
    function, and the re-check importing the session page are each found."""
    charting = tmp_path / "charting.py"
    charting.write_text(
        "from mesoclinic.aftercare.services import sheet_for\n"
        "def sign():\n    from mesoclinic.plans.limits import plan_flags\n"
        "from mesoclinic.treatment_sessions import views\n"
    )
    module = "mesoclinic.treatment_sessions.session_day.charting"
    assert len(_app_violations(charting, module)) == 2
    assert _capability_violations(charting, module) == [
        "charting.py:4 imports mesoclinic.treatment_sessions.views (views is after session_day)"
    ]
