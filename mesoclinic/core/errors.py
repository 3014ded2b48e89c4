"""The 400 page: Django's handler400, rendered with the request (the navigation of the role)
and, for a query parameter refused by `core.params`, the reason."""

from django.shortcuts import render

from .params import BadParameter


def bad_request(request, exception=None):
    problem = str(exception) if isinstance(exception, BadParameter) else ""
    return render(request, "400.html", {"problem": problem}, status=400)
