from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The pages that gather every app (the patient's record) and the demo clinic: the top of
    the dependency order, so nothing below it needs to import anything above itself."""

    name = "mesoclinic.desk"
    label = "desk"
    verbose_name = "Front desk"
