from django.db import models


class LegalKind(models.TextChoices):
    ASSOCIATION = "association", "Association / ASBL"
    SOCIAL_ACTION_CENTRE = "social_action_centre", "CCAS / CIAS / CPAS"
    PUBLIC_SERVICE = "public_service", "Service public"
    LOCAL_AUTHORITY = "local_authority", "Collectivité territoriale"
    HOSPITAL = "hospital", "Établissement de santé"
    COOPERATIVE = "cooperative", "Coopérative / entreprise sociale"
    COMPANY = "company", "Entreprise"
    OTHER = "other", "Autre"


# The choice labels name the French and Belgian forms together for the admin; a page about one organisation
# names only its own country's form (a French service is never called an "ASBL" or a "CPAS").
LEGAL_KIND_LABELS_FR = {
    LegalKind.ASSOCIATION: "Association",
    LegalKind.SOCIAL_ACTION_CENTRE: "CCAS / CIAS",
}
LEGAL_KIND_LABELS_BE = {
    LegalKind.ASSOCIATION: "ASBL",
    LegalKind.SOCIAL_ACTION_CENTRE: "CPAS",
}


class CapacityStatus(models.TextChoices):
    OPEN = "open", "Places disponibles"
    WAITING_LIST = "waiting_list", "Liste d'attente"
    FULL = "full", "Complet"


class ReferralMode(models.TextChoices):
    """How a worker refers a person to the service."""

    FORM = "form", "Formulaire en ligne"
    PHONE = "phone", "Téléphone"
    EMAIL = "email", "Courriel"
    WALK_IN = "walk_in", "La personne se présente seule"


class ConventionStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Terminée"


class MembershipRole(models.TextChoices):
    PILOT = "pilot", "Pilote"
    MEMBER = "member", "Membre"


class ErrorReportCategory(models.TextChoices):
    CONTACT = "contact", "Coordonnées (téléphone, courriel, site)"
    OPENING_HOURS = "opening_hours", "Horaires d'ouverture"
    ADDRESS = "address", "Adresse ou lieu d'accueil"
    CAPACITY = "capacity", "Disponibilité (places, liste d'attente)"
    DESCRIPTION = "description", "Description, thématiques ou publics"
    HOW_TO_REFER = "how_to_refer", "Comment orienter"
    CLOSED = "closed", "Le service n'existe plus"
    OTHER = "other", "Autre"


class ErrorReportStatus(models.TextChoices):
    OPEN = "open", "Ouvert"
    CLOSED = "closed", "Clos"


class SearchOrder(models.TextChoices):
    """How the directory search sorts its results (``tri`` in /recherche/).

    French values: they stay in the URL the worker shares or bookmarks.
    """

    RELEVANCE = "pertinence", "Pertinence"
    DISTANCE = "distance", "Distance"
    FRESHNESS = "fraicheur", "Fraîcheur"


# The radii a search or a case offers around a place (km), and the one used when none is chosen: the
# search form shows it selected, the search uses it, a new case starts with it.
SEARCH_RADII_KM = (5, 10, 20, 50)
DEFAULT_RADIUS_KM = 20


class SpreadsheetImportStatus(models.TextChoices):
    """Where a spreadsheet import stands: analysed (dry run) first, written only once confirmed."""

    PENDING = "pending", "En attente"
    ANALYSING = "analysing", "Analyse en cours"
    READY = "ready", "Analysé : à confirmer"
    IMPORTING = "importing", "Import en cours"
    DONE = "done", "Importé"
    FAILED = "failed", "Échec (rien n'a été écrit)"
