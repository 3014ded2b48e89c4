"""Aftercare: the sheet a patient takes home, made from what was actually done."""


def session_completed(*, session_id):
    """A chart was signed: prepare the aftercare sheet and tell the patient (aftercare issue)."""
    return None
