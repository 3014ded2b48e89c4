"""The patient's progress report: page, PDF, and sending it through the aftercare channel."""


def connect():
    """Called from OutcomesConfig.ready: the report's message composer."""
