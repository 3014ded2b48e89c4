from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("patients/<int:patient_pk>/screenings/new/", views.screening_new, name="new"),
    path("patients/<int:patient_pk>/screenings/evaluate/", views.screening_evaluate, name="evaluate"),
    path("screenings/<int:pk>/", views.screening_detail, name="detail"),
    path(
        "screenings/<int:pk>/prescriber/<slug:medication>/",
        views.prescriber_decision,
        name="prescriber_decision",
    ),
    path("knowledge/", views.knowledge_index, name="knowledge"),
    path("knowledge/rules/<slug:code>/", views.rule_page, name="rule"),
    path("knowledge/terms/", views.terms_page, name="terms"),
    path("knowledge/terms/<slug:kind>/<slug:code>/", views.term_page, name="term"),
    path("knowledge/sources/<slug:key>/", views.source_page, name="source"),
]
