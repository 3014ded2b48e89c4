from django.urls import path

from . import views

app_name = "photos"

urlpatterns = [
    path("sessions/<int:pk>/photos/", views.photo_upload, name="upload"),
    path("photos/<int:pk>/photo.jpg", views.photo_file, name="file"),
    path("photos/<int:pk>/thumbnail.jpg", views.photo_thumbnail, name="thumbnail"),
    path("patients/<int:patient_pk>/photos/compare/", views.photo_compare, name="compare"),
    path("patients/<int:patient_pk>/photos/align/", views.photo_align, name="align"),
    path("photos/alignments/<int:pk>/aligned.jpg", views.photo_aligned, name="aligned"),
]
