"""What the session app announces to the apps above it (which connect in their AppConfig.ready)."""

from django.dispatch import Signal

# A chart was signed and its transaction committed: session_id. Aftercare makes the sheet.
chart_signed = Signal()
