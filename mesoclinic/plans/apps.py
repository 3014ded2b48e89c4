from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "mesoclinic.plans"
    label = "plans"
    verbose_name = "Treatment plans and consent"
