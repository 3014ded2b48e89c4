"""What the patient does (scores, the progress report) and the practitioner's view of that report."""

from django.urls import path

from . import patient_views, report_views

urlpatterns = [
    # The patient: through the aftercare link of their email (no login), or signed in.
    path("progress/link/<str:token>/scores/", patient_views.link_scores, name="link_scores"),
    path("progress/link/<str:token>/", patient_views.link_report, name="link_report"),
    path("progress/link/<str:token>/pdf/", patient_views.link_report_pdf, name="link_report_pdf"),
    path("progress/", patient_views.mine, name="mine"),
    path("progress/sheets/<int:pk>/scores/", patient_views.my_scores, name="my_scores"),
    path("progress/plans/<int:pk>/", patient_views.my_report, name="my_report"),
    path("progress/plans/<int:pk>/pdf/", patient_views.my_report_pdf, name="my_report_pdf"),
    # The practitioner, from the plan page's card.
    path("plans/<int:pk>/progress/<slug:measure>.svg", report_views.chart_picture, name="chart"),
    path("plans/<int:pk>/progress-report/", report_views.report_page, name="report"),
    path("plans/<int:pk>/progress-report/pdf/", report_views.report_pdf, name="report_pdf"),
    path("plans/<int:pk>/progress-report/send/", report_views.report_send, name="report_send"),
]
