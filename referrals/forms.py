from django import forms

from partners.checkboxes import checkboxes, domain_groups
from partners.communes import resolve_place, unknown_place_message
from partners.models import Domain, Public
from partners.reference_lists import ReferenceMultipleChoiceField

from .enums import OffConventionReason, RefusalReason
from .models import COMMENT_MAX_LENGTH, DUPLICATE_REFERENCE_MESSAGE, RADIUS_CHOICES_KM, Case

NOTES_WARNING = (
    "N'inscrivez aucune donnée identifiante : ni nom, ni prénom, ni date de naissance, ni adresse, "
    "ni numéro de sécurité sociale. Décrivez la situation, pas la personne."
)


RADIUS_MESSAGE = (
    "Rayon invalide : choisissez "
    + ", ".join(map(str, RADIUS_CHOICES_KM[:-1]))
    + (f" ou {RADIUS_CHOICES_KM[-1]} km.")
)


class DomainsField(ReferenceMultipleChoiceField):
    def label_from_instance(self, domain):
        return domain.label


class CaseForm(forms.ModelForm):
    needs = DomainsField(
        label="Besoins",
        queryset=Domain.objects.active().select_related("parent"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Indiquez au moins un besoin."},
    )
    place = forms.CharField(
        label="Lieu de vie (code postal ou commune)",
        max_length=100,
        error_messages={"required": "Indiquez le lieu de vie : un code postal ou une commune."},
        # Rendered by templates/components/place_field.html.
    )
    publics = ReferenceMultipleChoiceField(
        label="Publics", queryset=Public.objects.active(), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Case
        fields = ["reference", "needs", "radius_km", "publics", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"notes": NOTES_WARNING}
        error_messages = {
            "reference": {"required": "Indiquez une référence (elle est proposée automatiquement)."},
            "radius_km": {"invalid_choice": RADIUS_MESSAGE},
        }

    def clean_reference(self):
        """Surrounding spaces are dropped; a reference is unique in its service, whatever its case."""
        reference = self.cleaned_data["reference"].strip()
        duplicates = Case.objects.with_reference(self.instance.service_id, reference).exclude(
            pk=self.instance.pk
        )
        if reference and duplicates.exists():
            raise forms.ValidationError(DUPLICATE_REFERENCE_MESSAGE, code="duplicate")
        return reference

    def __init__(self, *args, near=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.near = near  # the worker's point: a homonym resolves to the one near it (resolve_place)
        if self.instance.commune_id and not self.is_bound:
            self.initial["place"] = f"{self.instance.commune.name} ({self.instance.commune.department})"

    def clean_place(self):
        place = self.cleaned_data["place"].strip()
        self.commune = None
        if place:
            resolution = resolve_place(place, near=self.near)
            self.commune = resolution.commune
            if self.commune is None:
                raise forms.ValidationError(unknown_place_message(place, resolution.candidates))
        return place

    def save(self, commit=True):
        self.instance.commune = self.commune
        return super().save(commit)

    def domain_groups(self):
        return domain_groups(self["needs"])

    def public_boxes(self):
        return checkboxes(self["publics"])


class RefusalForm(forms.Form):
    reason = forms.ChoiceField(label="Motif du refus", choices=[("", "— Choisir —"), *RefusalReason.choices])
    details = forms.CharField(
        label="Précisions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=COMMENT_MAX_LENGTH,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == RefusalReason.OTHER and not cleaned.get("details", "").strip():
            self.add_error("details", "Motif « Autre » : précisez-le en quelques mots.")
        return cleaned


class CommentForm(forms.Form):
    comment = forms.CharField(
        label="Commentaire (facultatif)",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


REASON_CHOICES = [("", "— Choisir le motif —"), *OffConventionReason.choices]


class ReferralMessageForm(forms.Form):
    """What the sender gives the receiver with their referrals: a message and how to call back."""

    message = forms.CharField(
        label="Message pour le service (facultatif)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=NOTES_WARNING,
    )
    contact_phone = forms.RegexField(
        label="Téléphone pour vous rappeler",
        required=False,
        max_length=30,
        regex=r"^[0-9+ ().-]{6,30}$",
        error_messages={"invalid": "Numéro de téléphone invalide : chiffres, espaces, +, points ou tirets."},
    )
    contact_email = forms.EmailField(label="Courriel pour vous répondre", required=False, max_length=254)

    @classmethod
    def for_service(cls, service, data=None):
        """Bound to ``data``, or prefilled with the sender's service's own phone and e-mail."""
        return cls(data, initial={"contact_phone": service.phone, "contact_email": service.email})
