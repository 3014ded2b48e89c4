import time

from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .middleware import SESSION_KEY
from .models import Clinic
from .selectors import CLINIC_CACHE_KEY


@receiver(user_logged_in)
def start_activity_clock(sender, request, user, **kwargs):
    request.session[SESSION_KEY] = int(time.time())


@receiver([post_save, post_delete], sender=Clinic)
def forget_cached_clinic(sender, **kwargs):
    cache.delete(CLINIC_CACHE_KEY)
