from django.contrib import admin

from mesoclinic.core.admin import PatientDataAdmin

from .models import Consent, ConsentClause, IngredientInfo, Plan, Product, Protocol


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["title", "code", "default_sessions", "sessions_min", "sessions_max", "default_depth_mm"]
    filter_horizontal = ["areas", "default_areas", "ingredients", "default_ingredients"]


@admin.register(IngredientInfo)
class IngredientInfoAdmin(admin.ModelAdmin):
    list_display = ["term", "plain_name"]
    filter_horizontal = ["indications"]


@admin.register(ConsentClause)
class ConsentClauseAdmin(admin.ModelAdmin):
    list_display = ["heading", "code", "position"]
    filter_horizontal = ["indications"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "manufacturer", "is_active"]
    filter_horizontal = ["ingredients"]


@admin.register(Plan)
class PlanAdmin(PatientDataAdmin):
    """Read-only: plans change only through the app, where the gate applies."""

    list_display = ["patient", "indication", "status", "sessions_planned", "created_at"]
    list_filter = ["status", "indication"]
    raw_id_fields = ["patient", "screening"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Consent)
class ConsentAdmin(PatientDataAdmin):
    list_display = ["patient", "plan", "signed_at", "photo_consent", "withdrawn_at"]
    exclude = ["document_html"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
