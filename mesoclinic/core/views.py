from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health
from .forms import LanguageForm
from .models import Role
from .permissions import EVERYONE, NO_ROLE, STAFF, allow

HOME_BY_ROLE = {
    Role.PRACTITIONER: "session_day:today",
    Role.SCHEDULER: "scheduling:calendar",
    Role.PATIENT: "aftercare:mine",
}


@allow(*EVERYONE, NO_ROLE)
def home(request):
    """Each role starts where its day starts."""
    if request.user.role in HOME_BY_ROLE:
        return redirect(HOME_BY_ROLE[request.user.role])
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "core/no_role.html", status=403)


@allow(*EVERYONE, anonymous=True)
@never_cache
@require_GET
def healthz(request):
    body, healthy = health.report()
    return JsonResponse(body, status=200 if healthy else 503)


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


@allow(*EVERYONE, anonymous=True)
def bench_bare(request):
    """The load benchmark's yardstick: the whole middleware stack, and no work of our own."""
    return HttpResponse("ok", content_type="text/plain")


@allow(*STAFF)
def profile(request):
    """The staff member's own settings: the language they read the app in."""
    form = LanguageForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        language = user.language or request.LANGUAGE_CODE
        with translation.override(language):  # said in the language just chosen
            messages.success(request, _("Saved. The app speaks your language from now on."))
        return redirect("profile")
    return render(request, "registration/profile.html", {"form": form})
