from django.urls import path

from . import views

app_name = "desk"

urlpatterns = [
    path("patients/<int:pk>/", views.patient_record, name="patient"),
]
