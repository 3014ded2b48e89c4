import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation

from .views import healthz

HEALTHZ_PATH = "/healthz"


class HealthCheckMiddleware:
    """Answers /healthz before anything else runs: sessions, authentication and the clinic's
    time zone all need the database, and a probe must get its 503 when the database is down,
    not the 500 those would raise. It also spares load balancers the HTTPS redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTHZ_PATH:
            return healthz(request)
        return self.get_response(request)


SESSION_KEY = "last_activity"
# Writing the session on every request would cost a database write per page; a minute's
# resolution is plenty for a 15-minute timeout.
TOUCH_EVERY_SECONDS = 60


class IdleTimeoutMiddleware:
    """Signs users out after IDLE_TIMEOUT_MINUTES without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(SESSION_KEY)
            timeout = settings.IDLE_TIMEOUT_MINUTES * 60
            if last is not None and now - last > timeout:
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {settings.IDLE_TIMEOUT_MINUTES} minutes without activity.",
                )
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                    return response
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= TOUCH_EVERY_SECONDS:
                request.session[SESSION_KEY] = now
        return self.get_response(request)


class PatientLanguageMiddleware:
    """Patients read the app in their preferred language; staff pages stay in English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        # Ask for the record only for patients: staff pages must not pay a query for it.
        if user is None or not user.is_authenticated or user.role != "patient":
            return self.get_response(request)
        record = getattr(user, "patient_record", None)
        if record is None:
            return self.get_response(request)
        with translation.override(record.preferred_language):
            return self.get_response(request)
