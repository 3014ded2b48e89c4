from django.urls import path

from . import fhir, patient_views, review_views, staff_views

app_name = "questionnaires"

urlpatterns = [
    # The patient, through the link in the message (no login: the date of birth is the second factor).
    path("q/<str:token>/", patient_views.link_start, name="link"),
    path("q/<str:token>/<int:step>/", patient_views.link_screen, name="link_screen"),
    path("q/<str:token>/review/", patient_views.link_review, name="link_review"),
    path("q/<str:token>/done/", patient_views.link_done, name="link_done"),
    # The patient, signed in to their account.
    path("questionnaire/", patient_views.mine, name="mine"),
    path("questionnaire/<int:pk>/<int:step>/", patient_views.mine_screen, name="mine_screen"),
    path("questionnaire/<int:pk>/review/", patient_views.mine_review, name="mine_review"),
    path("questionnaire/<int:pk>/done/", patient_views.mine_done, name="mine_done"),
    # The clinic.
    path("patients/<int:patient_pk>/questionnaire/send/", staff_views.send, name="send"),
    path("questionnaires/<int:pk>/revoke/", staff_views.revoke, name="revoke"),
    path("questionnaires/answers/<int:pk>/", review_views.review, name="review"),
    path("questionnaires/answers/<int:pk>/adopt/", review_views.adopt, name="adopt"),
    # FHIR R4 resources, for other systems.
    path("questionnaires/fhir/Questionnaire.json", fhir.questionnaire_view, name="fhir_questionnaire"),
    path("questionnaires/answers/<int:pk>/fhir.json", fhir.response_view, name="fhir_response"),
]
