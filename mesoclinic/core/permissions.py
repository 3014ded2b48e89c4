"""Who may open which page. Views declare their roles with these decorators."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Role


def role_required(*roles):
    """Signed-in users with one of `roles` pass; others see the 403 page, strangers log in."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


practitioner_required = role_required(Role.PRACTITIONER)
scheduler_required = role_required(Role.SCHEDULER)
staff_required = role_required(Role.PRACTITIONER, Role.SCHEDULER)
patient_required = role_required(Role.PATIENT)


def patient_for_staff(request, pk, roles=(Role.PRACTITIONER, Role.SCHEDULER)):
    """The patient `pk`, if the signed-in staff member's role may see this page.

    Patients never open staff pages, not even about themselves: they get a 404, which
    does not tell them whether another patient's record exists. A scheduler asking for a
    clinical page gets a 403: they know the patient, but not their medical history.
    """
    from mesoclinic.patients.models import Patient

    if request.user.role == Role.PATIENT:
        raise Http404
    if request.user.role not in roles:
        raise PermissionDenied
    return get_object_or_404(Patient, pk=pk)
