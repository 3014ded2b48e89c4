from django.urls import path

from . import views

app_name = "session_day"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("sessions/<int:pk>/recheck/", views.recheck_page, name="recheck"),
    path("sessions/<int:pk>/recheck/evaluate/", views.recheck_evaluate, name="recheck_evaluate"),
    path("sessions/<int:pk>/chart/", views.chart, name="chart"),
    path("sessions/<int:pk>/addendum/", views.addendum, name="addendum"),
    path("recall/", views.recall_search, name="recall"),
    path("recall/export.csv", views.recall_export, name="recall_export"),
]
