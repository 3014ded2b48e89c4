"""Error pages in the app's look. 500 renders without the database: it may be the cause."""

from django.http import HttpResponseServerError
from django.template import loader
from django.views import defaults


def permission_denied(request, exception=None):
    return defaults.permission_denied(request, exception, template_name="403.html")


def page_not_found(request, exception=None):
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request):
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({}))
