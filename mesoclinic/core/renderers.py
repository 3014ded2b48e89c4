"""The form renderer: Jinja2 for speed, Django's engine for the widgets Jinja2 has no copy of.

Django draws every widget from a template. Its own template engine made that a third of the
screening form's time, so the app renders forms with Django's Jinja2 copies of the widget
templates. Those copies cover django.forms only: the admin's widgets (`admin/widgets/date.html`,
`related_widget_wrapper.html`) and auth's (`auth/widgets/read_only_password_hash.html`) exist
only as Django templates, and every admin page that uses one answered 500.

So a template is looked up in Jinja2 first and, if Jinja2 has no such template, in Django's
engine (the same loaders Django's own DjangoTemplates renderer uses: its widget templates,
then every app's `templates/`). Each name's answer is remembered, so a page that draws the
same admin widget fifty times asks the file system once. The app's forms never reach the
fallback: it costs them nothing.
"""

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist
from django.utils.functional import cached_property


class Jinja2WithDjangoFallback(Jinja2):
    def __init__(self):
        super().__init__()
        self._only_in_django = set()

    @cached_property
    def fallback(self):
        return DjangoTemplates()

    def get_template(self, template_name):
        if template_name not in self._only_in_django:
            try:
                return super().get_template(template_name)
            except TemplateDoesNotExist as not_in_jinja2:
                try:
                    template = self.fallback.get_template(template_name)
                except TemplateDoesNotExist as not_in_django:
                    raise TemplateDoesNotExist(template_name, chain=[not_in_jinja2, not_in_django]) from None
                self._only_in_django.add(template_name)
                return template
        return self.fallback.get_template(template_name)
