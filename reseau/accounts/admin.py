from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "service", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    list_select_related = ["service__organisation"]
    search_fields = ["email", "first_name", "last_name"]
    autocomplete_fields = ["service"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("first_name", "last_name", "service", "notification_frequency")}),
        ("Droits", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "service", "password1", "password2")}),
    )
