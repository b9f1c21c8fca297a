"""Demo data: a realistic directory around Rennes and Saint-Malo, three networks and demo accounts.

``load_demo()`` needs the reference lists (``load_referentials``) and the communes of
Ille-et-Vilaine (``load_communes``). Everything is generated from ``random.Random(seed)`` and a
seeded ``Faker("fr_FR")``, over communes read in a fixed order, so one seed gives one demo.

Idempotency, our choice: the demo *directory* (organisations, services, networks, conventions)
is created once, in one transaction. Its marker is the network ``PRECARITY_NETWORK``: when it
exists, the directory is left exactly as it is (nothing regenerated, nothing duplicated, nothing
deleted, so referrals made during a demo survive). The demo *accounts* are upserted on every run
by their fixed e-mail address: password reset to ``DEMO_PASSWORD``, role and employer restored.
To start a fresh demo, start from an empty database.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from . import search_index
from .communes import distance_km
from .enums import CapacityStatus, ConventionStatus, LegalKind, MembershipRole, ReferralMode
from .models import (
    AccessMode,
    Commune,
    Convention,
    ConventionMembership,
    Domain,
    Fee,
    Language,
    Network,
    Organisation,
    Postcode,
    Public,
    Service,
    ServiceType,
)

DEMO_PASSWORD = "reseau-demo-2026"

RENNES = "35238"
SAINT_MALO = "35288"
DEPARTMENT = "35"
SUBURB_MAX_KM = 15
RURAL_KM = (15, 45)
SAINT_MALO_AREA_KM = 15
MIN_RURAL_COMMUNES = 3
TARGET_SERVICES = 300
STALE_SHARE = 0.15
OPTIONAL_SHARE = 0.62  # share of organisations offering each optional service of their kind

PRECARITY_NETWORK = "Réseau précarité Rennes Métropole"
MENTAL_HEALTH_NETWORK = "Réseau santé mentale Pays de Rennes"
SAINT_MALO_NETWORK = "Réseau insertion Pays de Saint-Malo"

# --- Reference codes (national schema) -------------------------------------------------------

# Short names of the thématiques used by the catalogue below.
T = {
    "metier": "choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite",
    "competences": "choisir-un-metier--identifier-ses-points-forts-et-ses-competences",
    "creer": "creer-une-entreprise--definir-son-projet-de-creation-dentreprise",
    "structurer": "creer-une-entreprise--structurer-son-projet-de-creation-dentreprise",
    "demarches": "difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives",
    "citoyennete": "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete",
    "droits": "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits",
    "mesure": "difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte",
    "discrimination": "difficultes-administratives-ou-juridiques--connaitre-ses-droits-face-a-une-discrimination",
    "judiciaire": "difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire",
    "autonomie-budget": "difficultes-financieres--acquerir-une-autonomie-budgetaire",
    "budget": "difficultes-financieres--ameliorer-sa-gestion-budgetaire",
    "protection": "difficultes-financieres--mettre-en-place-une-mesure-de-protection-financiere",
    "prevention-financiere": "difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere",
    "surendettement": "difficultes-financieres--situation-dendettement-surendettement",
    "menage": "equipement-et-alimentation--aide-menagere",
    "alimentation": "equipement-et-alimentation--alimentation",
    "electromenager": "equipement-et-alimentation--electromenager",
    "habillement": "equipement-et-alimentation--habillement",
    "garde": "famille--garde-denfants",
    "dependance": "famille--prise-en-charge-personne-dependante",
    "parentalite": "famille--soutien-a-la-parentalite-et-a-leducation",
    "aidants": "famille--soutien-aidants",
    "violences": "famille--surmonter-conflits-separation-violence",
    "calcul": "lecture-ecriture-calcul--maitriser-le-calcul",
    "francais": "lecture-ecriture-calcul--maitriser-le-francais",
    "changer-logement": "logement-hebergement--changer-de-logement",
    "louer": "logement-hebergement--louer-un-logement",
    "hebergement": "logement-hebergement--rechercher-une-solution-dhebergement-temporaire",
    "impayes": "logement-hebergement--reduire-les-impayes-de-loyer",
    "maintien-logement": "logement-hebergement--se-maintenir-dans-le-logement",
    "info-logement": "logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement",
    "vehicule": "mobilite--acceder-a-un-vehicule",
    "garage": "mobilite--entretenir-reparer-son-vehicule",
    "parcours-mobilite": "mobilite--etre-accompagne-dans-son-parcours-mobilite",
    "financer-mobilite": "mobilite--financer-ma-mobilite",
    "permis": "mobilite--preparer-un-permis",
    "mobilite-douce": "mobilite--mobilite-douce-partagee-collective",
    "en-ligne": "numerique--acceder-a-des-services-en-ligne",
    "connexion": "numerique--acceder-a-une-connexion-internet",
    "equipement": "numerique--acquerir-un-equipement",
    "numerique": "numerique--maitriser-les-fondamentaux-du-numerique",
    "reseau": "preparer-sa-candidature--developper-son-reseau",
    "recherche-emploi": "preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi",
    "cv": "preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation",
    "valoriser": "preparer-sa-candidature--valoriser-ses-competences",
    "culture": "remobilisation--activites-sportives-et-culturelles",
    "benevolat": "remobilisation--benevolat-action-citoyenne",
    "confiance": "remobilisation--bien-etre-confiance-en-soi",
    "lien": "remobilisation--lien-social",
    "soins": "sante--acces-aux-soins",
    "addictions": "sante--addictions",
    "mdph": "sante--constituer-un-dossier-mdph-invalidite",
    "psy": "sante--sante-mentale",
    "sexuelle": "sante--sante-sexuelle",
    "dossier-formation": "se-former--monter-son-dossier-de-formation",
    "formation": "se-former--trouver-sa-formation",
    "entretien": "trouver-un-emploi--convaincre-un-recruteur-en-entretien",
    "maintien-emploi": "trouver-un-emploi--maintien-dans-lemploi",
    "offres": "trouver-un-emploi--repondre-a-des-offres-demploi",
}

P = {
    "tous": "tous-publics",
    "actifs": "actifs",
    "minimas": "beneficiaires-des-minimas-sociaux",
    "chomage": "demandeurs-emploi",
    "etudiants": "etudiants",
    "familles": "familles",
    "femmes": "femmes",
    "jeunes": "jeunes",
    "handicap": "personnes-en-situation-de-handicap",
    "urgence": "personnes-en-situation-durgence",
    "justice": "personnes-en-situation-juridique-specifique",
    "exiles": "personnes-exilees",
    "qpv": "residents-qpv-frr",
    "seniors": "seniors",
}

ON_SITE, REMOTE, AT_HOME = "en-presentiel", "a-distance", "a-domicile"
FREE, PAID = "gratuit", "payant"
FORM, PHONE, EMAIL, WALK_IN = ReferralMode.FORM, ReferralMode.PHONE, ReferralMode.EMAIL, ReferralMode.WALK_IN

# Languages spoken besides French, for services that work with exiled people.
EXILE_LANGUAGES = ("en", "ar", "fa", "ps", "ru", "uk", "ti", "so", "sq", "ka", "es", "pt", "ro", "tr")


# --- Catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTemplate:
    key: str
    name: str
    description: str
    domains: tuple
    publics: tuple
    types: tuple
    modes: tuple = (ON_SITE,)
    fees: tuple = (FREE,)
    referral: tuple = (PHONE, EMAIL)
    languages: tuple = ()
    optional: bool = False
    where: str | None = None  # territory of an antenna away from the organisation's seat
    radius: int | None = None
    phone: str | None = None
    hours: str | None = None
    capacity: tuple = (80, 14, 6)  # weights: open, waiting list, full


def S(key, name, description, domains, publics, types, **kwargs):
    return ServiceTemplate(
        key,
        name,
        description,
        tuple(T[d] for d in domains),
        tuple(P[p] for p in publics),
        tuple(types),
        **kwargs,
    )


@dataclass(frozen=True)
class Kind:
    key: str
    legal_kind: str
    names: dict  # territory ("rennes", "suburb", "rural", "malo" or "*") -> name patterns
    counts: dict  # territory -> number of organisations
    services: tuple


CATALOGUE = [
    Kind(
        "ccas",
        LegalKind.SOCIAL_ACTION_CENTRE,
        {"*": ["CCAS de {commune}"], "rural": ["CCAS de {commune}", "CIAS du pays de {commune}"]},
        {"rennes": 1, "suburb": 3, "rural": 6, "malo": 1},
        (
            S(
                "accueil",
                "Accueil social et accompagnement",
                "Le centre communal d'action sociale de {commune} accueille, informe et accompagne les "
                "habitants en difficulté : ouverture des droits (RSA, prime d'activité, complémentaire "
                "santé solidaire), aides facultatives, orientation vers les partenaires.",
                ("demarches", "droits", "autonomie-budget"),
                ("tous", "minimas"),
                ("accompagnement", "information"),
                referral=(PHONE, EMAIL, WALK_IN),
            ),
            S(
                "secours",
                "Aide alimentaire et secours d'urgence",
                "Bons alimentaires, colis d'urgence et aides financières ponctuelles après évaluation "
                "par un·e travailleur·se social·e du CCAS.",
                ("alimentation", "prevention-financiere"),
                ("tous", "urgence", "familles"),
                ("aide-financiere", "aide-materielle"),
                referral=(PHONE, EMAIL),
            ),
            S(
                "domiciliation",
                "Domiciliation administrative",
                "Élection de domicile pour les personnes sans domicile stable ayant un lien avec "
                "{commune} : réception du courrier, attestation pour l'ouverture des droits.",
                ("demarches", "droits"),
                ("urgence", "exiles"),
                ("accompagnement",),
                referral=(WALK_IN, PHONE),
                optional=True,
            ),
            S(
                "rsa",
                "Accompagnement des bénéficiaires du RSA",
                "Référent·e unique pour les allocataires du RSA sans activité : contrat d'engagement, "
                "levée des freins (santé, logement, mobilité), lien avec France Travail.",
                ("droits", "recherche-emploi", "lien"),
                ("minimas",),
                ("accompagnement",),
                referral=(EMAIL, FORM),
                optional=True,
            ),
            S(
                "seniors",
                "Maintien à domicile des personnes âgées",
                "Évaluation des besoins à domicile, aide ménagère, portage de repas et téléassistance "
                "pour les personnes âgées de {commune}.",
                ("menage", "dependance"),
                ("seniors",),
                ("accompagnement", "aide-materielle"),
                modes=(AT_HOME,),
                fees=(FREE, PAID),
                optional=True,
            ),
        ),
    ),
    Kind(
        "epicerie",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Épicerie solidaire L'Épi",
                "Le Panier partagé",
                "Épicerie sociale La Courte Échelle",
                "L'Épicerie du Coin",
                "Épicerie solidaire Le Grain de sel",
                "La Cagette solidaire",
                "Épicerie solidaire de {commune}",
            ]
        },
        {"rennes": 3, "suburb": 1, "rural": 3, "malo": 1},
        (
            S(
                "epicerie",
                "Épicerie solidaire",
                "Produits alimentaires et d'hygiène à 10 à 30 % de leur prix, pour une durée limitée, "
                "avec un projet (payer une dette, un permis, des vacances) suivi par l'équipe.",
                ("alimentation", "budget"),
                ("minimas", "familles"),
                ("aide-materielle", "accompagnement"),
                fees=(PAID,),
                referral=(EMAIL, FORM),
                capacity=(60, 30, 10),
            ),
            S(
                "ateliers",
                "Ateliers cuisine et budget",
                "Ateliers collectifs pour cuisiner à petit prix, comparer les offres et tenir son budget.",
                ("autonomie-budget", "lien"),
                ("tous", "familles"),
                ("atelier",),
                referral=(PHONE, WALK_IN),
                optional=True,
            ),
            S(
                "vestiaire",
                "Vestiaire solidaire",
                "Vêtements et linge de maison à petit prix, pour adultes et enfants.",
                ("habillement", "lien"),
                ("tous",),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "aide-alimentaire",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Les Tables du Cœur",
                "Entraide alimentaire de {commune}",
                "Le Pain partagé",
                "Association Fraternité Vilaine",
                "La Soupe du soir",
            ]
        },
        {"rennes": 2, "rural": 1, "malo": 1},
        (
            S(
                "distribution",
                "Distribution alimentaire",
                "Colis alimentaires hebdomadaires sur inscription, après un entretien d'accueil.",
                ("alimentation", "prevention-financiere"),
                ("tous", "urgence", "familles"),
                ("aide-materielle",),
                referral=(WALK_IN, PHONE),
                capacity=(70, 20, 10),
            ),
            S(
                "repas",
                "Repas chauds et accueil du soir",
                "Repas chauds servis le soir, sans condition, dans un lieu chaleureux.",
                ("alimentation", "lien"),
                ("urgence",),
                ("aide-materielle",),
                referral=(WALK_IN,),
                optional=True,
            ),
            S(
                "vetements",
                "Bourse aux vêtements",
                "Vêtements gratuits ou à prix symbolique, les mardis après-midi.",
                ("habillement", "prevention-financiere"),
                ("tous", "familles"),
                ("aide-materielle",),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "siao",
        LegalKind.ASSOCIATION,
        {"*": ["SIAO d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "orientation",
                "Demande d'hébergement et de logement accompagné",
                "Le service intégré d'accueil et d'orientation reçoit les demandes d'hébergement "
                "d'insertion, de logement accompagné et de pension de famille, et oriente selon les "
                "places disponibles sur le département.",
                ("hebergement", "louer"),
                ("urgence", "familles", "femmes", "jeunes"),
                ("accompagnement", "information"),
                referral=(FORM,),
                capacity=(0, 80, 20),
            ),
            S(
                "115",
                "Écoute et orientation 115",
                "Numéro d'urgence pour les personnes sans abri : écoute, mise à l'abri, orientation vers "
                "une place d'hébergement d'urgence ou une maraude.",
                ("hebergement", "soins"),
                ("urgence",),
                ("information", "accompagnement"),
                modes=(REMOTE,),
                referral=(PHONE,),
                phone="115",
                hours="24/7",
                radius=80,
            ),
            S(
                "maraude",
                "Équipe mobile de maraude",
                "Maraudes de jour et de nuit à la rencontre des personnes à la rue : lien, accès aux "
                "droits et aux soins, orientation vers l'hébergement.",
                ("lien", "soins", "hebergement"),
                ("urgence",),
                ("accompagnement",),
                modes=(AT_HOME,),
                referral=(PHONE,),
                radius=15,
            ),
        ),
    ),
    Kind(
        "accueil-jour",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Accueil de jour Le Fourneau",
                "Le Puzzle",
                "L'Escale solidaire",
                "Point d'accueil Le Phare",
                "La Halte de {commune}",
            ]
        },
        {"rennes": 3, "malo": 1},
        (
            S(
                "accueil",
                "Accueil de jour",
                "Lieu d'accueil inconditionnel : café, repos, écoute, aide aux démarches et orientation "
                "pour les personnes à la rue ou mal logées.",
                ("lien", "demarches", "alimentation"),
                ("urgence",),
                ("accompagnement", "aide-materielle"),
                referral=(WALK_IN,),
                languages=("en", "ar"),
            ),
            S(
                "hygiene",
                "Douches et laverie",
                "Douches, laverie et kits d'hygiène, sur inscription à l'accueil le matin.",
                ("habillement", "soins"),
                ("urgence",),
                ("aide-materielle",),
                referral=(WALK_IN,),
                optional=True,
            ),
            S(
                "bagagerie",
                "Bagagerie solidaire",
                "Consigne gratuite pour les affaires et les papiers des personnes sans domicile.",
                ("demarches", "lien"),
                ("urgence",),
                ("aide-materielle",),
                referral=(WALK_IN, PHONE),
                optional=True,
                capacity=(50, 30, 20),
            ),
            S(
                "infirmier",
                "Permanence infirmière",
                "Soins infirmiers de premier recours et orientation vers la PASS ou un médecin.",
                ("soins", "droits"),
                ("urgence",),
                ("accompagnement",),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "hebergement",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Association Le Relais",
                "La Passerelle Bretagne",
                "Trait d'union Habitat",
                "Association Les Amis du Foyer",
                "Coallia Bretagne Nord",
                "Le Toit solidaire de {commune}",
            ]
        },
        {"rennes": 3, "rural": 1, "malo": 1},
        (
            S(
                "chrs",
                "Centre d'hébergement et de réinsertion sociale",
                "Hébergement en chambres ou en appartements diffus avec un accompagnement global vers le "
                "logement et l'emploi. Admission sur orientation du SIAO.",
                ("hebergement", "autonomie-budget", "louer"),
                ("urgence", "familles"),
                ("accompagnement",),
                referral=(FORM, EMAIL),
                capacity=(15, 60, 25),
            ),
            S(
                "femmes",
                "Hébergement et accompagnement des femmes victimes de violences",
                "Mise à l'abri en urgence, hébergement sécurisé, accompagnement juridique et social des "
                "femmes victimes de violences conjugales, avec ou sans enfants.",
                ("hebergement", "violences"),
                ("femmes", "urgence"),
                ("accompagnement",),
                referral=(PHONE,),
                optional=True,
                capacity=(40, 40, 20),
            ),
            S(
                "avdl",
                "Accompagnement vers et dans le logement",
                "Mesures d'accompagnement pour accéder à un logement et s'y maintenir : budget, "
                "relation avec le bailleur, appropriation du logement.",
                ("louer", "maintien-logement", "impayes"),
                ("minimas", "urgence"),
                ("accompagnement",),
                modes=(ON_SITE, AT_HOME),
                referral=(FORM, EMAIL),
                optional=True,
            ),
            S(
                "pension",
                "Pension de famille",
                "Logement durable en petits collectifs, avec des hôtes présents au quotidien, pour des "
                "personnes isolées ayant connu la rue.",
                ("louer", "lien"),
                ("urgence", "handicap"),
                ("accompagnement",),
                fees=(PAID,),
                referral=(FORM,),
                optional=True,
                capacity=(10, 70, 20),
            ),
        ),
    ),
    Kind(
        "adil",
        LegalKind.ASSOCIATION,
        {"*": ["Agence d'information sur le logement d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "conseil",
                "Conseil juridique et financier sur le logement",
                "Juristes à l'écoute des locataires, propriétaires et accédants : bail, charges, "
                "dépôt de garantie, aides au logement, recours.",
                ("info-logement", "louer", "changer-logement"),
                ("tous",),
                ("information",),
                modes=(ON_SITE, REMOTE),
                referral=(PHONE, FORM),
            ),
            S(
                "expulsions",
                "Prévention des expulsions locatives",
                "Accompagnement des locataires en impayé de loyer ou assignés : plan d'apurement, "
                "fonds de solidarité logement, préparation de l'audience.",
                ("impayes", "maintien-logement", "judiciaire"),
                ("tous", "minimas"),
                ("accompagnement", "information"),
                referral=(PHONE, EMAIL),
            ),
            S(
                "permanence-malo",
                "Permanence logement de Saint-Malo",
                "Permanence d'un·e juriste de l'agence, sur rendez-vous, deux fois par mois.",
                ("info-logement", "impayes"),
                ("tous",),
                ("information",),
                referral=(PHONE,),
                where="malo",
            ),
        ),
    ),
    Kind(
        "caf",
        LegalKind.PUBLIC_SERVICE,
        {"*": ["Caisse d'allocations familiales d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "accueil",
                "Accueil des allocataires",
                "Accueil sur rendez-vous pour les prestations familiales, les aides au logement, le RSA "
                "et la prime d'activité ; aide à l'utilisation de l'espace en ligne.",
                ("droits", "en-ligne", "demarches"),
                ("tous", "familles", "minimas"),
                ("information",),
                modes=(ON_SITE, REMOTE),
                referral=(FORM, PHONE),
            ),
            S(
                "accueil-malo",
                "Accueil des allocataires de Saint-Malo",
                "Point d'accueil de la CAF à Saint-Malo, sur rendez-vous.",
                ("droits", "demarches"),
                ("tous", "familles"),
                ("information",),
                referral=(FORM,),
                where="malo",
            ),
            S(
                "travail-social",
                "Accompagnement social des familles",
                "Travailleur·ses sociaux de la CAF pour les familles qui vivent une séparation, un "
                "décès ou un impayé de loyer.",
                ("violences", "parentalite", "impayes"),
                ("familles",),
                ("accompagnement",),
                referral=(EMAIL, PHONE),
            ),
        ),
    ),
    Kind(
        "cpam",
        LegalKind.PUBLIC_SERVICE,
        {"*": ["Caisse primaire d'assurance maladie d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "droits",
                "Accès aux droits santé",
                "Ouverture des droits à l'assurance maladie et à la complémentaire santé solidaire, "
                "aide au dossier pour les personnes qui renoncent aux soins.",
                ("droits", "soins"),
                ("tous", "minimas", "exiles"),
                ("information", "accompagnement"),
                modes=(ON_SITE, REMOTE),
                referral=(FORM, EMAIL),
            ),
            S(
                "mission-accompagnement",
                "Mission accompagnement santé",
                "Conseiller·ères qui accompagnent les assurés en renoncement aux soins jusqu'à la "
                "réalisation des soins (recherche de praticien, devis, financement).",
                ("soins", "droits"),
                ("tous", "minimas", "handicap"),
                ("accompagnement",),
                modes=(REMOTE,),
                referral=(FORM,),
            ),
            S(
                "examen",
                "Centre d'examens de santé",
                "Examen de prévention en santé gratuit, adapté aux personnes éloignées du soin.",
                ("soins", "addictions"),
                ("tous", "minimas", "jeunes"),
                ("information",),
                referral=(PHONE, FORM),
                optional=True,
            ),
            S(
                "accueil-malo",
                "Accueil des assurés de Saint-Malo",
                "Accueil sur rendez-vous de la caisse d'assurance maladie à Saint-Malo.",
                ("droits", "soins"),
                ("tous",),
                ("information",),
                referral=(FORM,),
                where="malo",
            ),
        ),
    ),
    Kind(
        "france-travail",
        LegalKind.PUBLIC_SERVICE,
        {
            "rennes": ["France Travail — agence Rennes Nord", "France Travail — agence Rennes Sud"],
            "*": ["France Travail — agence de {commune}"],
        },
        {"rennes": 2, "rural": 1, "malo": 1},
        (
            S(
                "suivi",
                "Inscription et accompagnement vers l'emploi",
                "Inscription, indemnisation et accompagnement personnalisé des demandeur·ses d'emploi.",
                ("recherche-emploi", "offres"),
                ("chomage",),
                ("accompagnement", "information"),
                modes=(ON_SITE, REMOTE),
                referral=(FORM,),
            ),
            S(
                "global",
                "Accompagnement global emploi et social",
                "Accompagnement conjoint d'un·e conseiller·ère France Travail et d'un·e travailleur·se "
                "social·e du Département pour lever les freins sociaux à l'emploi.",
                ("recherche-emploi", "mobilite-douce", "garde"),
                ("chomage", "minimas"),
                ("accompagnement",),
                referral=(EMAIL,),
                capacity=(60, 30, 10),
            ),
            S(
                "ateliers",
                "Ateliers de recherche d'emploi",
                "Ateliers collectifs : CV, lettre de motivation, entretien, candidature en ligne.",
                ("cv", "entretien", "offres"),
                ("chomage", "jeunes"),
                ("atelier",),
                referral=(FORM,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "mission-locale",
        LegalKind.ASSOCIATION,
        {"rennes": ["Mission locale du bassin rennais"], "malo": ["Mission locale du pays de Saint-Malo"]},
        {"rennes": 1, "malo": 1},
        (
            S(
                "accompagnement",
                "Accompagnement des jeunes de 16 à 25 ans",
                "Un·e conseiller·ère unique pour l'emploi, la formation, le logement, la santé et la "
                "mobilité des jeunes sortis du système scolaire.",
                ("recherche-emploi", "formation", "metier"),
                ("jeunes",),
                ("accompagnement",),
                referral=(FORM, PHONE),
            ),
            S(
                "cej",
                "Contrat d'engagement jeune",
                "Accompagnement intensif de 15 à 20 heures par semaine, avec une allocation, pour les "
                "jeunes sans emploi ni formation.",
                ("recherche-emploi", "valoriser", "competences"),
                ("jeunes",),
                ("accompagnement", "aide-financiere"),
                referral=(FORM,),
                capacity=(70, 25, 5),
            ),
            S(
                "logement",
                "Logement des jeunes",
                "Information sur le logement des jeunes, aides (Loca-Pass, FSL jeunes) et orientation "
                "vers les foyers de jeunes travailleurs.",
                ("info-logement", "louer"),
                ("jeunes",),
                ("information",),
                referral=(PHONE, EMAIL),
                optional=True,
            ),
            S(
                "sante",
                "Point écoute santé jeunes",
                "Entretiens avec une psychologue et accès aux bilans de santé, sans avance de frais.",
                ("psy", "soins"),
                ("jeunes",),
                ("accompagnement",),
                referral=(PHONE,),
                optional=True,
                capacity=(50, 40, 10),
            ),
            S(
                "antenne",
                "Permanence de la mission locale à {commune}",
                "Permanence d'un·e conseiller·ère en milieu rural, sur rendez-vous.",
                ("recherche-emploi", "parcours-mobilite"),
                ("jeunes",),
                ("accompagnement",),
                referral=(PHONE,),
                where="rural",
            ),
        ),
    ),
    Kind(
        "hopital",
        LegalKind.HOSPITAL,
        {
            "rennes": ["Centre hospitalier universitaire de Rennes"],
            "malo": ["Centre hospitalier de Saint-Malo"],
        },
        {"rennes": 1, "malo": 1},
        (
            S(
                "pass",
                "Permanence d'accès aux soins de santé (PASS)",
                "Consultations médicales et sociales pour les personnes sans couverture maladie ou "
                "avec des droits incomplets ; délivrance de médicaments et interprétariat.",
                ("soins", "droits"),
                ("urgence", "exiles"),
                ("accompagnement",),
                referral=(WALK_IN, PHONE),
                languages=("en", "ar", "fa", "ru"),
            ),
            S(
                "social",
                "Service social hospitalier",
                "Assistant·es de service social pour préparer la sortie d'hospitalisation : droits, "
                "hébergement, aide à domicile.",
                ("droits", "dependance", "hebergement"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE, EMAIL),
            ),
            S(
                "addictologie",
                "Consultations d'addictologie",
                "Consultations médicales et psychologiques pour l'alcool, le tabac, le cannabis et les "
                "autres produits ; sevrage hospitalier programmé.",
                ("addictions", "psy"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE,),
                capacity=(50, 45, 5),
            ),
            S(
                "cegidd",
                "Centre gratuit d'information, de dépistage et de diagnostic (CeGIDD)",
                "Dépistage anonyme et gratuit du VIH, des hépatites et des IST, contraception d'urgence.",
                ("sexuelle", "soins"),
                ("tous", "jeunes"),
                ("information", "accompagnement"),
                referral=(WALK_IN, PHONE),
                optional=True,
            ),
        ),
    ),
    Kind(
        "epsm",
        LegalKind.HOSPITAL,
        {"*": ["Établissement public de santé mentale de Rennes"]},
        {"rennes": 1},
        (
            S(
                "cmp-nord",
                "Centre médico-psychologique adultes Rennes Nord",
                "Consultations de psychiatrie et de psychologie, soins infirmiers et accompagnement "
                "social pour les adultes du secteur nord de Rennes. Premier rendez-vous infirmier.",
                ("psy", "soins"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE,),
                where="rennes",
                capacity=(30, 60, 10),
            ),
            S(
                "cmp-sud",
                "Centre médico-psychologique adultes Rennes Sud",
                "Consultations de psychiatrie et de psychologie pour les adultes du secteur sud.",
                ("psy", "soins"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE,),
                where="rennes",
                capacity=(30, 60, 10),
            ),
            S(
                "cmp-enfants",
                "Centre médico-psychologique enfants et adolescents",
                "Consultations pour les enfants, les adolescents et leurs parents.",
                ("psy", "parentalite"),
                ("familles", "jeunes"),
                ("accompagnement",),
                referral=(PHONE,),
                where="rennes",
                capacity=(20, 70, 10),
            ),
            S(
                "empp",
                "Équipe mobile psychiatrie précarité",
                "Infirmier·ères et psychiatre qui vont à la rencontre des personnes en grande précarité "
                "souffrant de troubles psychiques, et soutiennent les équipes sociales.",
                ("psy", "soins"),
                ("urgence",),
                ("accompagnement",),
                modes=(AT_HOME, ON_SITE),
                referral=(PHONE, EMAIL),
                radius=25,
            ),
            S(
                "cmp-rural",
                "Centre médico-psychologique de {commune}",
                "Consultations de psychiatrie de secteur pour les adultes, en milieu rural.",
                ("psy", "soins"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE,),
                where="rural",
                capacity=(30, 60, 10),
            ),
            S(
                "cmp-malo",
                "Centre médico-psychologique de Saint-Malo",
                "Consultations de psychiatrie de secteur pour les adultes du pays malouin.",
                ("psy", "soins"),
                ("tous",),
                ("accompagnement",),
                referral=(PHONE,),
                where="malo",
                capacity=(30, 60, 10),
            ),
            S(
                "cattp",
                "Centre d'accueil thérapeutique à temps partiel",
                "Ateliers thérapeutiques en groupe pour retrouver confiance, rythme et lien social.",
                ("psy", "confiance", "lien"),
                ("handicap",),
                ("atelier",),
                referral=(EMAIL,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "gem",
        LegalKind.ASSOCIATION,
        {"*": ["GEM L'Arbre à palabres", "GEM La Boussole", "GEM Les Embruns", "GEM de {commune}"]},
        {"rennes": 2, "malo": 1},
        (
            S(
                "gem",
                "Groupe d'entraide mutuelle",
                "Lieu géré par et pour des personnes vivant avec des troubles psychiques : activités, "
                "sorties, entraide, rompre l'isolement.",
                ("lien", "psy", "confiance"),
                ("handicap",),
                ("atelier",),
                referral=(WALK_IN,),
            ),
            S(
                "ateliers",
                "Ateliers artistiques et sorties",
                "Ateliers d'écriture, de peinture et sorties culturelles organisés par les adhérent·es.",
                ("culture", "confiance"),
                ("handicap",),
                ("atelier",),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "maison-ados",
        LegalKind.ASSOCIATION,
        {"*": ["Maison des adolescents d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "accueil",
                "Accueil et écoute des 12-25 ans",
                "Accueil anonyme et gratuit des adolescent·es et jeunes adultes : mal-être, santé, "
                "relations, scolarité, avec des psychologues et des éducateur·rices.",
                ("psy", "confiance"),
                ("jeunes",),
                ("accompagnement",),
                referral=(WALK_IN, PHONE),
            ),
            S(
                "parents",
                "Soutien aux parents d'adolescents",
                "Entretiens et groupes de parole pour les parents inquiets pour leur adolescent·e.",
                ("parentalite", "psy"),
                ("familles",),
                ("accompagnement", "atelier"),
                referral=(PHONE,),
            ),
        ),
    ),
    Kind(
        "familles-psy",
        LegalKind.ASSOCIATION,
        {"*": ["Entraide Psy Familles 35"]},
        {"rennes": 1},
        (
            S(
                "aidants",
                "Soutien aux proches de personnes vivant avec un trouble psychique",
                "Accueil individuel, groupes de parole et formations pour les familles et les proches.",
                ("aidants", "psy"),
                ("familles",),
                ("accompagnement", "formation"),
                referral=(PHONE, EMAIL),
            ),
        ),
    ),
    Kind(
        "addictions",
        LegalKind.ASSOCIATION,
        {"*": ["Association Le Rivage", "Alter Ego Bretagne", "Horizon Addictions", "Le Gué de {commune}"]},
        {"rennes": 2, "malo": 1},
        (
            S(
                "csapa",
                "Centre de soins, d'accompagnement et de prévention en addictologie (CSAPA)",
                "Consultations médicales, psychologiques et sociales pour toute addiction, avec ou sans "
                "produit ; traitements de substitution.",
                ("addictions", "psy", "soins"),
                ("tous", "justice"),
                ("accompagnement",),
                referral=(PHONE,),
                capacity=(55, 40, 5),
            ),
            S(
                "caarud",
                "Accueil et réduction des risques (CAARUD)",
                "Accueil anonyme, matériel de réduction des risques, dépistage et accès aux droits pour "
                "les personnes qui consomment des drogues.",
                ("addictions", "soins"),
                ("urgence",),
                ("aide-materielle", "accompagnement"),
                referral=(WALK_IN,),
                optional=True,
            ),
            S(
                "cjc",
                "Consultation jeunes consommateurs",
                "Consultation gratuite et confidentielle pour les jeunes et leur entourage.",
                ("addictions", "parentalite"),
                ("jeunes", "familles"),
                ("accompagnement",),
                referral=(PHONE, WALK_IN),
                optional=True,
            ),
        ),
    ),
    Kind(
        "pimms",
        LegalKind.ASSOCIATION,
        {"*": ["Point information médiation multi-services de {commune}"]},
        {"rennes": 1, "malo": 1},
        (
            S(
                "mediation",
                "Médiation et accès aux services publics",
                "Médiateur·rices pour comprendre un courrier, faire une démarche en ligne (CAF, impôts, "
                "ANTS, France Travail) ou régler un litige avec un fournisseur.",
                ("en-ligne", "demarches", "droits"),
                ("tous", "qpv", "seniors"),
                ("accompagnement", "information"),
                referral=(WALK_IN, PHONE),
                languages=("en", "ar", "tr"),
            ),
            S(
                "energie",
                "Médiation énergie et eau",
                "Prévention des impayés d'énergie et d'eau : chèque énergie, échéanciers, éco-gestes.",
                ("prevention-financiere", "impayes", "budget"),
                ("tous", "minimas"),
                ("accompagnement",),
                referral=(PHONE, EMAIL),
            ),
            S(
                "numerique",
                "Accompagnement au numérique",
                "Apprendre à utiliser un smartphone, une messagerie et les sites administratifs.",
                ("numerique", "en-ligne"),
                ("seniors", "tous"),
                ("atelier",),
                referral=(PHONE, WALK_IN),
                optional=True,
            ),
        ),
    ),
    Kind(
        "pcb",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Budget & Vous",
                "Point conseil budget de l'Union des familles",
                "Crédit Éclairé Bretagne",
                "Point conseil budget de {commune}",
            ]
        },
        {"rennes": 2, "rural": 1, "malo": 1},
        (
            S(
                "pcb",
                "Point conseil budget",
                "Conseil gratuit et confidentiel pour faire le point sur son budget, négocier avec ses "
                "créanciers et éviter le surendettement.",
                ("budget", "prevention-financiere", "surendettement"),
                ("tous",),
                ("accompagnement",),
                modes=(ON_SITE, REMOTE),
                referral=(PHONE, EMAIL, FORM),
            ),
            S(
                "surendettement",
                "Aide au dossier de surendettement",
                "Aide à la constitution du dossier Banque de France et suivi de la procédure.",
                ("surendettement", "demarches"),
                ("tous", "minimas"),
                ("accompagnement",),
                referral=(PHONE, EMAIL),
                optional=True,
            ),
            S(
                "ateliers",
                "Ateliers budget",
                "Ateliers collectifs : lire son relevé bancaire, prévoir les dépenses, éviter les frais.",
                ("autonomie-budget", "budget"),
                ("tous", "jeunes"),
                ("atelier",),
                referral=(PHONE,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "tutelle",
        LegalKind.ASSOCIATION,
        {"*": ["Association tutélaire d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "protection",
                "Mesures de protection juridique des majeurs",
                "Exercice des mesures de curatelle et de tutelle confiées par le juge des contentieux "
                "de la protection.",
                ("protection", "mesure"),
                ("handicap", "seniors"),
                ("accompagnement",),
                referral=(EMAIL,),
                capacity=(40, 50, 10),
            ),
            S(
                "masp",
                "Mesure d'accompagnement social personnalisé (MASP)",
                "Accompagnement budgétaire contractualisé avec le Département pour les personnes dont "
                "la santé ou la sécurité est menacée par des difficultés à gérer leurs prestations.",
                ("mesure", "budget", "impayes"),
                ("minimas",),
                ("accompagnement",),
                modes=(AT_HOME, ON_SITE),
                referral=(FORM,),
            ),
            S(
                "tuteurs",
                "Information et soutien aux tuteurs familiaux",
                "Permanences d'information pour les proches qui exercent une mesure de protection.",
                ("aidants", "protection"),
                ("familles",),
                ("information",),
                referral=(PHONE,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "maison-emploi",
        LegalKind.ASSOCIATION,
        {
            "rennes": ["Maison de l'emploi de Rennes Métropole"],
            "malo": ["Maison de l'emploi du pays de Saint-Malo"],
        },
        {"rennes": 1, "malo": 1},
        (
            S(
                "plie",
                "Plan local pour l'insertion et l'emploi (PLIE)",
                "Accompagnement renforcé vers l'emploi durable des personnes qui en sont éloignées.",
                ("recherche-emploi", "valoriser", "offres"),
                ("chomage", "minimas"),
                ("accompagnement",),
                referral=(FORM, EMAIL),
                capacity=(60, 35, 5),
            ),
            S(
                "cv",
                "Atelier CV et entretien",
                "Permanence pour construire son CV et se préparer à un entretien d'embauche.",
                ("cv", "entretien"),
                ("chomage", "jeunes"),
                ("atelier",),
                referral=(WALK_IN, PHONE),
            ),
            S(
                "employeurs",
                "Rencontres employeurs et job dating",
                "Rencontres avec des employeurs qui recrutent sur le territoire.",
                ("reseau", "offres"),
                ("chomage",),
                ("information",),
                referral=(FORM,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "mobilite",
        LegalKind.ASSOCIATION,
        {"*": ["En route !", "Mobil'Emploi 35", "Roue libre solidaire", "Plateforme mobilité de {commune}"]},
        {"rennes": 1, "rural": 2},
        (
            S(
                "conseil",
                "Conseil en mobilité",
                "Bilan mobilité, apprentissage des transports en commun, aides au financement des "
                "déplacements liés à l'emploi ou à la formation.",
                ("parcours-mobilite", "financer-mobilite", "mobilite-douce"),
                ("chomage", "minimas", "jeunes"),
                ("accompagnement",),
                referral=(FORM, EMAIL),
            ),
            S(
                "location",
                "Location solidaire de véhicules",
                "Voitures et scooters loués à petit prix pour aller travailler ou se former.",
                ("vehicule", "parcours-mobilite"),
                ("chomage", "actifs"),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(EMAIL, PHONE),
                optional=True,
                capacity=(50, 35, 15),
            ),
            S(
                "garage",
                "Garage solidaire",
                "Entretien et réparation de véhicules à coût réduit sur prescription d'un·e référent·e.",
                ("garage", "financer-mobilite"),
                ("minimas", "actifs"),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(EMAIL,),
                optional=True,
            ),
            S(
                "permis",
                "Auto-école sociale",
                "Préparation au code et à la conduite avec une pédagogie adaptée.",
                ("permis", "parcours-mobilite"),
                ("chomage", "jeunes", "minimas"),
                ("formation",),
                fees=(PAID,),
                referral=(FORM,),
                optional=True,
                capacity=(30, 60, 10),
            ),
        ),
    ),
    Kind(
        "france-services",
        LegalKind.LOCAL_AUTHORITY,
        {"*": ["France Services de {commune}"]},
        {"suburb": 1, "rural": 3},
        (
            S(
                "demarches",
                "Accompagnement aux démarches administratives",
                "Un guichet unique pour les démarches de la CAF, de l'assurance maladie, de France "
                "Travail, des impôts et de l'ANTS, avec des agent·es formé·es.",
                ("demarches", "en-ligne", "droits"),
                ("tous",),
                ("accompagnement", "information"),
                referral=(WALK_IN, PHONE),
            ),
            S(
                "conseiller-numerique",
                "Conseiller numérique",
                "Ateliers et rendez-vous individuels pour prendre en main ordinateur et smartphone.",
                ("numerique", "equipement"),
                ("tous", "seniors"),
                ("atelier",),
                referral=(PHONE,),
                optional=True,
            ),
            S(
                "acces-libre",
                "Accès libre à internet",
                "Postes informatiques, imprimante et scanner en accès libre, avec aide si besoin.",
                ("connexion", "en-ligne"),
                ("tous",),
                ("aide-materielle",),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "numerique",
        LegalKind.ASSOCIATION,
        {"*": ["Bug & Co", "Les Connectés solidaires", "Déclic numérique", "Espace numérique de {commune}"]},
        {"rennes": 2, "malo": 1},
        (
            S(
                "ateliers",
                "Ateliers d'initiation au numérique",
                "Parcours de dix séances pour acquérir les bases : courriel, sécurité, démarches en ligne.",
                ("numerique", "en-ligne"),
                ("tous", "seniors", "exiles"),
                ("atelier", "formation"),
                referral=(PHONE, EMAIL),
            ),
            S(
                "reconditionnes",
                "Ordinateurs reconditionnés à petit prix",
                "Ordinateurs et smartphones reconditionnés, avec une prise en main, sur prescription.",
                ("equipement", "numerique"),
                ("minimas", "jeunes", "etudiants"),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(EMAIL,),
                optional=True,
            ),
            S(
                "connexion",
                "Aide à l'accès à internet",
                "Cartes SIM solidaires et accompagnement pour souscrire une offre sociale.",
                ("connexion", "en-ligne"),
                ("minimas", "urgence"),
                ("aide-materielle",),
                referral=(EMAIL, PHONE),
                optional=True,
            ),
        ),
    ),
    Kind(
        "fle",
        LegalKind.ASSOCIATION,
        {
            "*": [
                "Langues & Partage",
                "Association Bienvenue",
                "Parlons ensemble",
                "Les Mots de la Vilaine",
                "Ensemble à {commune}",
                "Français pour tous {commune}",
            ]
        },
        {"rennes": 3, "rural": 1, "malo": 1},
        (
            S(
                "fle",
                "Cours de français langue étrangère",
                "Cours de français en petits groupes de niveau, du débutant au B1, animés par des "
                "formateur·rices et des bénévoles.",
                ("francais", "citoyennete"),
                ("exiles",),
                ("formation",),
                referral=(PHONE, EMAIL),
                languages=EXILE_LANGUAGES,
                capacity=(50, 40, 10),
            ),
            S(
                "asl",
                "Ateliers sociolinguistiques",
                "Apprendre le français en situation : la santé, l'école, les transports, l'emploi.",
                ("francais", "lien", "citoyennete"),
                ("exiles", "femmes"),
                ("atelier",),
                referral=(PHONE,),
                languages=EXILE_LANGUAGES,
                optional=True,
            ),
            S(
                "illettrisme",
                "Lutte contre l'illettrisme",
                "Remise à niveau en lecture, écriture et calcul pour des adultes francophones.",
                ("francais", "calcul"),
                ("tous", "chomage"),
                ("formation",),
                referral=(PHONE, EMAIL),
                optional=True,
            ),
        ),
    ),
    Kind(
        "pad",
        LegalKind.PUBLIC_SERVICE,
        {"*": ["Point-justice de {commune}"]},
        {"rennes": 1, "malo": 1},
        (
            S(
                "consultations",
                "Consultations juridiques gratuites",
                "Avocat·es, notaires et juristes associatifs reçoivent sur rendez-vous pour toute "
                "question juridique : famille, logement, travail, dettes.",
                ("judiciaire", "droits", "discrimination"),
                ("tous",),
                ("information",),
                referral=(PHONE,),
            ),
            S(
                "conciliateur",
                "Permanence du conciliateur de justice",
                "Règlement amiable des litiges du quotidien (voisinage, consommation, bail).",
                ("judiciaire", "droits"),
                ("tous",),
                ("information",),
                referral=(PHONE,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "droits-femmes",
        LegalKind.ASSOCIATION,
        {"*": ["Centre d'information sur les droits des femmes et des familles d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "juridique",
                "Information juridique des femmes et des familles",
                "Juristes pour le droit de la famille, le divorce, les violences et les discriminations.",
                ("violences", "discrimination", "judiciaire"),
                ("femmes", "familles"),
                ("information",),
                modes=(ON_SITE, REMOTE),
                referral=(PHONE,),
            ),
            S(
                "violences",
                "Accompagnement des femmes victimes de violences",
                "Accompagnement global et dans la durée : mise en sécurité, plainte, droits, logement.",
                ("violences", "hebergement", "droits"),
                ("femmes",),
                ("accompagnement",),
                referral=(PHONE, EMAIL),
                languages=("en", "ar"),
            ),
            S(
                "emploi",
                "Emploi et création d'activité des femmes",
                "Accompagnement vers l'emploi et la création d'entreprise des femmes.",
                ("recherche-emploi", "creer"),
                ("femmes",),
                ("accompagnement",),
                referral=(EMAIL,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "victimes",
        LegalKind.ASSOCIATION,
        {"*": ["Association d'aide aux victimes d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "victimes",
                "Aide aux victimes d'infractions",
                "Écoute, information sur les droits, accompagnement juridique et psychologique des "
                "victimes, y compris au tribunal.",
                ("judiciaire", "psy", "violences"),
                ("tous", "femmes"),
                ("accompagnement",),
                referral=(PHONE, EMAIL),
            ),
        ),
    ),
    Kind(
        "etrangers",
        LegalKind.ASSOCIATION,
        {"*": ["Solidarité Exil 35", "Accueil et droit des étrangers", "Réfugiés Bienvenue {commune}"]},
        {"rennes": 2, "malo": 1},
        (
            S(
                "juridique",
                "Accompagnement juridique des personnes étrangères",
                "Permanences sur le droit au séjour, la demande d'asile, le regroupement familial et "
                "les recours.",
                ("citoyennete", "judiciaire", "demarches"),
                ("exiles",),
                ("accompagnement", "information"),
                referral=(WALK_IN, EMAIL),
                languages=EXILE_LANGUAGES,
                capacity=(40, 50, 10),
            ),
            S(
                "droits",
                "Accès aux droits des personnes exilées",
                "Aide à l'ouverture des droits (santé, CAF, domiciliation) pour les personnes exilées.",
                ("droits", "demarches", "soins"),
                ("exiles",),
                ("accompagnement",),
                referral=(WALK_IN,),
                languages=EXILE_LANGUAGES,
                optional=True,
            ),
        ),
    ),
    Kind(
        "centre-social",
        LegalKind.ASSOCIATION,
        {
            "rennes": [
                "Centre social de Maurepas",
                "Centre social de Villejean",
                "Centre social du Blosne",
                "Centre social de Cleunay",
                "Centre social de Bréquigny",
                "Centre social des Champs-Manceaux",
            ],
            "malo": ["Centre social de la Découverte", "Centre social de Marville"],
            "*": ["Centre social de {commune}", "Espace de vie sociale de {commune}"],
        },
        {"rennes": 4, "suburb": 2, "rural": 2, "malo": 2},
        (
            S(
                "accueil",
                "Accueil, lien social et activités",
                "Lieu ouvert à tous les habitants : accueil, activités, sorties, projets collectifs et "
                "soutien aux initiatives.",
                ("lien", "culture", "benevolat"),
                ("tous", "qpv", "familles"),
                ("atelier", "information"),
                referral=(WALK_IN,),
            ),
            S(
                "parentalite",
                "Lieu d'accueil enfants-parents",
                "Un espace de jeu et de parole pour les enfants de moins de 6 ans et leurs parents.",
                ("parentalite", "lien"),
                ("familles",),
                ("atelier",),
                referral=(WALK_IN,),
                optional=True,
            ),
            S(
                "scolarite",
                "Accompagnement à la scolarité",
                "Aide aux devoirs et activités éducatives, en lien avec les parents et les écoles.",
                ("parentalite", "lien"),
                ("familles", "jeunes", "qpv"),
                ("accompagnement",),
                referral=(PHONE, WALK_IN),
                optional=True,
                capacity=(50, 40, 10),
            ),
            S(
                "numerique",
                "Permanence d'écrivain public et d'aide numérique",
                "Aide à la rédaction de courriers et aux démarches en ligne, sans rendez-vous.",
                ("demarches", "en-ligne"),
                ("tous", "seniors"),
                ("accompagnement",),
                referral=(WALK_IN,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "mediation-familiale",
        LegalKind.ASSOCIATION,
        {"*": ["Association Médiation et Parentalité", "Espace famille de {commune}"]},
        {"rennes": 1, "malo": 1},
        (
            S(
                "mediation",
                "Médiation familiale",
                "Entretiens avec un·e médiateur·rice familial·e diplômé·e pour les conflits de "
                "séparation, de garde ou entre générations. Participation selon les revenus.",
                ("violences", "parentalite"),
                ("familles",),
                ("accompagnement",),
                fees=(PAID,),
                referral=(PHONE, EMAIL),
                capacity=(50, 45, 5),
            ),
            S(
                "espace-rencontre",
                "Espace de rencontre parents-enfants",
                "Lieu neutre pour maintenir le lien entre un enfant et un parent, souvent sur décision "
                "du juge aux affaires familiales.",
                ("parentalite", "violences"),
                ("familles",),
                ("accompagnement",),
                referral=(EMAIL,),
                optional=True,
                capacity=(30, 60, 10),
            ),
        ),
    ),
    Kind(
        "petite-enfance",
        LegalKind.LOCAL_AUTHORITY,
        {"*": ["Relais petite enfance de {commune}"]},
        {"rennes": 1, "rural": 2},
        (
            S(
                "relais",
                "Information sur les modes de garde",
                "Information des parents sur les assistantes maternelles, les crèches et les aides ; "
                "recherche de places en urgence pour une reprise d'emploi.",
                ("garde", "parentalite"),
                ("familles", "actifs", "chomage"),
                ("information",),
                referral=(PHONE, EMAIL),
            ),
            S(
                "halte",
                "Halte-garderie à vocation d'insertion",
                "Accueil occasionnel des jeunes enfants pour permettre aux parents de chercher un emploi "
                "ou de suivre une formation.",
                ("garde", "recherche-emploi"),
                ("familles", "chomage", "minimas"),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(PHONE,),
                optional=True,
                capacity=(30, 55, 15),
            ),
        ),
    ),
    Kind(
        "planning",
        LegalKind.ASSOCIATION,
        {"*": ["Planning familial d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "consultations",
                "Santé sexuelle et contraception",
                "Consultations, contraception, IVG, dépistage ; accueil anonyme et gratuit pour les "
                "mineur·es.",
                ("sexuelle", "soins"),
                ("tous", "jeunes", "femmes"),
                ("accompagnement", "information"),
                referral=(WALK_IN, PHONE),
            ),
            S(
                "violences",
                "Écoute des victimes de violences sexistes et sexuelles",
                "Entretiens d'écoute et d'orientation pour les personnes victimes de violences.",
                ("violences", "psy"),
                ("femmes", "jeunes"),
                ("accompagnement",),
                referral=(PHONE,),
            ),
        ),
    ),
    Kind(
        "clic",
        LegalKind.LOCAL_AUTHORITY,
        {"*": ["CLIC de {commune}", "Centre local d'information et de coordination du pays de {commune}"]},
        {"rennes": 1, "rural": 1, "malo": 1},
        (
            S(
                "info",
                "Information et coordination pour les personnes âgées",
                "Point d'information pour les personnes âgées et leurs proches : aides à domicile, APA, "
                "hébergement, coordination des intervenants.",
                ("dependance", "droits"),
                ("seniors",),
                ("information", "accompagnement"),
                modes=(ON_SITE, AT_HOME),
                referral=(PHONE,),
            ),
            S(
                "aidants",
                "Soutien aux aidants",
                "Groupes de parole, formation et solutions de répit pour les proches aidants.",
                ("aidants", "dependance"),
                ("seniors", "familles"),
                ("atelier", "accompagnement"),
                referral=(PHONE,),
                optional=True,
            ),
            S(
                "repas",
                "Portage de repas à domicile",
                "Livraison de repas équilibrés à domicile, tarif selon les revenus.",
                ("alimentation", "menage"),
                ("seniors", "handicap"),
                ("aide-materielle",),
                modes=(AT_HOME,),
                fees=(PAID,),
                referral=(PHONE,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "handicap",
        LegalKind.PUBLIC_SERVICE,
        {"*": ["Maison départementale des personnes handicapées d'Ille-et-Vilaine"]},
        {"rennes": 1},
        (
            S(
                "dossier",
                "Accueil et aide au dossier MDPH",
                "Information et aide à la constitution des demandes : AAH, RQTH, PCH, orientation.",
                ("mdph", "droits"),
                ("handicap",),
                ("information", "accompagnement"),
                modes=(ON_SITE, REMOTE),
                referral=(PHONE, FORM),
                languages=("lsf",),
            ),
            S(
                "emploi",
                "Insertion et maintien dans l'emploi des personnes handicapées",
                "Accompagnement des personnes ayant une RQTH vers l'emploi et pour garder leur emploi.",
                ("maintien-emploi", "recherche-emploi"),
                ("handicap", "actifs"),
                ("accompagnement",),
                referral=(FORM,),
            ),
        ),
    ),
    Kind(
        "iae",
        LegalKind.COOPERATIVE,
        {
            "*": [
                "Chantier d'insertion Les Jardins de la Vilaine",
                "Rennes Emploi Services",
                "Recyclerie Le Tri solidaire",
                "Atelier d'insertion Fil & Trame",
                "Les Jardins de {commune}",
                "Association intermédiaire de {commune}",
                "Régie de quartier de {commune}",
            ]
        },
        {"rennes": 3, "rural": 2, "malo": 1},
        (
            S(
                "chantier",
                "Chantier d'insertion",
                "Contrats de 26 heures par semaine dans le maraîchage, les espaces verts ou le bâtiment, "
                "avec un accompagnement socioprofessionnel.",
                ("valoriser", "competences", "confiance"),
                ("minimas", "chomage"),
                ("accompagnement", "formation"),
                referral=(EMAIL, FORM),
                capacity=(45, 45, 10),
            ),
            S(
                "mise-a-disposition",
                "Missions de travail en association intermédiaire",
                "Missions rémunérées auprès de particuliers, d'associations et d'entreprises.",
                ("offres", "valoriser"),
                ("chomage",),
                ("accompagnement",),
                referral=(WALK_IN, PHONE),
                optional=True,
            ),
        ),
    ),
    Kind(
        "formation",
        LegalKind.ASSOCIATION,
        {"*": ["Cap Compétences 35", "Institut de formation Vilaine", "Atelier des savoirs de {commune}"]},
        {"rennes": 1, "rural": 1},
        (
            S(
                "orientation",
                "Conseil en formation et en orientation",
                "Trouver une formation, la financer (CPF, aides régionales) et monter son dossier.",
                ("formation", "dossier-formation", "metier"),
                ("chomage", "actifs", "jeunes"),
                ("accompagnement",),
                modes=(ON_SITE, REMOTE),
                referral=(FORM,),
            ),
            S(
                "prepa",
                "Prépa compétences",
                "Quelques semaines pour préciser son projet et acquérir les prérequis d'une formation "
                "qualifiante.",
                ("competences", "formation"),
                ("chomage",),
                ("formation",),
                referral=(FORM,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "creation",
        LegalKind.ASSOCIATION,
        {"*": ["Couveuse d'entreprises Ille-et-Vilaine", "Entreprendre solidaire {commune}"]},
        {"rennes": 1},
        (
            S(
                "projet",
                "Définir son projet de création d'entreprise",
                "Réunions d'information et entretiens individuels pour vérifier son idée.",
                ("creer", "competences"),
                ("chomage", "minimas", "femmes"),
                ("accompagnement", "information"),
                referral=(FORM,),
            ),
            S(
                "couveuse",
                "Tester son activité en couveuse",
                "Tester son activité en grandeur réelle, sans créer d'entreprise, avec un suivi.",
                ("structurer", "creer"),
                ("chomage",),
                ("accompagnement", "formation"),
                referral=(FORM,),
            ),
        ),
    ),
    Kind(
        "culture",
        LegalKind.ASSOCIATION,
        {"*": ["Culture pour tous 35", "Sport et Partage", "Les Bénévoles de {commune}"]},
        {"rennes": 2, "malo": 1},
        (
            S(
                "culture",
                "Accès à la culture et aux loisirs",
                "Places gratuites de spectacles, concerts et matchs, et sorties accompagnées.",
                ("culture", "lien"),
                ("minimas", "familles"),
                ("aide-materielle",),
                referral=(EMAIL,),
            ),
            S(
                "sport",
                "Sport solidaire",
                "Séances de sport adaptées et gratuites pour reprendre confiance.",
                ("culture", "confiance"),
                ("tous", "handicap"),
                ("atelier",),
                referral=(WALK_IN,),
                optional=True,
            ),
            S(
                "benevolat",
                "Devenir bénévole",
                "Trouver une mission de bénévolat près de chez soi et valoriser son engagement.",
                ("benevolat", "valoriser"),
                ("tous",),
                ("information",),
                referral=(WALK_IN, EMAIL),
                optional=True,
            ),
        ),
    ),
    Kind(
        "ressourcerie",
        LegalKind.ASSOCIATION,
        {"*": ["La Ressourcerie de {commune}", "Emmaüs Solidarité Bretagne", "Le Grenier solidaire"]},
        {"rennes": 1, "rural": 1, "malo": 1},
        (
            S(
                "equipement",
                "Meubles et électroménager à petit prix",
                "Meubles, électroménager révisé et vaisselle pour équiper un logement, avec livraison "
                "possible.",
                ("electromenager", "habillement"),
                ("tous", "minimas"),
                ("aide-materielle",),
                fees=(PAID,),
                referral=(WALK_IN,),
            ),
            S(
                "installation",
                "Kit d'installation dans le logement",
                "Kit d'équipement de première nécessité sur prescription d'un·e travailleur·se social·e.",
                ("electromenager", "louer"),
                ("urgence", "minimas"),
                ("aide-materielle",),
                referral=(EMAIL,),
                optional=True,
            ),
        ),
    ),
    Kind(
        "fjt",
        LegalKind.ASSOCIATION,
        {"*": ["Foyer de jeunes travailleurs de {commune}", "Habitat Jeunes Vilaine"]},
        {"rennes": 1, "malo": 1},
        (
            S(
                "logement",
                "Logement des jeunes en foyer",
                "Chambres et studios meublés pour les 16-30 ans en emploi, en formation ou en stage.",
                ("louer", "hebergement"),
                ("jeunes", "etudiants"),
                ("accompagnement",),
                fees=(PAID,),
                referral=(FORM,),
                capacity=(30, 55, 15),
            ),
            S(
                "info",
                "Information logement jeunes",
                "Information sur le logement des jeunes : colocation, garanties, aides.",
                ("info-logement", "louer"),
                ("jeunes",),
                ("information",),
                referral=(WALK_IN, EMAIL),
                optional=True,
            ),
        ),
    ),
    Kind(
        "bailleur",
        LegalKind.COMPANY,
        {"*": ["Office public de l'habitat de Rennes Métropole"]},
        {"rennes": 1},
        (
            S(
                "accompagnement",
                "Accompagnement social des locataires",
                "Conseillères sociales pour les locataires en difficulté de paiement ou de maintien "
                "dans le logement.",
                ("impayes", "maintien-logement", "changer-logement"),
                ("tous",),
                ("accompagnement",),
                modes=(ON_SITE, AT_HOME),
                referral=(PHONE, EMAIL),
            ),
        ),
    ),
]

# Kinds that top the directory up to TARGET_SERVICES (their name pools have room), and where.
FILLER_KINDS = ("centre-social", "fle", "iae", "aide-alimentaire", "epicerie", "culture")
FILLER_TERRITORIES = ("rural", "rennes", "suburb", "malo")

STREETS = [
    "rue de la République",
    "rue Victor-Hugo",
    "boulevard de la Liberté",
    "rue Jean-Jaurès",
    "avenue du Général-Leclerc",
    "place de la Mairie",
    "rue de la Gare",
    "rue Saint-Martin",
    "rue des Écoles",
    "rue du Moulin",
    "allée des Tilleuls",
    "rue de Brest",
    "rue de Paris",
    "rue Pasteur",
    "boulevard Clemenceau",
    "rue de l'Église",
    "place du Marché",
    "rue des Lilas",
    "avenue de la Libération",
    "rue Anatole-France",
    "rue de Nantes",
    "rue du Stade",
    "square des Hortensias",
    "rue Jules-Ferry",
    "rue de la Poste",
    "rue Charles-de-Gaulle",
    "rue du Port",
    "quai Duguay-Trouin",
    "rue d'Antrain",
    "rue de Fougères",
]

# In OpenStreetMap's opening_hours format, as data·inclusion publishes them (shown in French with "open now"
# by partners.opening_hours); the last one is free text, as a service may type it: shown as typed.
OPENING_HOURS = [
    "Mo-Fr 09:00-12:30,13:30-17:00; PH off",
    'Mo,Tu,Th,Fr 09:00-12:00, Mo,Tu,Th,Fr 14:00-17:00 "sur rendez-vous"; PH off',
    "Tu,Th 14:00-17:30; PH off",
    "Mo-Fr 08:30-12:00; PH off",
    "We 09:00-12:00; Sa 10:00-12:00",
    "Mo-Sa 09:00-17:00; PH off",
    "Lundi de 13 h 30 à 17 h, du mardi au vendredi de 9 h à 17 h.",
]


# --- Result ----------------------------------------------------------------------------------


@dataclass
class DemoAccount:
    email: str
    role: str
    service: str = ""


@dataclass
class DemoResult:
    created: bool  # False when the demo directory was already there (accounts refreshed only)
    password: str
    accounts: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)


# --- Places ----------------------------------------------------------------------------------


def _distance_km(lat1, lon1, lat2, lon2):
    return distance_km((lat1, lon1), (lat2, lon2))


@dataclass
class Territories:
    rennes: list
    suburb: list
    rural: list
    malo: list
    postcodes: dict
    all: list


def _territories():
    communes = list(
        Commune.objects.filter(
            department=DEPARTMENT, latitude__isnull=False, longitude__isnull=False
        ).order_by("insee_code")
    )
    by_code = {c.insee_code: c for c in communes}
    missing = [
        f"{name} ({code})"
        for code, name in ((RENNES, "Rennes"), (SAINT_MALO, "Saint-Malo"))
        if code not in by_code
    ]
    if missing:
        raise CommandError(
            f"Communes introuvables (ou sans coordonnées) : {', '.join(missing)}. "
            "Chargez d'abord les communes : python manage.py load_communes"
        )
    rennes, saint_malo = by_code[RENNES], by_code[SAINT_MALO]

    def by_size(items):
        return sorted(items, key=lambda c: (-(c.population or 0), c.insee_code))

    def km(a, b):
        return _distance_km(a.latitude, a.longitude, b.latitude, b.longitude)

    others = [c for c in communes if c.insee_code not in (RENNES, SAINT_MALO)]
    suburb = by_size(c for c in others if km(c, rennes) < SUBURB_MAX_KM)
    rural = by_size(c for c in others if RURAL_KM[0] <= km(c, rennes) <= RURAL_KM[1])
    malo = by_size(c for c in others if km(c, saint_malo) <= SAINT_MALO_AREA_KM and c not in rural)
    if len(rural) < MIN_RURAL_COMMUNES:
        raise CommandError(
            f"Il faut au moins {MIN_RURAL_COMMUNES} communes d'Ille-et-Vilaine entre {RURAL_KM[0]} et "
            f"{RURAL_KM[1]} km de Rennes ({len(rural)} trouvée(s)). "
            "Chargez d'abord les communes : python manage.py load_communes"
        )
    postcodes = {}
    for commune_id, code in (
        Postcode.objects.filter(commune__department=DEPARTMENT)
        .order_by("commune_id", "code")
        .values_list("commune_id", "code")
    ):
        postcodes.setdefault(commune_id, []).append(code)
    return Territories(
        rennes=[rennes],
        suburb=suburb[:10],
        rural=rural[:15],
        malo=[saint_malo, *malo[:5]],
        postcodes=postcodes,
        all=communes,
    )


# --- Reference rows --------------------------------------------------------------------------


def _referentials():
    """Rows of the reference lists the catalogue uses, by code; CommandError if any is missing."""
    wanted = {
        Domain: set(T.values()),
        Public: set(P.values()),
        AccessMode: {ON_SITE, REMOTE, AT_HOME},
        Fee: {FREE, PAID},
        ServiceType: {t for kind in CATALOGUE for s in kind.services for t in s.types},
        Language: {"fr", "en", "lsf", *EXILE_LANGUAGES},
    }
    rows = {}
    missing = []
    for model, codes in wanted.items():
        rows[model] = model.objects.in_bulk(sorted(codes), field_name="code")
        missing += sorted(codes - rows[model].keys())
    if missing:
        raise CommandError(
            f"Référentiels incomplets ({len(missing)} code(s) manquant(s), dont {missing[0]}). "
            "Chargez d'abord les référentiels : python manage.py load_referentials"
        )
    return rows


# --- Directory generation --------------------------------------------------------------------


class _DirectoryBuilder:
    """Generates the organisations and services in memory, then writes them in a few bulk queries."""

    def __init__(self, *, rng, fake, today, territories, refs):
        self.rng = rng
        self.fake = fake
        self.today = today
        self.places = territories
        self.refs = refs
        self.used_names = set()
        self.organisations = []  # Organisation instances, in generation order
        self.services = []  # (Service, ServiceTemplate, kind key)
        self.by_key = {}  # (kind key, template key) -> [(territory, Service), ...] in generation order

    # Places and contact details

    def _candidates(self, territory):
        communes = getattr(self.places, territory) or self.places.rennes
        if territory == "rural":
            communes = list(communes)
            self.rng.shuffle(communes)
        return communes

    def _street_address(self):
        number = self.rng.randint(1, 120)
        suffix = self.rng.choice(["", "", "", "", " bis"])
        return f"{number}{suffix} {self.rng.choice(STREETS)}"

    def _position(self, commune):
        spread = 0.015 if commune in (*self.places.rennes, self.places.malo[0]) else 0.004
        return (
            round(commune.latitude + self.rng.uniform(-spread, spread), 6),
            round(commune.longitude + self.rng.uniform(-spread, spread) * 1.5, 6),
        )

    def _phone(self):
        return "02 {} {:02d} {:02d} {:02d}".format(
            self.rng.choice(["99", "23"]), *(self.rng.randint(0, 99) for _ in range(3))
        )

    def _place(self, commune):
        postcodes = self.places.postcodes.get(commune.insee_code, [])
        latitude, longitude = self._position(commune)
        return {
            "commune": commune,
            "address": self._street_address(),
            "postcode": self.rng.choice(postcodes) if postcodes else "",
            "latitude": latitude,
            "longitude": longitude,
        }

    # Organisations

    def _name(self, kind, territory):
        patterns = kind.names.get(territory) or kind.names["*"]
        communes = self._candidates(territory)
        for pattern in patterns:
            for commune in communes:
                name = pattern.format(commune=commune.name)
                if name not in self.used_names:
                    return name, commune
                if "{commune}" not in pattern:
                    break
        return None, None

    def add_organisation(self, kind, territory):
        name, commune = self._name(kind, territory)
        if name is None:
            return 0
        self.used_names.add(name)
        slug = slugify(name)[:40].strip("-")
        organisation = Organisation(
            name=name, legal_kind=kind.legal_kind, website=f"https://www.{slug}.test/"
        )
        self.organisations.append(organisation)
        seat = self._place(commune)
        seat_phone = self._phone()
        count = 0
        for index, template in enumerate(kind.services):
            if template.optional and self.rng.random() >= OPTIONAL_SHARE:
                continue
            if template.where:
                place = self._place(self._antenna_commune(template.where))
                phone = self._phone()
            else:
                # Same building as the organisation, a few metres apart on the map.
                place = dict(seat, latitude=seat["latitude"] + index * 0.0001)
                phone = seat_phone if index == 0 else self._phone()
            service = self._service(organisation, slug, template, place, template.phone or phone)
            count += 1
            self.services.append((service, template, kind.key))
            self.by_key.setdefault((kind.key, template.key), []).append((territory, service))
        return count

    def _antenna_commune(self, where):
        if where == "rural":
            return self.rng.choice(self.places.rural)
        return self.places.malo[0] if where == "malo" else self.places.rennes[0]

    def pick(self, kind_key, template_key, territory="rennes", index=0):
        """The ``index``-th service of a template among organisations of ``territory``."""
        return [s for t, s in self.by_key[(kind_key, template_key)] if t == territory][index]

    # Services

    def _service(self, organisation, slug, template, place, phone):
        rng = self.rng
        commune_name = place["commune"].name
        mailbox = slugify(template.key)
        email = f"{mailbox}@{slug}.test"
        referral_mode = rng.choice(template.referral)
        website = f"https://www.{slug}.test/orientation-{mailbox}" if referral_mode == FORM else ""
        capacity = rng.choices(
            [CapacityStatus.OPEN, CapacityStatus.WAITING_LIST, CapacityStatus.FULL], weights=template.capacity
        )[0]
        hours = template.hours or rng.choice(OPENING_HOURS)
        return Service(
            organisation=organisation,
            name=template.name.format(commune=commune_name),
            description=template.description.format(commune=commune_name),
            **place,
            intervention_radius_km=template.radius,
            referral_mode=referral_mode,
            referral_details=self._referral_details(referral_mode, phone, email, website),
            capacity_status=capacity,
            capacity_updated_on=self.today - datetime.timedelta(days=rng.randint(0, 90)),
            opening_hours=hours,
            phone=phone,
            email=email,
            website=website,
            verified_on=None,  # set for all services at once, see _date_verifications()
        )

    def _referral_details(self, mode, phone, email, website):
        contact = f"{self.fake.first_name()} {self.fake.last_name()}"
        delay = self.rng.choice([2, 3, 5, 8])
        if mode == FORM:
            return (
                f"Remplir le formulaire d'orientation en ligne ({website}) avec l'accord de la personne. "
                f"Réponse sous {delay} jours ouvrés au ou à la référent·e."
            )
        if mode == EMAIL:
            return (
                f"Envoyer la fiche de liaison à {email} (aucune donnée d'identification dans l'objet). "
                f"{contact} recontacte le ou la référent·e sous {delay} jours."
            )
        if mode == PHONE:
            if phone == "115":
                return "Appeler le 115, gratuit, 24 h sur 24. La personne peut appeler elle-même."
            return (
                f"Appeler le {phone} aux heures d'ouverture et demander {contact}. "
                "Avoir sous la main la situation administrative de la personne."
            )
        return (
            "La personne se présente sans rendez-vous aux heures d'ouverture, avec une pièce d'identité "
            f"si elle en a une. Vous pouvez prévenir l'équipe au {phone}."
        )

    def fill(self):
        for kind in CATALOGUE:
            for territory in ("rennes", "suburb", "rural", "malo"):
                for _ in range(kind.counts.get(territory, 0)):
                    self.add_organisation(kind, territory)
        # Top up with more local associations: the total does not depend on how many communes exist.
        kinds = {kind.key: kind for kind in CATALOGUE}
        attempts = 0
        while len(self.services) < TARGET_SERVICES and attempts < 200:
            kind = kinds[FILLER_KINDS[attempts % len(FILLER_KINDS)]]
            territory = FILLER_TERRITORIES[(attempts // len(FILLER_KINDS)) % len(FILLER_TERRITORIES)]
            self.add_organisation(kind, territory)
            attempts += 1

    def _date_verifications(self):
        count = len(self.services)
        stale = set(self.rng.sample(range(count), round(count * STALE_SHARE)))
        for index, (service, _, _) in enumerate(self.services):
            days = self.rng.randint(380, 730) if index in stale else self.rng.randint(0, 350)
            service.verified_on = self.today - datetime.timedelta(days=days)

    def _languages(self, template):
        codes = ["fr"]
        # A long list is the pool of an interpreting team: each service speaks a few of them.
        share = 0.6 if len(template.languages) <= 4 else 0.3
        codes += [code for code in template.languages if self.rng.random() < share]
        if "en" not in codes and self.rng.random() < 0.25:
            codes.append("en")
        if "lsf" not in codes and self.rng.random() < 0.03:
            codes.append("lsf")
        return codes

    def _publics(self, template):
        codes = list(template.publics)
        if self.rng.random() < 0.2:
            codes.append(self.rng.choice(sorted(P.values())))
        return set(codes)

    def _intervention_communes(self, service):
        """Rural services without a radius cover their neighbouring communes (within 8 km)."""
        if service.intervention_radius_km or service.commune not in self.places.rural:
            return []
        centre = service.commune
        distances = [
            (_distance_km(centre.latitude, centre.longitude, c.latitude, c.longitude), c.insee_code, c)
            for c in self.places.all
        ]
        return [c for distance, _, c in sorted(distances) if distance <= 8][:20]

    def save(self):
        self._date_verifications()
        Organisation.objects.bulk_create(self.organisations)
        # bulk_create fills each service's organisation_id from its (now saved) organisation.
        Service.objects.bulk_create([service for service, _, _ in self.services])
        self._save_relations()

    def _save_relations(self):
        refs = self.refs
        rows = {
            name: []
            for name in (
                "domains",
                "publics",
                "service_types",
                "fees",
                "access_modes",
                "languages",
                "intervention_communes",
            )
        }
        for service, template, _ in self.services:
            rows["domains"] += [(service, refs[Domain][c]) for c in template.domains]
            rows["publics"] += [(service, refs[Public][c]) for c in sorted(self._publics(template))]
            rows["service_types"] += [(service, refs[ServiceType][c]) for c in template.types]
            rows["fees"] += [(service, refs[Fee][c]) for c in template.fees]
            rows["access_modes"] += [(service, refs[AccessMode][c]) for c in template.modes]
            rows["languages"] += [(service, refs[Language][c]) for c in self._languages(template)]
            rows["intervention_communes"] += [(service, c) for c in self._intervention_communes(service)]
        for name, pairs in rows.items():
            relation = Service._meta.get_field(name)
            source, target = relation.m2m_field_name(), relation.m2m_reverse_field_name()
            through = relation.remote_field.through
            through.objects.bulk_create(
                [through(**{f"{source}_id": service.pk, f"{target}_id": obj.pk}) for service, obj in pairs]
            )


# --- Networks and conventions ----------------------------------------------------------------


def _first_of_month(day):
    return day.replace(day=1)


def _years_later(day, years):
    """The day before the same date ``years`` later: the last day of a ``years``-long convention."""
    return day.replace(year=day.year + years) - datetime.timedelta(days=1)


def _add_members(convention, members, *, joined_on, today):
    """``members``: (service, role, days after joined_on, left days ago or None)."""
    for service, role, delay, left_days_ago in members:
        ConventionMembership.objects.create(
            convention=convention,
            service=service,
            role=role,
            joined_on=joined_on + datetime.timedelta(days=delay),
            left_on=today - datetime.timedelta(days=left_days_ago) if left_days_ago else None,
        )


def _create_networks(builder, *, today, refs):
    pick = builder.pick
    domains = refs[Domain]
    pilot, member = MembershipRole.PILOT, MembershipRole.MEMBER

    # 1. Precarity network: an active convention and the one it replaced.
    precarity = Network.objects.create(
        name=PRECARITY_NETWORK,
        territory="Rennes Métropole",
        description=(
            "Réseau des acteurs de l'urgence sociale, de l'hébergement, de l'aide alimentaire et de "
            "l'accès aux droits de la métropole rennaise, piloté par le CCAS de Rennes."
        ),
    )
    active_from = _first_of_month(today - datetime.timedelta(days=210))
    active = Convention.objects.create(
        network=precarity,
        title=f"Convention de partenariat précarité {active_from.year}–{active_from.year + 3}",
        signed_on=active_from - datetime.timedelta(days=12),
        valid_from=active_from,
        valid_until=_years_later(active_from, 3),
        status=ConventionStatus.ACTIVE,
        document_url="https://www.reseau.test/conventions/precarite-rennes.pdf",
    )
    active.scope_domains.set(
        domains[T[key]]
        for key in (
            "hebergement",
            "alimentation",
            "habillement",
            "demarches",
            "droits",
            "budget",
            "surendettement",
            "prevention-financiere",
            "impayes",
            "maintien-logement",
            "soins",
            "lien",
        )
    )
    current = [
        (pick("ccas", "accueil"), pilot, 0, None),
        (pick("ccas", "secours"), member, 0, None),
        (pick("siao", "orientation"), member, 0, None),
        (pick("siao", "115"), member, 0, None),
        (pick("epicerie", "epicerie", index=0), member, 0, None),
        (pick("epicerie", "epicerie", index=1), member, 45, None),
        (pick("accueil-jour", "accueil", index=0), member, 0, None),
        (pick("accueil-jour", "accueil", index=1), member, 0, None),
        (pick("hebergement", "chrs"), member, 0, None),
        (pick("pimms", "mediation"), member, 0, None),
        (pick("pcb", "pcb"), member, 90, None),
        (pick("cpam", "droits"), member, 0, None),
        (pick("caf", "accueil"), member, 0, None),
        (pick("hopital", "pass"), member, 0, None),
        (pick("mission-locale", "accompagnement"), member, 0, None),
        (pick("adil", "expulsions"), member, 120, None),
    ]
    left = [(pick("aide-alimentaire", "distribution"), member, 0, 40)]
    _add_members(active, current + left, joined_on=active_from, today=today)

    ended_from = active_from.replace(year=active_from.year - 3)
    ended = Convention.objects.create(
        network=precarity,
        title=f"Convention de partenariat précarité {ended_from.year}–{active_from.year}",
        signed_on=ended_from - datetime.timedelta(days=20),
        valid_from=ended_from,
        valid_until=active_from - datetime.timedelta(days=1),
        status=ConventionStatus.ENDED,
    )
    ended.scope_domains.set(domains[T[key]] for key in ("hebergement", "alimentation", "demarches", "droits"))
    previous = [*current[:10], (pick("hebergement", "chrs", index=1), member, 0, None), left[0]]
    _add_members(
        ended, [(s, role, delay, None) for s, role, delay, _ in previous], joined_on=ended_from, today=today
    )

    # 2. Mental health network: an active convention.
    mental_health = Network.objects.create(
        name=MENTAL_HEALTH_NETWORK,
        territory="Pays de Rennes",
        description=(
            "Conseil local de santé mentale : psychiatrie de secteur, addictologie, entraide et "
            "acteurs sociaux pour les personnes en souffrance psychique."
        ),
    )
    mental_from = _first_of_month(today - datetime.timedelta(days=420))
    mental = Convention.objects.create(
        network=mental_health,
        title=f"Convention santé mentale et précarité {mental_from.year}–{mental_from.year + 2}",
        signed_on=mental_from,
        valid_from=mental_from,
        valid_until=_years_later(mental_from, 2),
        status=ConventionStatus.ACTIVE,
    )
    mental.scope_domains.set(
        domains[T[key]] for key in ("psy", "addictions", "soins", "lien", "confiance", "aidants")
    )
    _add_members(
        mental,
        [
            (pick("epsm", "cmp-nord"), pilot, 0, None),
            (pick("epsm", "empp"), member, 0, None),
            (pick("epsm", "cmp-sud"), member, 150, None),
            (pick("gem", "gem"), member, 0, None),
            (pick("maison-ados", "accueil"), member, 0, None),
            (pick("addictions", "csapa"), member, 0, None),
            (pick("hopital", "addictologie"), member, 60, None),
            (pick("familles-psy", "aidants"), member, 0, None),
            (pick("ccas", "accueil"), member, 0, None),
        ],
        joined_on=mental_from,
        today=today,
    )

    # 3. Saint-Malo network: a convention being drafted.
    saint_malo = Network.objects.create(
        name=SAINT_MALO_NETWORK,
        territory="Pays de Saint-Malo",
        description="Réseau en construction des acteurs de l'emploi et de l'insertion du pays malouin.",
    )
    draft_from = _first_of_month(today + datetime.timedelta(days=75))
    draft = Convention.objects.create(
        network=saint_malo,
        title=f"Convention insertion Pays de Saint-Malo {draft_from.year}–{draft_from.year + 3} (projet)",
        valid_from=draft_from,
        valid_until=_years_later(draft_from, 3),
        status=ConventionStatus.DRAFT,
    )
    draft.scope_domains.set(
        domains[T[key]]
        for key in ("recherche-emploi", "offres", "formation", "valoriser", "budget", "francais")
    )
    _add_members(
        draft,
        [
            (pick("mission-locale", "accompagnement", "malo"), pilot, 0, None),
            (pick("france-travail", "suivi", "malo"), member, 0, None),
            (pick("maison-emploi", "plie", "malo"), member, 0, None),
            (pick("iae", "chantier", "malo"), member, 0, None),
            (pick("fle", "fle", "malo"), member, 0, None),
            (pick("pcb", "pcb", "malo"), member, 0, None),
        ],
        joined_on=draft_from,
        today=today,
    )


# --- Accounts --------------------------------------------------------------------------------

# Employers of the demo workers: (organisation name, service name), fixed by the catalogue.
EMPLOYERS = {
    "worker": ("CCAS de Rennes", "Accueil social et accompagnement"),
    "outside": ("CCAS de Saint-Malo", "Accueil social et accompagnement"),
    "receiving": ("SIAO d'Ille-et-Vilaine", "Demande d'hébergement et de logement accompagné"),
}

# (e-mail, role shown to the person running the demo, staff, superuser, employer, coordinated networks)
ACCOUNTS = [
    ("admin@reseau.test", "administration", True, True, None, ()),
    ("coordination@reseau.test", "coordination du réseau précarité", True, False, None, (PRECARITY_NETWORK,)),
    (
        "coordination.sante-mentale@reseau.test",
        "coordination du réseau santé mentale",
        True,
        False,
        None,
        (MENTAL_HEALTH_NETWORK,),
    ),
    ("travailleur@reseau.test", "travailleur·se social·e", False, False, "worker", ()),
    ("collegue@reseau.test", "collègue du même service", False, False, "worker", ()),
    ("hors-reseau@reseau.test", "travailleur·se social·e hors réseau", False, False, "outside", ()),
    ("accueil@reseau.test", "accueil d'un service partenaire", False, False, "receiving", ()),
]


def _upsert_accounts(*, fake):
    from reseau.accounts.models import User

    employers = {}
    for key, (organisation, name) in EMPLOYERS.items():
        employers[key] = (
            Service.objects.filter(organisation__name=organisation, name=name)
            .select_related("organisation")
            .order_by("pk")
            .first()
        )
        if employers[key] is None:
            raise CommandError(
                f"Données de démonstration incomplètes : service « {name} » de « {organisation} » introuvable. "
                "Repartez d'une base vide."
            )
    networks = {network.name: network for network in Network.objects.order_by("pk")}
    # One hash for every demo account: hashing is deliberately slow, and these share one password.
    password = make_password(DEMO_PASSWORD)
    accounts = []
    for email, role, is_staff, is_superuser, employer, coordinated in ACCOUNTS:
        service = employers[employer] if employer else None
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "first_name": fake.first_name(),
                "last_name": fake.last_name(),
                "password": password,
                "is_active": True,
                "is_staff": is_staff,
                "is_superuser": is_superuser,
                "service": service,
            },
        )
        for name in coordinated:
            networks[name].coordinators.add(user)
        accounts.append(DemoAccount(email=email, role=role, service=str(service) if service else ""))
    return accounts


# --- Entry point -----------------------------------------------------------------------------


def _counts(today):
    return {
        "organisations": Organisation.objects.count(),
        "services": Service.objects.count(),
        "stale_services": Service.objects.stale(today).count(),
        "thematiques": Domain.objects.filter(parent__isnull=False, services__isnull=False).distinct().count(),
        "networks": Network.objects.count(),
        "conventions": Convention.objects.count(),
        "memberships": ConventionMembership.objects.count(),
    }


def load_demo(*, seed=2026, today=None) -> DemoResult:
    """Create the demo directory, networks and accounts (see the module docstring); one transaction.

    Raises CommandError when the reference lists or the communes are missing.
    """
    # Faker is a development dependency: imported here, only when a demo is loaded.
    from faker import Faker

    today = today or timezone.localdate()
    with transaction.atomic():
        refs = _referentials()
        territories = _territories()
        created = not Network.objects.filter(name=PRECARITY_NETWORK).exists()
        if created:
            fake = Faker("fr_FR")
            fake.seed_instance(seed)
            builder = _DirectoryBuilder(
                rng=random.Random(seed), fake=fake, today=today, territories=territories, refs=refs
            )
            builder.fill()
            builder.save()  # bulk writes: no signals, so the search index is fed once below
            search_index.index_services(service.pk for service, _, _ in builder.services)
            _create_networks(builder, today=today, refs=refs)
            # Insight: twelve months of referrals sent by the members of the two networks in force.
            from referrals.demo_history import generate_referral_history
            from referrals.insight_counts import counts_rebuild

            for offset, name in enumerate((PRECARITY_NETWORK, MENTAL_HEALTH_NETWORK)):
                history_rng = random.Random(seed + 10 + offset)
                network = Network.objects.get(name=name)
                generate_referral_history(rng=history_rng, network=network, today=today)
            counts_rebuild()  # written in bulk, without transitions: insight's counts from scratch
        accounts_fake = Faker("fr_FR")
        accounts_fake.seed_instance(seed + 1)
        accounts = _upsert_accounts(fake=accounts_fake)
        return DemoResult(created=created, password=DEMO_PASSWORD, accounts=accounts, counts=_counts(today))
