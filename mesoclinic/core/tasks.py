from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="core.purge_expired_sessions")
def purge_expired_sessions():
    """Delete expired login sessions; the session table would otherwise only grow."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(name="core.ensure_audit_partitions")
def ensure_audit_partitions():
    """Create the audit trail's yearly partition for next year (PostgreSQL), daily from beat: an
    entry of a year with no partition lands in the default one, never refused, but that year
    can then not be archived on its own. Nothing to do on SQLite."""
    from mesoclinic.core import audit_partitions

    if not audit_partitions.is_partitioned():
        return {}
    return {str(year): result for year, result in audit_partitions.ensure_years().items()}
