from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesoclinic.core"
    label = "core"
    verbose_name = "Clinic and users"

    def ready(self):
        from . import signals  # noqa: F401
