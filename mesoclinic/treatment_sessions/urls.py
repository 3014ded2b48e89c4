from django.urls import path

from . import views

app_name = "treatment_sessions"

urlpatterns = [
    path("sessions/<int:pk>/", views.session_detail, name="session"),
]
