from django.contrib import admin

from mesoclinic.core.admin import PatientDataAdmin

from .models import EvaluationItem, Rule, Screening, SourceDocument, Term


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "year"]


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "code", "is_selectable"]
    list_filter = ["kind", "is_selectable"]
    search_fields = ["code", "label", "synonyms"]
    filter_horizontal = ["parents"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Edits are checked by the engine's own validation (Rule.clean) before they are saved."""

    list_display = ["code", "severity", "title", "hold_substance", "hold_hours", "position"]
    list_filter = ["severity"]
    search_fields = ["code", "title", "detail", "action"]


@admin.register(EvaluationItem)
class EvaluationItemAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "position"]


@admin.register(Screening)
class ScreeningAdmin(PatientDataAdmin):
    """Read-only: a recorded screening is never edited."""

    list_display = ["patient", "kind", "outcome", "recorded_by", "recorded_at", "rules_version"]
    list_filter = ["outcome", "kind"]
    raw_id_fields = ["patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
