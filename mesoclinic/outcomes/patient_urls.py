"""patient_urls: filled in by its owner."""

urlpatterns = []
