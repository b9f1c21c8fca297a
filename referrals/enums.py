from django.db import models


class CaseStatus(models.TextChoices):
    OPEN = "open", "En cours"
    CLOSED = "closed", "Clôturée"


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SENT = "sent", "Envoyée"
    UNDER_REVIEW = "under_review", "En cours d'étude"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"
    COMPLETED = "completed", "Terminée"
    CANCELLED = "cancelled", "Annulée"
    EXPIRED = "expired", "Expirée sans réponse"


class Classification(models.TextChoices):
    IN_CONVENTION = "in_convention", "Partenaire conventionné"
    OFF_CONVENTION = "off_convention", "Hors convention"
    NO_PARTNER = "no_partner", "Aucun partenaire pour ce besoin"


class OffConventionReason(models.TextChoices):
    NO_PARTNER_IN_TIME = "no_partner_in_time", "Aucun partenaire disponible à temps"
    PARTNER_FULL = "partner_full", "Partenaire complet ou liste d'attente"
    BETTER_FIT = "better_fit", "Meilleure adéquation ou expertise spécialisée"
    CLOSER = "closer", "Plus proche de la personne"
    PERSON_CHOICE = "person_choice", "Choix de la personne"
    CONTINUITY = "continuity", "Continuité d'une relation existante"
    OTHER = "other", "Autre"


class RefusalReason(models.TextChoices):
    FULL = "full", "Plus de place disponible"
    OUT_OF_SCOPE = "out_of_scope", "Demande hors de nos missions"
    OUT_OF_AREA = "out_of_area", "Hors de notre territoire"
    INCOMPLETE = "incomplete", "Demande incomplète"
    UNREACHABLE = "unreachable", "Personne injoignable"
    OTHER = "other", "Autre"
