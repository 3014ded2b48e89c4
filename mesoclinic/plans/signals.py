"""What plans announce to the apps above them (which connect in their AppConfig.ready)."""

from django.dispatch import Signal

# A plan was stopped or completed, inside the transaction that ended it: plan, by, reason.
plan_ended = Signal()
