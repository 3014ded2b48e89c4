"""The clinic's own outcomes (what works, what harms), for practitioners and the clinic admin."""

from django.urls import path

from . import clinic_views

urlpatterns = [path("outcomes/", clinic_views.clinic_page, name="clinic")]
