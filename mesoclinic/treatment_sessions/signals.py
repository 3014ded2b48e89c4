"""What the session app announces to the apps above it (which connect in their AppConfig.ready)."""

from django.dispatch import Signal

# A chart was signed and its transaction committed: session_id. Aftercare makes the sheet.
chart_signed = Signal()

# Sessions of a plan were booked and the transaction committed: plan_id, session_ids, and
# `first`: whether they include the plan's first session. The questionnaire goes out with a
# first booking.
sessions_booked = Signal()
