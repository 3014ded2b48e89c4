from . import clinic_urls, patient_urls

app_name = "outcomes"

# One namespace, two parts: the patient's (scores, the progress report, and the staff's view and
# sending of it, and the staff pages' chart pictures) and the clinic's own outcomes.
urlpatterns = [*patient_urls.urlpatterns, *clinic_urls.urlpatterns]
