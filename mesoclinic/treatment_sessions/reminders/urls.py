from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("outbox/", views.outbox_page, name="outbox"),
    path("outbox/<int:pk>/", views.outbox_message, name="message"),
]
