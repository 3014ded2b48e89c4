from . import clinic_urls, patient_urls

app_name = "outcomes"

# One namespace, two parts: the patient's (scores, the progress report, and the staff's view and
# sending of it) and the clinic's own outcomes. The progress charts need no URL of their own:
# the plan page and the patient page draw them server-side.
urlpatterns = [*patient_urls.urlpatterns, *clinic_urls.urlpatterns]
