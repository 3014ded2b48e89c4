from . import clinic_urls, patient_urls, progress_urls

app_name = "outcomes"

# One namespace, three parts: the progress the staff read (plan and patient pages, charts), what
# the patient does (scores, the progress report), and the clinic's own outcomes.
urlpatterns = [*progress_urls.urlpatterns, *patient_urls.urlpatterns, *clinic_urls.urlpatterns]
