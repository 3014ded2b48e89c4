from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="core.purge_expired_sessions")
def purge_expired_sessions():
    """Delete expired login sessions; the session table would otherwise only grow."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
