"""Who may open which page. Every view declares its roles with `allow`; nothing else decides.

The declaration is the policy: the access-matrix test reads `allowed_roles` from every URL's
view and requests each page as each role, so the two can never disagree.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import STAFF_ROLES, Role

ANONYMOUS = "anonymous"
NO_ROLE = ""  # a signed-in account without a role (a superuser made with createsuperuser)
STAFF = STAFF_ROLES
EVERYONE = (Role.PRACTITIONER, Role.SCHEDULER, Role.PATIENT)


def allow(*roles, anonymous=False, record=False):
    """Signed-in users with one of `roles` pass. Everyone else:
    - a stranger signs in first (unless `anonymous`: the page's secret is its URL);
    - a patient gets a 403, or a 404 when the page shows one patient's `record`: it does not
      tell a patient whether another patient's record exists;
    - staff of another role get a 403: the clinic admin knows the patient, not their history.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            # The health check is answered before the session middleware: no user at all.
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                if anonymous:
                    return view(request, *args, **kwargs)
                return redirect_to_login(request.get_full_path())
            if user.role not in roles:
                if user.role == Role.PATIENT and record:
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles) | ({ANONYMOUS} if anonymous else frozenset())
        wrapped.shows_record = record
        return wrapped

    return decorator


def load_or_404(request, queryset, **lookup):
    """The patient's record `lookup` names, for a view whose roles `allow` already checked:
    staff may open every patient's; a patient only their own (another's is a 404)."""
    record = get_object_or_404(queryset, **lookup)
    if request.user.role == Role.PATIENT:
        own = getattr(request.user, "patient_record", None)
        if own is None or getattr(record, record.audit_patient_field) != own.pk:
            raise Http404
    return record
