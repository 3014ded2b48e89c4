from django.urls import path

from . import recall_views

app_name = "recall"

urlpatterns = [
    path("", recall_views.recall_search, name="search"),
    path("export.csv", recall_views.recall_export, name="export"),
]
