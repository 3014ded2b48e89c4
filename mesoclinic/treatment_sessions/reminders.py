"""Reminders follow their sessions: booking, moving and cancelling update them."""


def sync_reminders(session):
    """Create, move or cancel the reminders of one session to match it (issue: session day)."""
    return None
