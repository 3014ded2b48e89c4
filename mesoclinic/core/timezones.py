from django.db import DatabaseError
from django.utils import timezone

from .selectors import current_clinic


class ClinicTimezoneMiddleware:
    """Pages show times in the clinic's zone (storage stays UTC): a 10:00 session reads 10:00."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            timezone.activate(current_clinic().zone)
        except DatabaseError:  # the database is down: the page will say so; its times are UTC
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
