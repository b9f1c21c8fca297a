"""Bad input everywhere: no 500, a French answer, nothing written (issue 9 §3 and "Done means").

Each case sends one malformed value to one form, query parameter or admin filter and checks:
- the status is below 500 and among the expected ones (4xx where someone submitted something
  invalid; 200 where the page legitimately answers, then with its French message);
- the answer is French: a page of the site or the admin (``lang="fr"``) with no English default
  page (a redirect is followed to the page it leads to);
- nothing was written: the row counts of the main tables and the whole snapshot are unchanged.
"""

import html
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partners.models import Convention, ConventionMembership, ErrorReport, Organisation, Service
from referrals.models import Case, Referral, ReferralEvent
from tests.world import clients_fixture, db_snapshot, snapshot_diff, world_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.allow_unknown_template_variables]

HUGE_ID = "99999999999999999999999"  # beyond 64 bits
HUGE_NUMBER = str(10**30)
LONG_TEXT = "x" * 2001  # one over the 2 000 characters kept for comments and details
NUL = "héber\x00gement"
COUNTED = [
    Case,
    Referral,
    ReferralEvent,
    Service,
    Organisation,
    Convention,
    ConventionMembership,
    ErrorReport,
]
ENGLISH_DEFAULTS = (
    "Not Found",
    "Bad Request",
    "Server Error",
    "Forbidden",
    "Method Not Allowed",
    "The requested resource",
    "Traceback",
)
INVALID = frozenset({400})
INVALID_OR_NOT_FOUND = frozenset({400, 404})
# Django's admin answers an impossible filter with a redirect to "?e=1" (a French notice there),
# an ignored one with the list; a 400 page is fine too.
ADMIN_FILTER = frozenset({200, 302, 400})
# An admin change page for an id that cannot exist: the admin's redirect with its notice, or a 404.
ADMIN_MISSING = frozenset({302, 404})


@dataclass(frozen=True)
class Bad:
    id: str
    path: object  # function(world) -> path (with its query string)
    role: str = "worker_a"
    method: str = "GET"
    data: object = None  # function(world) -> POST data
    statuses: frozenset = INVALID
    # French text the answer must show (required on a 200 answer to bad input).
    message: str | None = None
    fragment: bool = False  # an htmx fragment: no page layout, still no English default page
    # A huge note may be refused (400) or kept whole: then the stored note must be the full text.
    kept_whole: tuple | None = None
    extra: dict = field(default_factory=dict)


def search(query):
    return lambda w: reverse("partners:search") + "?" + query


def case_payload(w, **overrides):
    data = {
        "reference": "NOUVELLE-1",
        "needs": [str(w.need.pk)],
        "place": "35000",
        "radius_km": "20",
        "publics": [],
        "notes": "",
    }
    data.update(overrides)
    return data


def case_create(**overrides):
    return {
        "path": lambda w: reverse("referrals:case_create"),
        "method": "POST",
        "data": lambda w: case_payload(w, **{k: v(w) if callable(v) else v for k, v in overrides.items()}),
    }


def refer(case, service, confirm=True, **extra):
    """POST to a case's refer page: ``service`` is a world attribute or a raw id."""

    def data(w):
        service_id = str(getattr(w, service).pk) if hasattr(w, service) else service
        payload = {"services": [service_id]}
        if confirm:
            payload["confirm"] = "1"
        payload.update({k.replace("ID", service_id): v for k, v in extra.items()})
        return payload

    return {
        "path": lambda w: reverse("referrals:case_refer", args=[getattr(w, case).pk]),
        "method": "POST",
        "data": data,
    }


def answer(action, role="receiver", **data):
    return {
        "path": lambda w: reverse("referrals:referral_transition", args=[w.referral_a.pk, action]),
        "method": "POST",
        "role": role,
        "data": lambda w: data,
    }


def listing_payload(**overrides):
    data = {
        "capacity_status": "open",
        "phone": "02 99 00 00 00",
        "email": "aubepine@exemple.fr",
        "website": "https://exemple.fr",
        "opening_hours": "",
        "description": "",
    }
    data.update(overrides)
    return data


def listing_staff(**overrides):
    return {
        "path": lambda w: reverse("partners:listing_edit"),
        "method": "POST",
        "data": lambda w: listing_payload(**overrides),
    }


