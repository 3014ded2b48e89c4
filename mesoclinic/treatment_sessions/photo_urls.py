from django.urls import path

from . import photo_views

app_name = "photos"

urlpatterns = [
    path("sessions/<int:pk>/photos/", photo_views.photo_upload, name="upload"),
    path("photos/<int:pk>/photo.jpg", photo_views.photo_file, name="file"),
    path("photos/<int:pk>/thumbnail.jpg", photo_views.photo_thumbnail, name="thumbnail"),
    path("patients/<int:patient_pk>/photos/compare/", photo_views.photo_compare, name="compare"),
]
