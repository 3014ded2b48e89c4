from django.urls import path

from . import setup_views

app_name = "core"

urlpatterns = [
    path("setup/", setup_views.setup, name="setup"),
    path("setup/clinic/", setup_views.setup_clinic, name="setup_clinic"),
    path("setup/hours/", setup_views.setup_hours, name="setup_hours"),
    path("setup/closures/", setup_views.setup_closures, name="setup_closures"),
    path("setup/rooms/", setup_views.setup_rooms, name="setup_rooms"),
    path("setup/practitioners/<int:pk>/", setup_views.setup_practitioner, name="setup_practitioner"),
]
