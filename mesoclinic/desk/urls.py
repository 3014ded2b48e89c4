from django.urls import path

from . import views

app_name = "desk"

urlpatterns = [
    path("patients/<int:pk>/", views.patient_record, name="patient"),
    path("patients/<int:pk>/merge/", views.merge_choose, name="merge_choose"),
    path("patients/<int:pk>/merge/<int:duplicate_pk>/", views.merge_confirm, name="merge"),
]
