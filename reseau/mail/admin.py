from django.contrib import admin, messages

from .models import MailStatus, OutgoingMail
from .services import mail_retry


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    """Administrators see every e-mail that could not leave, why, and can try again."""

    list_display = ["subject", "status", "attempts", "created_at", "next_attempt_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutgoingMail._meta.fields]
    actions = ["retry"]
    show_full_result_count = False

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Réessayer l'envoi des courriels en échec")
    def retry(self, request, queryset):
        count = mail_retry(
            mail_ids=list(queryset.filter(status=MailStatus.FAILED).values_list("pk", flat=True))
        )
        messages.success(request, f"{count} courriel(s) remis dans la file d'envoi.")
