from django.contrib import admin

from mesoclinic.core.admin import PatientDataAdmin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(PatientDataAdmin):
    list_display = ["display_name", "date_of_birth", "phone", "preferred_language", "updated_at"]
    search_fields = ["given_name", "family_name", "phone", "email"]
    list_filter = ["preferred_language", "sex"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"

    def audit_patient(self, obj):
        return obj