def listing_link(**overrides):
    return {
        "path": lambda w: reverse("partners:listing_link", args=[w.listing_token_a]),
        "method": "POST",
        "role": "anonymous",
        "data": lambda w: listing_payload(**overrides),
    }


def error_report(**overrides):
    return {
        "path": lambda w: reverse("partners:error_report_create", args=[w.service_r.pk]),
        "method": "POST",
        "data": lambda w: {"category": "contact", "text": "Le numéro ne répond plus.", **overrides},
    }


def routing(rayon):
    return lambda w: reverse("referrals:case_routing", args=[w.case_a.pk]) + "?rayon=" + rayon


def admin(path):
    return path if callable(path) else (lambda w: path)


CASES = [
    # --- Directory search: words ---------------------------------------------------------------
    Bad("search-q-huge", search("q=" + "hébergement " * 500)),
    Bad("search-q-nul", search("q=h%C3%A9ber%00gement")),
    Bad(
        "search-q-newlines",
        search("q=h%C3%A9bergement%0D%0Aurgence%0A"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    # --- Search: ids of reference lists (issue 9 §3: ids beyond 64 bits are a 500 today) -----------
    *[
        Bad(f"search-{param}-{label}", search(f"{param}={value}"))
        for param in ("thematiques", "publics", "accueil", "langue")
        for label, value in [("abc", "abc"), ("negative", "-1"), ("huge", HUGE_ID), ("float", "1e5")]
    ],
    *[
        # An empty value is what a browser sends for "no choice": a plain search or a 400.
        Bad(
            f"search-{param}-empty",
            search(f"q=logement&{param}="),
            statuses=frozenset({200, 400}),
            message="service",
        )
        for param in ("thematiques", "publics", "accueil", "langue")
    ],
    # --- Search: place and radius ---------------------------------------------------------------
    Bad("search-lieu-unknown", search("lieu=%25%25%25"), message="Lieu inconnu"),
    Bad("search-lieu-sql", search("lieu=%27%3B+DROP+TABLE+partners_service%3B--"), message="Lieu inconnu"),
    Bad("search-lieu-overlong", search("lieu=" + "Rennes" * 40)),
    Bad("search-lieu-nul", search("lieu=Ren%00nes")),
    *[
        # A candidate link's commune (issue 13): only an existing INSEE code, as the link writes it.
        Bad(f"search-insee-{name}", search(f"lieu=Rennes&insee={value}"), message="Commune inconnue")
        for name, value in [
            ("empty", ""),
            ("abc", "abc"),
            ("unknown", "99999"),
            ("huge", HUGE_NUMBER),
            ("newline", "%0A"),
        ]
    ],
    Bad("search-rayon-not-offered", search("lieu=35000&rayon=7")),
    Bad("search-rayon-negative", search("lieu=35000&rayon=-20")),
    Bad("search-rayon-huge", search(f"lieu=35000&rayon={HUGE_NUMBER}")),
    Bad("search-rayon-abc", search("lieu=35000&rayon=abc")),
    Bad("search-rayon-no-place", search("q=logement&rayon=7"), message="Rayon invalide"),
    # --- Search: sort and "no place" (issue 13) ----------------------------------------------------
    Bad("search-tri-unknown", search("q=logement&tri=prix"), message="Tri inconnu"),
    Bad("search-tri-huge", search("q=logement&tri=" + "x" * 5000), message="Tri inconnu"),
    Bad("search-tri-nul", search("q=logement&tri=distance%00"), message="Tri inconnu"),
    Bad("search-tri-list", search("q=logement&tri=distance&tri=prix"), statuses=frozenset({200, 400})),
    Bad("search-tri-empty", search("q=logement&tri="), statuses=frozenset({200}), message="service"),
    Bad(
        "search-tri-distance-no-place",
        search("q=logement&tri=distance&partout=1"),
        statuses=frozenset({200}),
        message="service",
    ),
    Bad(
        "search-partout-abc",
        search("q=logement&partout=abc"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    # --- Search: page -----------------------------------------------------------------------------
    Bad("search-page-0", search("q=logement&page=0"), message="Cette page n'existe pas"),
    Bad("search-page-negative", search("q=logement&page=-1"), message="Cette page n'existe pas"),
    Bad("search-page-x", search("q=logement&page=x"), message="Numéro de page invalide"),
    Bad("search-page-huge", search(f"q=logement&page={HUGE_NUMBER}"), message="Cette page n'existe pas"),
    # --- Search: check boxes with odd values (a checked box is any value: 200 is fine) ---------------
    Bad(
        "search-partenaires-abc",
        search("q=logement&partenaires=abc"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    Bad(
        "search-partenaires-huge",
        search(f"q=logement&partenaires={HUGE_ID}"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    Bad(
        "search-disponibles-abc",
        search("q=logement&disponibles=abc"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    Bad(
        "search-disponibles-nul",
        search("q=logement&disponibles=%00"),
        statuses=frozenset({200, 400}),
        message="service",
    ),
    # --- Commune suggestions (an htmx fragment of <option>s) ------------------------------------------
    *[
        Bad(
            f"communes-{label}",
            lambda w, value=value: reverse("partners:commune_suggestions") + "?lieu=" + value,
            statuses=frozenset({200, 400}),
            fragment=True,
        )
        for label, value in [
            ("nul", "Ren%00nes"),
            ("huge", "r" * 10000),
            ("percent", "%25_%25"),
            ("huge-number", HUGE_ID),
        ]
    ],
    # --- Case form ---------------------------------------------------------------------------------
    Bad("case-reference-newline", **case_create(reference="AB\nCD")),
    Bad("case-reference-header-injection", **case_create(reference="A-1\r\nBcc: x@exemple.fr")),
    Bad("case-reference-duplicate", **case_create(reference="A-0001")),
    Bad("case-reference-duplicate-other-letter-case", **case_create(reference="a-0001")),
    Bad("case-reference-overlong", **case_create(reference="R" * 31)),
    Bad("case-reference-nul", **case_create(reference="AB\x00CD")),
    Bad("case-reference-emoji", **case_create(reference="AB-😀")),
    Bad("case-needs-huge-id", **case_create(needs=[HUGE_ID])),
    Bad("case-needs-abc", **case_create(needs=["abc"])),
    Bad("case-needs-negative", **case_create(needs=["-1"])),
    Bad("case-needs-none", **case_create(needs=[]), message="Indiquez au moins un besoin"),
    Bad("case-publics-huge-id", **case_create(publics=[HUGE_ID])),
    Bad("case-radius-not-offered", **case_create(radius_km="7")),
    Bad("case-radius-zero", **case_create(radius_km="0")),
    Bad("case-radius-negative", **case_create(radius_km="-5")),
    Bad("case-radius-over-200", **case_create(radius_km="1000")),
    Bad("case-radius-huge", **case_create(radius_km=HUGE_NUMBER)),
    Bad("case-place-unknown", **case_create(place="Nullepart-sur-Rien"), message="Lieu inconnu"),
    Bad("case-place-nul", **case_create(place="350\x0000")),
    Bad("case-place-overlong", **case_create(place="3" * 101)),
    # The service a case is created for (from a service page): a bad id is ignored, the form is shown.
    Bad(
        "case-create-for-service-abc",
        lambda w: reverse("referrals:case_create") + "?vers=abc",
        statuses=frozenset({200}),
    ),
    Bad(
        "case-create-for-service-huge",
        lambda w: reverse("referrals:case_create") + f"?vers={HUGE_ID}",
        statuses=frozenset({200}),
    ),
    Bad(
        "case-update-notes-huge",
        path=lambda w: reverse("referrals:case_update", args=[w.case_a.pk]),
        method="POST",
        data=lambda w: case_payload(w, reference="A-0001", notes="n" * 200_000),
        statuses=frozenset({302, 400}),
        kept_whole=("case_a", "notes", "n" * 200_000),
    ),
    Bad(
        "case-update-radius-not-offered",
        path=lambda w: reverse("referrals:case_update", args=[w.case_a.pk]),
        method="POST",
        data=lambda w: case_payload(w, reference="A-0001", radius_km="7"),
    ),
    # --- Refer: review and confirm --------------------------------------------------------------------
    Bad(
        "refer-review-service-abc",
        **refer("case_a", "abc", confirm=False),
        message="Choix invalide",
    ),
    Bad("refer-review-service-unknown", **refer("case_a", "987654", confirm=False)),
    Bad("refer-review-service-huge", **refer("case_a", HUGE_ID, confirm=False)),
    Bad("refer-confirm-service-unknown", **refer("case_a", "987654")),
    Bad("refer-confirm-service-huge", **refer("case_a", HUGE_ID)),
    Bad("refer-confirm-service-negative", **refer("case_a", "-1")),
    Bad("refer-off-convention-no-reason", **refer("case_a", "service_out")),
    Bad("refer-off-convention-unknown-reason", **refer("case_a", "service_out", reason_ID="pirate")),
    Bad("refer-off-convention-overlong-reason", **refer("case_a", "service_out", reason_ID="closer" * 20)),
    Bad(
        "refer-off-convention-details-over-2000",
        **refer("case_a", "service_out", reason_ID="closer", details_ID=LONG_TEXT),
    ),
    Bad("refer-no-partner-unknown-reason", **refer("case_rare", "service_rare", reason_ID="pirate")),
    Bad("refer-no-partner-overlong-reason", **refer("case_rare", "service_rare", reason_ID="other" * 40)),
    Bad("refer-no-partner-details-over-2000", **refer("case_rare", "service_rare", details_ID=LONG_TEXT)),
    # --- Answer a referral ----------------------------------------------------------------------------
    Bad("answer-accept-comment-over-2000", **answer("accepter", comment=LONG_TEXT)),
    Bad("answer-accept-comment-nul", **answer("accepter", comment="d'accord\x00")),
    Bad("answer-refuse-details-over-2000", **answer("refuser", reason="full", details=LONG_TEXT)),
    Bad("answer-refuse-unknown-reason", **answer("refuser", reason="pirate")),
    Bad("answer-refuse-no-reason", **answer("refuser", reason="")),
    Bad("answer-refuse-other-without-details", **answer("refuser", reason="other", details="  ")),
    Bad("answer-unknown-action", **answer("supprimer"), statuses=frozenset({404})),
    Bad(
        "answer-action-huge-referral-id",
        path=lambda w: f"/orientations/{HUGE_ID}/accepter/",
        method="POST",
        role="receiver",
        statuses=frozenset({404}),
    ),
    # --- A service keeps its own listing (staff page and personal link) ----------------------------------
    *[
        Bad(f"{where}-{label}", **form(**{name: value}))
        for where, form in [("listing-staff", listing_staff), ("listing-link", listing_link)]
        for label, name, value in [
            ("capacity-unknown", "capacity_status", "pirate"),
            ("capacity-empty", "capacity_status", ""),
            ("phone-letters", "phone", "appelez-moi"),
            ("phone-overlong", "phone", "0" * 31),
            ("email-invalid", "email", "pas-une-adresse"),
            ("email-header-injection", "email", "a@exemple.fr\r\nBcc: x@exemple.fr"),
            ("website-javascript", "website", "javascript:alert(1)"),
            ("website-overlong", "website", "https://exemple.fr/" + "x" * 300),
            ("opening-hours-over-2000", "opening_hours", LONG_TEXT),
            ("opening-hours-nul", "opening_hours", "9h\x0012h"),
            ("description-over-10000", "description", "d" * 10001),
            ("description-nul", "description", "Accueil\x00"),
        ]
    ],
    Bad(
        "listing-link-huge-token",
        path=lambda w: reverse("partners:listing_link", args=["A" * 5000]),
        method="POST",
        role="anonymous",
        data=lambda w: listing_payload(),
        statuses=frozenset({404}),
    ),
    # --- « Signaler une erreur » ----------------------------------------------------------------------
    Bad("report-category-unknown", **error_report(category="pirate"), message="Catégorie inconnue"),
    Bad("report-category-missing", **error_report(category=""), message="Choisissez ce qui est inexact"),
    Bad("report-text-blank", **error_report(text="   "), message="Précisez l'erreur"),
    Bad("report-text-over-2000", **error_report(text=LONG_TEXT)),
    Bad("report-text-nul", **error_report(text="fermé\x00")),
    Bad(
        "report-service-huge-id",
        path=lambda w: f"/annuaire/services/{HUGE_ID}/signaler/",
        method="POST",
        data=lambda w: {"category": "contact", "text": "x"},
        statuses=frozenset({404}),
    ),
    Bad(
        "listing-link-request-huge-id",
        path=lambda w: f"/annuaire/services/{HUGE_ID}/lien-fiche/",
        method="POST",
        statuses=frozenset({404}),
    ),
    Bad(
        "admin-errorreport-huge-id",
        admin(f"/admin/partners/errorreport/{HUGE_ID}/change/"),
        role="admin",
        statuses=ADMIN_MISSING,
    ),
    Bad(
        "admin-errorreport-status-junk",
        admin("/admin/partners/errorreport/?status__exact=%00"),
        role="coordinator_x",
        statuses=ADMIN_FILTER,
    ),
    Bad(
        "admin-errorreport-close-unknown-status",
        lambda w: reverse("admin:partners_errorreport_change", args=[w.report_a.pk]),
        role="coordinator_x",
        method="POST",
        data=lambda w: {"status": "pirate"},
        statuses=frozenset({200, 400}),
        message="ci-dessous",
    ),
    # --- Routing page radius ----------------------------------------------------------------------------
    Bad("routing-rayon-abc", routing("abc"), message="Rayon invalide"),
    Bad("routing-rayon-negative", routing("-5"), message="Rayon invalide"),
    Bad("routing-rayon-not-offered", routing("7"), message="Rayon invalide"),
    Bad("routing-rayon-huge", routing(HUGE_NUMBER), message="Rayon invalide"),
    Bad("routing-besoin-abc", routing("20&besoin=abc"), message="Besoin inconnu"),
    Bad("routing-besoin-not-of-the-case", routing("20&besoin=987654"), message="Besoin inconnu"),
    Bad("routing-besoin-huge", routing("20&besoin=" + HUGE_ID), message="Besoin inconnu"),
    Bad(
        "refer-confirm-listed-abc",
        path=lambda w: reverse("referrals:case_refer", args=[w.case_a.pk]),
        method="POST",
        data=lambda w: {"listed": ["abc"], "services": [str(w.service_out.pk)], "confirm": "1"},
    ),
    Bad(
        "refer-confirm-nothing-ticked",
        path=lambda w: reverse("referrals:case_refer", args=[w.case_a.pk]),
        method="POST",
        data=lambda w: {"listed": [str(w.service_out.pk)], "confirm": "1"},
        message="Cochez au moins un service",
    ),
    Bad("routing-case-huge-id", lambda w: f"/situations/{HUGE_ID}/propositions/", statuses=frozenset({404})),
    # --- Admin changelist filters (administrator) ------------------------------------------------------
    *[
        Bad(f"admin-{label}", admin(path), role="admin", statuses=ADMIN_FILTER)
        for label, path in [
            ("service-reseau-abc", "/admin/partners/service/?reseau=abc"),
            ("service-reseau-huge", f"/admin/partners/service/?reseau={HUGE_ID}"),
            ("service-reseau-negative", "/admin/partners/service/?reseau=-1"),
            ("service-fraicheur-x", "/admin/partners/service/?fraicheur=x"),
            ("service-order-junk", "/admin/partners/service/?o=junk"),
            ("service-order-huge", f"/admin/partners/service/?o={HUGE_NUMBER}"),
            ("service-search-nul", "/admin/partners/service/?q=h%C3%A9ber%00gement"),
            ("service-search-huge", "/admin/partners/service/?q=" + "x" * 5000),
            ("service-page-junk", "/admin/partners/service/?p=abc"),
            ("service-capacity-junk", "/admin/partners/service/?capacity_status__exact=%00"),
            ("convention-year-junk", "/admin/partners/convention/?valid_from__year=abc"),
            ("convention-year-huge", f"/admin/partners/convention/?valid_from__year={HUGE_NUMBER}"),
            ("convention-month-13", "/admin/partners/convention/?valid_from__year=2026&valid_from__month=13"),
            (
                "convention-day-32",
                "/admin/partners/convention/?valid_from__year=2026&valid_from__month=2&valid_from__day=32",
            ),
            ("convention-network-abc", "/admin/partners/convention/?network__id__exact=abc"),
            ("convention-validite-junk", "/admin/partners/convention/?validite=x"),
            (
                "membership-network-huge",
                f"/admin/partners/conventionmembership/?convention__network__id__exact={HUGE_ID}",
            ),
            ("domain-parent-abc", "/admin/partners/domain/?parent__id__exact=abc"),
        ]
    ],
    # The same filters for a coordinator (scoped admin).
    Bad(
        "admin-coordinator-service-reseau-abc",
        admin("/admin/partners/service/?reseau=abc"),
        role="coordinator_x",
        statuses=ADMIN_FILTER,
    ),
    Bad(
        "admin-coordinator-service-reseau-huge",
        admin(f"/admin/partners/service/?reseau={HUGE_ID}"),
        role="coordinator_x",
        statuses=ADMIN_FILTER,
    ),
    # --- Admin pages with ids that cannot exist -------------------------------------------------------------
    *[
        Bad(f"admin-id-{label}", admin(path), role=role, statuses=ADMIN_MISSING)
        for label, path, role in [
            ("service-huge", f"/admin/partners/service/{HUGE_ID}/change/", "admin"),
            ("service-abc", "/admin/partners/service/abc/change/", "admin"),
            ("convention-huge", f"/admin/partners/convention/{HUGE_ID}/change/", "coordinator_x"),
            ("convention-abc", "/admin/partners/convention/abc/change/", "coordinator_x"),
            ("convention-history-huge", f"/admin/partners/convention/{HUGE_ID}/history/", "admin"),
            ("membership-delete-abc", "/admin/partners/conventionmembership/abc/delete/", "admin"),
            ("domain-huge", f"/admin/partners/domain/{HUGE_ID}/change/", "admin"),
            ("user-password-abc", "/admin/accounts/user/abc/password/", "admin"),
        ]
    ],
    Bad(
        "admin-revert-history-id-abc",
        lambda w: f"/admin/partners/convention/{w.convention_x.pk}/history/abc/",
        role="admin",
        statuses=frozenset({404}),
    ),
    Bad(
        "admin-revert-history-id-huge",
        lambda w: f"/admin/partners/convention/{w.convention_x.pk}/history/{HUGE_ID}/",
        role="admin",
        statuses=frozenset({404}),
    ),
    # --- Admin forms ------------------------------------------------------------------------------------
    Bad(
        "admin-convention-add-impossible-date",
        admin("/admin/partners/convention/add/"),
        role="admin",
        method="POST",
        data=lambda w: {
            "network": str(w.network_x.pk),
            "title": "Convention impossible",
            "status": "active",
            "valid_from": "30/02/2026",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
        statuses=frozenset({200, 400}),
        message="ci-dessous",  # Django admin: "Corrigez l’erreur ci-dessous.",
    ),
    Bad(
        "admin-membership-add-huge-service",
        admin("/admin/partners/conventionmembership/add/"),
        role="admin",
        method="POST",
        data=lambda w: {
            "convention": str(w.convention_x.pk),
            "service": HUGE_ID,
            "role": "member",
            "joined_on": "01/01/2026",
        },
        statuses=frozenset({200, 400}),
        message="ci-dessous",  # Django admin: "Corrigez l’erreur ci-dessous.",
    ),
    Bad(
        "admin-organisation-add-nul-name",
        admin("/admin/partners/organisation/add/"),
        role="coordinator_x",
        method="POST",
        data=lambda w: {"name": "Asso\x00ciation", "legal_kind": "association"},
        statuses=frozenset({200, 400}),
        message="ci-dessous",  # Django admin: "Corrigez l’erreur ci-dessous.",
    ),
    # --- Spreadsheet import (issue 12): refused in the upload form, nothing stored ---------------------
    *[
        Bad(
            f"admin-spreadsheet-upload-{label}",
            admin("/admin/partners/spreadsheetimport/add/"),
            role="coordinator_x",
            method="POST",
            data=lambda w, name=name, content=content: {"file": SimpleUploadedFile(name, content)},
            message=message,
        )
        for label, name, content, message in [
            ("empty", "vide.csv", b"", "Le fichier est vide."),
            ("pdf", "annuaire.pdf", b"%PDF-1.7\n\x00\x01binaire", "ni un CSV ni un classeur XLSX"),
            ("xls", "annuaire.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Ancien format Excel (XLS)"),
            ("broken-xlsx", "annuaire.xlsx", b"PK\x03\x04tronque", "Classeur XLSX illisible"),
            (
                "missing-columns",
                "annuaire.csv",
                b"nom;ville\nAsso;Rennes\n",
                "colonne(s) obligatoire(s)",
            ),
            ("latin1-missing-columns", "annuaire.csv", "nom;thématique\n".encode("latin-1"), "manquante(s)"),
            ("utf16", "annuaire.csv", "source;id;nom\n".encode("utf-16"), "UTF-16"),
        ]
    ],
    Bad(
        "admin-spreadsheet-upload-no-file",
        admin("/admin/partners/spreadsheetimport/add/"),
        role="coordinator_x",
        method="POST",
        data=lambda w: {"file": "pas un fichier"},
        message="Choisissez un fichier CSV ou XLSX.",
    ),
    *[
        Bad(f"admin-spreadsheet-{label}", admin(path), role="coordinator_x", statuses=frozenset({404}))
        for label, path in [
            ("status-huge-id", f"/admin/partners/spreadsheetimport/{HUGE_ID}/change/"),
            ("progress-abc", "/admin/partners/spreadsheetimport/abc/progression/"),
            ("progress-huge-id", f"/admin/partners/spreadsheetimport/{HUGE_ID}/progression/"),
        ]
    ],
    Bad(
        "admin-spreadsheet-confirm-huge-id",
        admin(f"/admin/partners/spreadsheetimport/{HUGE_ID}/confirmer/"),
        role="coordinator_x",
        method="POST",
        statuses=frozenset({404}),
    ),
    # --- Login form -----------------------------------------------------------------------------------
    *[
        Bad(
            f"login-{label}",
            admin(reverse("login")),
            role="anonymous",
            method="POST",
            data=lambda w, payload=payload: payload,
            statuses=frozenset({200, 400}),
            message="Adresse électronique",
        )
        for label, payload in [
            ("email-nul", {"username": "camille\x00@exemple.fr", "password": "x"}),
            ("email-huge", {"username": "c" * 10000 + "@exemple.fr", "password": "x"}),
            ("password-huge", {"username": "camille@exemple.fr", "password": "p" * 100_000}),
            ("password-nul", {"username": "camille@exemple.fr", "password": "mot\x00de-passe"}),
            ("sql", {"username": "' OR 1=1 --", "password": "' OR 1=1 --"}),
            ("missing-fields", {}),
        ]
    ],
]
CASE_IDS = [case.id for case in CASES]


def test_at_least_sixty_malformed_values_are_sent():
    assert len(CASES) >= 60, len(CASES)
    assert len(set(CASE_IDS)) == len(CASE_IDS), "two cases share an id"


def counts():
    return {model.__name__: model._base_manager.count() for model in COUNTED}


def assert_french(body, *, fragment, where):
    for english in ENGLISH_DEFAULTS:
        assert english not in body, f"{where}: English default page ({english!r}): {body[:300]!r}"
    if not fragment:
        assert 'lang="fr"' in body, f"{where}: not a page of the site in French: {body[:300]!r}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_gets_a_french_answer_and_writes_nothing(case, world, clients):
    client = clients[case.role]
    path = case.path(world)
    before_counts, before = counts(), db_snapshot()

    if case.method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, case.data(world) if case.data else {})

    status = response.status_code
    assert status < 500, f"{status} on {case.method} {path[:200]}"
    assert status in case.statuses, (
        f"{case.method} {path[:200]}: {status}, expected one of {sorted(case.statuses)}"
    )
    if status == 302:
        # Follow the redirect to the page that explains (the admin's "?e=1" notice, a change list).
        target = client.get(response["Location"])
        assert target.status_code < 500, f"{target.status_code} after the redirect to {response['Location']}"
        body = target.content.decode(errors="replace")
    else:
        body = response.content.decode(errors="replace")
    assert_french(body, fragment=case.fragment, where=case.id)
    if case.message and (status != 302):
        assert case.message in html.unescape(body), (
            f"{case.id}: the French message {case.message!r} is missing"
        )

    if case.kept_whole and status == 302:
        obj_name, attribute, expected = case.kept_whole
        obj = getattr(world, obj_name)
        stored = type(obj)._base_manager.values_list(attribute, flat=True).get(pk=obj.pk)
        assert stored == expected, f"{case.id}: kept {len(stored)} of {len(expected)} characters"
        return
    assert counts() == before_counts, f"{case.id}: rows written"
    changed = snapshot_diff(before, db_snapshot())
    assert not changed, f"{case.id}: wrote to {changed}"
