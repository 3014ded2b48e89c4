"""Sections an app above plans adds to the plan page (the outcomes app's progress, say).

The plan page is in plans, which may not import the apps above it (tests/test_architecture.py).
An app registers a section in its AppConfig.ready: a template and a function that gives the
template's context for a plan. The page renders the sections in registration order, server-side,
so they print and need no script.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    name: str
    template: str
    context: Callable  # (request, plan) -> dict, or None to leave the section out for this plan


_SECTIONS: dict[str, Section] = {}


def register_section(name, template, context):
    _SECTIONS[name] = Section(name, template, context)


def sections_for(request, plan):
    """[(template, context)] for each registered section that has something for `plan`."""
    found = []
    for section in _SECTIONS.values():
        context = section.context(request, plan)
        if context is not None:
            found.append((section.template, context))
    return found
