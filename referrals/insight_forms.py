"""The filters of the insight pages, kept in the URL: period by month, département, need catégorie."""

import datetime

from django import forms
from django.core.validators import RegexValidator

from partners.models import Domain

from .insight import Filters, Period, add_months

MAX_MONTHS = 36


class MonthField(forms.CharField):
    """A month as ``YYYY-MM`` (``<input type="month">``), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "AAAA-MM"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return datetime.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError("Indiquez un mois au format AAAA-MM.") from None


class InsightFilterForm(forms.Form):
    du = MonthField(label="Du mois", required=False)
    au = MonthField(label="Au mois", required=False)
    departement = forms.CharField(
        label="Département",
        required=False,
        max_length=3,
        validators=[
            RegexValidator(r"^(\d{2,3}|2A|2B)$", "Indiquez un numéro de département (ex. 35, 2A, 974).")
        ],
        widget=forms.TextInput(attrs={"inputmode": "text", "autocomplete": "off", "size": 4}),
    )
    categorie = forms.ModelChoiceField(
        label="Besoin",
        required=False,
        empty_label="Tous les besoins",
        queryset=Domain.objects.active().filter(parent__isnull=True).order_by("label"),
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_period = Period.last_months(12, today)

    def clean(self):
        data = super().clean()
        first = data.get("du") or (
            add_months(data["au"], -11) if data.get("au") else self.default_period.first
        )
        last = data.get("au") or max(first, self.default_period.last)
        if first > last:
            raise forms.ValidationError("Le premier mois doit précéder le dernier.")
        if len(Period(first, last).months()) > MAX_MONTHS:
            raise forms.ValidationError(f"Choisissez une période de {MAX_MONTHS} mois au plus.")
        data["period"] = Period(first, last)
        return data

    def filters(self) -> Filters:
        """The valid filters, or the defaults (last 12 months, everything) when the form is invalid."""
        if not self.is_valid():
            return Filters(self.default_period)
        data = self.cleaned_data
        return Filters(
            data["period"], department=data.get("departement") or "", category=data.get("categorie")
        )
