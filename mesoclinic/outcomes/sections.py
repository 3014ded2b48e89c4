"""The progress section of the plan page (registered with plans.sections)."""


def connect():
    """Called from OutcomesConfig.ready."""
