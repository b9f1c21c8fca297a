from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .models import User


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notification_frequency"]
        widgets = {"notification_frequency": forms.RadioSelect}
        labels = {"notification_frequency": "Recevoir les courriels de suivi de mes orientations"}


@require_http_methods(["GET", "POST"])
def notification_settings(request):
    """Each user picks: one e-mail per event, or one daily summary."""
    form = NotificationSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Vos préférences de courriel sont enregistrées.")
        return redirect("accounts:notification_settings")
    status = 400 if form.errors else 200
    return render(request, "accounts/notification_settings.html", {"form": form}, status=status)
