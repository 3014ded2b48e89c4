from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count
from django.utils.translation import ngettext

from .audit import record_list_view, record_view
from .models import Absence, AuditEntry, Clinic, Closure, OpeningHours, Room, User, WorkingHours
from .services import user_deactivate


class PatientDataAdmin(admin.ModelAdmin):
    """For models that hold patients' data: reading them in the admin is recorded in the audit
    trail as reading them in the app is (core.audit.record_view). The change (or view-only)
    page and the history page write one entry for the record; the list writes one for each
    patient on the page, so every patient's access history says who had them on screen."""

    audit_patient_field = "patient"

    def audit_patient(self, obj):
        return getattr(obj, self.audit_patient_field)

    def audit_page(self, obj=None, what=""):
        return f"admin: {self.opts.verbose_name}{what}"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None and response.status_code == 200:
            # The page's rows, already fetched for the template (the queryset caches them).
            patients = [self.audit_patient(obj) for obj in changelist.result_list]
            record_list_view(request, patients, self.audit_page(what=" list"))
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            record_view(request, self.audit_patient(obj), self.audit_page(obj), obj=obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            obj = response.context_data["object"]
            record_view(request, self.audit_patient(obj), self.audit_page(obj, " history"), obj=obj)
        return response


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts are deactivated, not deleted, once the audit trail names them: departed or
    compromised staff lose access at once (is_active off, every session ended), and the trail
    keeps saying who did what. Only an account that never touched anything can be deleted."""

    list_display = ["username", "display_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinic", {"fields": ("role", "title")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Clinic", {"fields": ("role", "title")}))
    actions = ["deactivate_and_sign_out"]

    @admin.action(description="Deactivate the selected accounts and sign them out", permissions=["change"])
    def deactivate_and_sign_out(self, request, queryset):
        deactivated = 0
        for user in queryset.filter(is_active=True):
            ended = user_deactivate(user=user)
            self.log_change(request, user, f"Deactivated; {ended} signed-in session(s) ended.")
            deactivated += 1
        self.message_user(
            request,
            ngettext("Deactivated %d account.", "Deactivated %d accounts.", deactivated) % deactivated,
            messages.SUCCESS,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            ended = user_deactivate(user=obj)
            self.message_user(request, f"{obj} is deactivated; {ended} signed-in session(s) ended.")

    def get_deleted_objects(self, objs, request):
        """Refuse, in words, to delete an account the audit trail names (the model refuses too:
        the entry's actor is PROTECT). One count per account, not a list of its entries."""
        named = dict(
            AuditEntry.objects.filter(actor__in=objs)
            .order_by()
            .values_list("actor")
            .annotate(entries=Count("pk"))
            .values_list("actor", "entries")
        )
        if not named:
            return super().get_deleted_objects(objs, request)
        protected = [
            ngettext(
                "%(user)s: %(count)d audit entry names this account.",
                "%(user)s: %(count)d audit entries name this account.",
                entries,
            )
            % {"user": user, "count": entries}
            + " The audit trail is append-only, so an account with a history is never deleted."
            " Deactivate it instead: untick Active on its page, or use the action"
            " “Deactivate the selected accounts and sign them out”."
            for user in objs
            if (entries := named.get(user.pk))
        ]
        return [], {}, set(), protected


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "timezone"]


admin.site.register([Room, OpeningHours, Closure, WorkingHours, Absence])


# django-auditlog registers its own admin for the entry model; ours is read-only.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only for everyone, superusers included."""

    list_display = ["timestamp", "actor", "action", "object_repr", "patient_id", "remote_addr"]
    list_filter = ["action", "content_type"]
    search_fields = ["object_repr", "actor__username", "remote_addr"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
