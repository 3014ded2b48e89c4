from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health
from .models import Role

HOME_BY_ROLE = {
    Role.PRACTITIONER: "treatment_sessions:today",
    Role.SCHEDULER: "treatment_sessions:calendar",
    Role.PATIENT: "aftercare:mine",
}


@login_required
def home(request):
    """Each role starts where its day starts."""
    if request.user.role in HOME_BY_ROLE:
        return redirect(HOME_BY_ROLE[request.user.role])
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "core/no_role.html", status=403)


@never_cache
@require_GET
def healthz(request):
    database = health.database_state()
    broker = health.broker_state()
    healthy = database["state"] == "up" and broker["state"] == "up"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def bench_bare(request):
    """The load benchmark's yardstick: the whole middleware stack, and no work of our own."""
    return HttpResponse("ok", content_type="text/plain")
