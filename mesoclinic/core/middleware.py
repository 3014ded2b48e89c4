import time

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import ngettext

from .audit import client_ip
from .permissions import ANONYMOUS
from .selectors import current_clinic
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
                minutes = settings.IDLE_TIMEOUT_MINUTES
                messages.info(
                    request,
                    ngettext(
                        "You were signed out after %(minutes)s minute without activity.",
                        "You were signed out after %(minutes)s minutes without activity.",
                        minutes,
                    )
                    % {"minutes": minutes},
                )
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                    return response
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= TOUCH_EVERY_SECONDS:
                request.session[SESSION_KEY] = now
        return self.get_response(request)


class LanguageMiddleware:
    """Everyone reads the app in their own language: a patient in their record's preferred
    language, staff in the language of their profile, else the clinic's default. Signed-out
    pages (the sign-in, a secret aftercare link) use the clinic's default; an aftercare link
    page itself switches to the sheet's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    def _language(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.role == "patient":
                # Ask for the record only for patients: staff pages must not pay a query for it.
                record = getattr(user, "patient_record", None)
                if record is not None:
                    return record.preferred_language
            elif user.language:
                return user.language
        return current_clinic().staff_language or settings.LANGUAGE_CODE


class AuditContextMiddleware(AuditlogMiddleware):
    """auditlog's middleware (the request's user on every change, a correlation id), with the
    address taken as every other audit entry takes it (audit.client_ip). auditlog's own copies
    the first X-Forwarded-For entry as the client sent it (garbage there made every audited
    page a 500 on PostgreSQL's inet column) and the port from a client-sent X-Forwarded-Port;
    AUDITLOG_DISABLE_REMOTE_ADDR stays on so nothing of it is used."""

    def get_extra_data(self, request):
        return {"remote_addr": client_ip(request), "remote_port": None, "actor": self._get_actor(request)}


class NoStoreMiddleware:
    """Pages with patient data are not kept by the browser or any cache on the way: every
    response to a signed-in user, and every page whose secret is its URL (an aftercare link,
    a calendar feed), says `Cache-Control: no-store, private`, as the PDFs always did. The
    back button after signing out then shows no one's record on a shared clinic computer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        match = getattr(request, "resolver_match", None)
        secret_url = match is not None and ANONYMOUS in getattr(match.func, "allowed_roles", ())
        if signed_in or secret_url:
            patch_cache_control(response, no_store=True, private=True)
        return response
