from django import forms

from .enums import CapacityStatus, ErrorReportCategory
from .models import ERROR_REPORT_TEXT_MAX_LENGTH

NO_PERSONAL_DATA = (
    "N'inscrivez aucune donnée identifiante : ni nom, ni prénom, ni date de naissance, ni adresse, "
    "ni numéro de sécurité sociale. Décrivez l'erreur, pas la personne."
)
LISTING_SAVED = "Merci : la fiche est à jour. Les professionnel·les du réseau voient déjà ces informations."
LISTING_CONFIRMED = "Merci : la fiche est confirmée à jour aujourd'hui."
OPENING_HOURS_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 10000  # data·inclusion's limit for a service description


class ListingForm(forms.Form):
    """What a service keeps up to date itself: capacity, contact, opening hours, description."""

    capacity_status = forms.ChoiceField(
        label="Disponibilité actuelle",
        choices=CapacityStatus.choices,
        error_messages={"invalid_choice": "Disponibilité inconnue : choisissez-en une dans la liste."},
    )
    phone = forms.RegexField(
        label="Téléphone",
        required=False,
        max_length=30,
        regex=r"^[0-9+ ().-]{6,30}$",
        error_messages={"invalid": "Numéro de téléphone invalide : chiffres, espaces, +, points ou tirets."},
    )
    email = forms.EmailField(
        label="Courriel du service",
        required=False,
        max_length=254,
        help_text="Les liens pour mettre à jour cette fiche sont envoyés à cette adresse.",
        error_messages={"invalid": "Adresse électronique invalide (exemple : accueil@association.fr)."},
    )
    website = forms.URLField(
        label="Site ou formulaire en ligne",
        required=False,
        max_length=200,
        assume_scheme="https",
        error_messages={"invalid": "Adresse de site invalide (exemple : https://association.fr)."},
    )
    opening_hours = forms.CharField(
        label="Horaires d'ouverture",
        required=False,
        max_length=OPENING_HOURS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Au format OpenStreetMap, la fiche affiche « Ouvert maintenant » ou « Ferme à 17 h » : "
            "par exemple Mo-Fr 09:00-12:00,14:00-17:00; PH off. Un texte libre reste possible."
        ),
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    FIELDS = ("capacity_status", "phone", "email", "website", "opening_hours", "description")

    @classmethod
    def for_service(cls, service, data=None):
        """Bound to ``data``, or showing the service's current listing."""
        return cls(data, initial={name: getattr(service, name) for name in cls.FIELDS})


class ErrorReportForm(forms.Form):
    category = forms.ChoiceField(
        label="Qu'est-ce qui est inexact ?",
        choices=[("", "— Choisir —"), *ErrorReportCategory.choices],
        error_messages={
            "required": "Choisissez ce qui est inexact.",
            "invalid_choice": "Catégorie inconnue : choisissez-en une dans la liste.",
        },
    )
    text = forms.CharField(
        label="Précisez",
        max_length=ERROR_REPORT_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=NO_PERSONAL_DATA,
        error_messages={"required": "Précisez l'erreur en quelques mots."},
    )

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError("Précisez l'erreur en quelques mots.")
        return text
