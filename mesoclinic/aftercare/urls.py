from django.urls import path

from . import views

app_name = "aftercare"

urlpatterns = [
    path("", views.my_aftercare, name="mine"),
]
