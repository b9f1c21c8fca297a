"""The permission matrix: every URL pattern × every role × objects of one's own and of others.

The URL conf is walked (tests/urlwalk.py); each pattern must have an entry in MATRIX below, keyed by
its name (or its route when it has none): a new URL without an entry fails, so it gets added here.

Each entry lists the objects the URL is tried with (own and another service's or network's) and, for
GET and (for state-changing URLs) POST, the expected outcome for every role. Every request runs in a
savepoint rolled back afterwards, so the cells do not influence each other; after every refused
POST the database must be exactly as before (tests/world.py's snapshot).

Expectations come from issue 9 and PRODUCT.md:
- every page requires login except the login pages; anonymous visitors are sent to a login page;
- a worker sees only their own service's cases (another service's: 404); receiving staff see the
  referrals their service received; users without a service get a 403 on case and referral pages;
- workers without staff status get the admin login redirect on every admin page;
- coordinators edit only their own networks' conventions and memberships; another network's are
  a 403 or a 404 (the spec leaves the choice: both accepted, never 200), on GET and POST, and
  history and revert views are scoped exactly like change views (including for an object that has
  moved to another network since the history row was written);
- services and organisations: administrators edit all; a coordinator changes only those that are
  current or past members of their networks' conventions and sees the others read-only (view 200,
  change POST 403, nothing saved); deletion stays with administrators;
- reference lists (thématiques, publics…) are readable by coordinators, changed by administrators;
- users, groups and the login-attempt logs are for administrators only.
"""

import copy
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse

from tests.urlwalk import iter_patterns, pattern_key
from tests.world import ROLES, clients_fixture, db_snapshot, snapshot_diff, world_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.allow_unknown_template_variables]

LOGIN_PATH = "/connexion/"
ADMIN_LOGIN_PATH = "/admin/login/"


# --- Expected outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    label: str
    statuses: frozenset
    # For redirects: "any_login" (either login page), "admin_login", "not_login" (anywhere else).
    location: str | None = None
    # A refused request: after a POST the database must be unchanged.
    refused: bool = False


OK = Expect("200", frozenset({200}))
LOGIN = Expect("redirect to a login page", frozenset({302}), "any_login", refused=True)
ADMIN_LOGIN = Expect("redirect to the admin login", frozenset({302}), "admin_login", refused=True)
REDIRECT = Expect("redirect (not to a login page)", frozenset({302}), "not_login")
# Logged out: sent to the login page (or a "logged out" page).
LOGGED_OUT = Expect("logged out (200, or redirect to a login page)", frozenset({200, 302}), "any_login")
# Admin logout for a user without staff status: sent to the admin index (then to its login).
BOUNCED = Expect(
    "redirect (not to a login page), nothing written", frozenset({302}), "not_login", refused=True
)
FORBIDDEN = Expect("403", frozenset({403}), refused=True)
NOT_FOUND = Expect("404", frozenset({404}), refused=True)
# Another network's (or another service's listing's) object: the spec leaves 403 or 404 open.
REFUSED = Expect("403 or 404", frozenset({403, 404}), refused=True)
NOT_ALLOWED = Expect("405", frozenset({405}), refused=True)
# An impossible referral transition: 409 and nothing changes.
CONFLICT = Expect("409", frozenset({409}), refused=True)
# A POST the view accepted to handle (saved and redirected, or answered with form errors).
SUBMITTED = Expect("handled (200/302/400/409)", frozenset({200, 302, 400, 409}), "not_login")
# Handled or refused, but never written (e.g. a revert to a version under a network one does not
# coordinate, a bulk action on rows outside one's scope).
UNCHANGED = Expect(
    "nothing written (200/302/400/403/404)", frozenset({200, 302, 400, 403, 404}), "not_login", refused=True
)
# A read-only view is allowed, a refusal too (e.g. the history form of a service one only reads).
VIEW_OR_REFUSED = Expect("200, 403 or 404", frozenset({200, 403, 404}))
# The admin's "view on site" shortcut: a redirect, or 404 when the model has no public page.
SHORTCUT = Expect("302 or 404", frozenset({302, 404}))

# --- Roles ------------------------------------------------------------------------------------------

ANON = ("anonymous",)
WORKERS = ("worker_a", "colleague_a", "worker_b", "receiver")  # no staff status
SERVICE_A = ("worker_a", "colleague_a")
COORDS = ("coordinator_x", "coordinator_y")
CX, CY, ADMIN = ("coordinator_x",), ("coordinator_y",), ("admin",)
STAFF = COORDS + ADMIN
LOGGED_IN = WORKERS + STAFF
# Every admin page: anonymous visitors to a login page, users without staff status to the admin's.
ADMIN_OUTSIDERS = {ANON: LOGIN, WORKERS: ADMIN_LOGIN}


@dataclass
class Url:
    """One URL pattern of the matrix.

    ``objects``: label -> function(world) returning the reverse() args (or a full path when
    ``raw_path``); ``get``/``post``: {roles: Expect or {object label: Expect}}; ``post=None`` for
    a URL that changes nothing (no POST tried). ``post_data``: function(world, label, tools) -> dict.
    ``absent``/``present``: {roles: [text]} checked on 200 GET answers (leaks of other networks).
    """

    get: dict
    post: dict | None = None
    objects: dict = field(default_factory=lambda: {"-": lambda w: []})
    post_data: object = None
    raw_path: bool = False
    query: str = ""
    absent: dict = field(default_factory=dict)
    present: dict = field(default_factory=dict)


def expand(cells):
    """{("a", "b"): x} -> {"a": x, "b": x}; a role listed twice is an error in the table."""
    out = {}
    for roles, value in cells.items():
        for role in (roles,) if isinstance(roles, str) else roles:
            assert role not in out, f"role {role} listed twice"
            out[role] = value
    return out


# --- POST payloads ----------------------------------------------------------------------------------


def admin_form(mutate=None):
    """The admin form of the same URL as the administrator sees it, with ``mutate`` applied."""

    def data(world, label, tools):
        payload = tools.admin_form_data(tools.path)
        for name, value in (mutate or {}).items():
            payload[name] = value(world) if callable(value) else value
        return payload

    return data


def constant(payload):
    return lambda world, label, tools: payload(world) if callable(payload) else payload


DELETE_CONFIRM = constant({"post": "yes"})


# --- Object labels ----------------------------------------------------------------------------------


def pk(name):
    return lambda w: [getattr(w, name).pk]


def revert(obj, history):
    return lambda w: [getattr(w, obj).pk, getattr(w, history).history_id]


NO_ARGS = {"-": lambda w: []}

# --- The matrix -------------------------------------------------------------------------------------

MATRIX = {}

# Site pages ------------------------------------------------------------------------------------------

MATRIX["home"] = Url(get={ANON: LOGIN, LOGGED_IN: OK})
MATRIX["login"] = Url(
    get={ANON: OK, LOGGED_IN: REDIRECT},  # logged in already: sent on to the home page
    post={ANON: OK, LOGGED_IN: REDIRECT},  # wrong password: the form again, in French
    post_data=constant({"username": "personne@exemple.fr", "password": "pas-le-bon"}),
)
MATRIX["logout"] = Url(
    # Issue 9 §4: GET /deconnexion/ shows a page with a logout button.
    get={ANON: LOGIN, LOGGED_IN: OK},
    post={ANON: LOGIN, LOGGED_IN: LOGGED_OUT},
)
MATRIX["partners:search"] = Url(
    get={ANON: LOGIN, LOGGED_IN: OK}, post={ANON: LOGIN, LOGGED_IN: NOT_ALLOWED}, query="?q=hebergement"
)
MATRIX["partners:service_detail"] = Url(
    # The directory is shared: every logged-in user reads any active service.
    objects={"service A": pk("service_a"), "service B": pk("service_b")},
    get={ANON: LOGIN, LOGGED_IN: OK},
)
MATRIX["partners:commune_suggestions"] = Url(
    get={ANON: LOGIN, LOGGED_IN: OK}, post={ANON: LOGIN, LOGGED_IN: NOT_ALLOWED}, query="?lieu=ren"
)

# Cases: they belong to a service; colleagues see them, nobody else (404); no service: 403.
CASES = {"case of A": pk("case_a"), "case of B": pk("case_b")}
CASE_READ = {
    ANON: LOGIN,
    SERVICE_A: {"case of A": OK, "case of B": NOT_FOUND},
    "worker_b": {"case of A": NOT_FOUND, "case of B": OK},
    "receiver": NOT_FOUND,  # received a referral of case A, but the case is service A's
    STAFF: FORBIDDEN,
}
GET_ONLY_FOR_WORKERS = {ANON: LOGIN, LOGGED_IN: NOT_ALLOWED}

MATRIX["referrals:case_list"] = Url(
    get={ANON: LOGIN, WORKERS: OK, STAFF: FORBIDDEN},
    post=GET_ONLY_FOR_WORKERS,
    absent={SERVICE_A: ["B-0001"], "worker_b": ["A-0001"], "receiver": ["A-0001", "B-0001"]},
    present={SERVICE_A: ["A-0001"], "worker_b": ["B-0001"]},
)
CASE_PAYLOAD = constant(
    lambda w: {
        "reference": "MATRICE-1",
        "needs": [w.need.pk],
        "place": "35000",
        "radius_km": "20",
        "notes": "Écrit par la matrice.",
    }
)
MATRIX["referrals:case_create"] = Url(
    get={ANON: LOGIN, WORKERS: OK, STAFF: FORBIDDEN},
    post={ANON: LOGIN, WORKERS: SUBMITTED, STAFF: FORBIDDEN},
    post_data=CASE_PAYLOAD,
)
MATRIX["referrals:case_detail"] = Url(objects=CASES, get=CASE_READ, post=GET_ONLY_FOR_WORKERS)
MATRIX["referrals:case_update"] = Url(
    objects=CASES,
    get=CASE_READ,
    post={
        ANON: LOGIN,
        SERVICE_A: {"case of A": SUBMITTED, "case of B": NOT_FOUND},
        "worker_b": {"case of A": NOT_FOUND, "case of B": SUBMITTED},
        "receiver": NOT_FOUND,
        STAFF: FORBIDDEN,
    },
    post_data=CASE_PAYLOAD,
)
CASE_ACTION = {
    ANON: LOGIN,
    SERVICE_A: {"case of A": REDIRECT, "case of B": NOT_FOUND},
    "worker_b": {"case of A": NOT_FOUND, "case of B": REDIRECT},
    "receiver": NOT_FOUND,
    STAFF: FORBIDDEN,
}
MATRIX["referrals:case_close"] = Url(objects=CASES, get=GET_ONLY_FOR_WORKERS, post=CASE_ACTION)
# The world's cases are open: reopening one is a move the life-cycle refuses (409, nothing changes).
MATRIX["referrals:case_reopen"] = Url(
    objects=CASES,
    get=GET_ONLY_FOR_WORKERS,
    post={
        **CASE_ACTION,
        SERVICE_A: {"case of A": CONFLICT, "case of B": NOT_FOUND},
        "worker_b": {"case of A": NOT_FOUND, "case of B": CONFLICT},
    },
)
# Answer pages opened by a personal link, without an account: the token decides, not the user.
GONE = Expect("410", frozenset({410}), refused=True)
EVERYONE = ANON + LOGGED_IN
MADE_UP_TOKEN = "A" * 43
LINKS = {
    "link to referral A": lambda w: [w.link_token_a],
    "expired link to referral B": lambda w: [w.expired_token_b],
    "made-up token": lambda w: [MADE_UP_TOKEN],
}
BY_LINK = {"link to referral A": OK, "expired link to referral B": GONE, "made-up token": NOT_FOUND}
MATRIX["referrals:answer_link"] = Url(objects=LINKS, get={EVERYONE: BY_LINK}, post={EVERYONE: NOT_ALLOWED})


def with_action(args, action):
    return lambda w: [*args(w), action]


MATRIX["referrals:answer_link_action"] = Url(
    objects={label: with_action(args, "etudier") for label, args in LINKS.items()},
    get={EVERYONE: NOT_ALLOWED},
    post={EVERYONE: {**BY_LINK, "link to referral A": REDIRECT}},
    post_data=constant({"status": "sent"}),
)
MATRIX["referrals:answer_link_renew"] = Url(
    objects=LINKS,
    get={EVERYONE: NOT_ALLOWED},
    # A fresh link e-mailed to the address of the link (valid or expired): a page that says so.
    post={EVERYONE: {**BY_LINK, "link to referral A": OK, "expired link to referral B": OK}},
)
MATRIX["referrals:case_routing"] = Url(objects=CASES, get=CASE_READ, post=GET_ONLY_FOR_WORKERS)
MATRIX["referrals:case_refer"] = Url(
    objects=CASES,
    get=GET_ONLY_FOR_WORKERS,  # POST-only: review, then confirm
    post={
        ANON: LOGIN,
        SERVICE_A: {"case of A": SUBMITTED, "case of B": NOT_FOUND},
        "worker_b": {"case of A": NOT_FOUND, "case of B": SUBMITTED},
        "receiver": NOT_FOUND,
        STAFF: FORBIDDEN,
    },
    post_data=constant(lambda w: {"services": [str(w.service_out.pk)], "confirm": "1"}),
)

# Referrals: the sender's service and the receiving service see them; nobody else (404).
MATRIX["referrals:inbox"] = Url(
    get={ANON: LOGIN, WORKERS: OK, STAFF: FORBIDDEN},
    post=GET_ONLY_FOR_WORKERS,
    present={"receiver": ["A-0001"]},
    absent={SERVICE_A: ["A-0001", "B-0001"], "worker_b": ["A-0001", "B-0001"], "receiver": ["B-0001"]},
)
MATRIX["referrals:referral_detail"] = Url(
    objects={"referral of A to R": pk("referral_a"), "referral of B": pk("referral_b")},
    get={
        ANON: LOGIN,
        SERVICE_A: {"referral of A to R": OK, "referral of B": NOT_FOUND},
        "worker_b": {"referral of A to R": NOT_FOUND, "referral of B": OK},
        "receiver": {"referral of A to R": OK, "referral of B": NOT_FOUND},
        STAFF: FORBIDDEN,
    },
    post=GET_ONLY_FOR_WORKERS,
)


def transition(referral, action):
    return lambda w: [getattr(w, referral).pk, action]


MATRIX["referrals:referral_transition"] = Url(
    objects={
        "A→R accepter": transition("referral_a", "accepter"),
        "A→R refuser": transition("referral_a", "refuser"),
        "A→R terminer": transition("referral_a", "terminer"),
        "A→R annuler": transition("referral_a", "annuler"),
        "A→R unknown action": transition("referral_a", "inconnue"),
        "B→out accepter": transition("referral_b", "accepter"),
    },
    get=GET_ONLY_FOR_WORKERS,  # POST-only
    post={
        ANON: LOGIN,
        SERVICE_A: {  # the sender
            "A→R accepter": FORBIDDEN,
            "A→R refuser": FORBIDDEN,
            "A→R terminer": CONFLICT,  # a sent referral cannot be completed
            "A→R annuler": REDIRECT,
            "A→R unknown action": NOT_FOUND,
            "B→out accepter": NOT_FOUND,
        },
        "worker_b": {
            "A→R accepter": NOT_FOUND,
            "A→R refuser": NOT_FOUND,
            "A→R terminer": NOT_FOUND,
            "A→R annuler": NOT_FOUND,
            "A→R unknown action": NOT_FOUND,
            "B→out accepter": FORBIDDEN,  # B sent it; only the receiving service answers
        },
        "receiver": {
            "A→R accepter": REDIRECT,
            "A→R refuser": REDIRECT,
            "A→R terminer": CONFLICT,
            "A→R annuler": FORBIDDEN,  # only the sender cancels
            "A→R unknown action": NOT_FOUND,
            "B→out accepter": NOT_FOUND,
        },
        STAFF: FORBIDDEN,
    },
    post_data=constant({"reason": "full", "details": "Plus de place.", "comment": "Vu."}),
)

# A service keeps its own listing (issue 10): its staff from their account (their own service only:
# no id in the URL; no service, 403), a service without an account through its personal link.
LISTING_PAYLOAD = constant(
    {
        "capacity_status": "waiting_list",
        "phone": "02 99 00 00 00",
        "email": "matrice@exemple.fr",
        "website": "https://exemple.fr",
        "opening_hours": "Lundi 9 h – 12 h",
        "description": "Écrit par la matrice.",
    }
)
MATRIX["partners:listing_edit"] = Url(
    get={ANON: LOGIN, WORKERS: OK, STAFF: FORBIDDEN},
    post={ANON: LOGIN, WORKERS: REDIRECT, STAFF: FORBIDDEN},
    post_data=LISTING_PAYLOAD,
)
MATRIX["partners:listing_confirm"] = Url(
    get={ANON: LOGIN, LOGGED_IN: NOT_ALLOWED}, post={ANON: LOGIN, WORKERS: REDIRECT, STAFF: FORBIDDEN}
)
SERVICE_PAGES = {"service A": pk("service_a"), "service B": pk("service_b")}
# Any logged-in user may have a link e-mailed to the service's own address (never shown).
MATRIX["partners:listing_link_request"] = Url(
    objects=SERVICE_PAGES, get={ANON: LOGIN, LOGGED_IN: NOT_ALLOWED}, post={ANON: LOGIN, LOGGED_IN: REDIRECT}
)
MATRIX["partners:error_report_create"] = Url(
    objects=SERVICE_PAGES,
    get={ANON: LOGIN, LOGGED_IN: OK},
    post={ANON: LOGIN, LOGGED_IN: REDIRECT},
    post_data=constant({"category": "contact", "text": "Le numéro ne répond plus."}),
)
LISTING_LINKS = {
    "listing link of A": lambda w: [w.listing_token_a],
    "expired listing link of B": lambda w: [w.expired_listing_token_b],
    "answer link used as a listing link": lambda w: [w.link_token_a],
    "made-up token": lambda w: [MADE_UP_TOKEN],
}
BY_LISTING_LINK = {
    "listing link of A": OK,
    "expired listing link of B": GONE,
    "answer link used as a listing link": NOT_FOUND,
    "made-up token": NOT_FOUND,
}
MATRIX["partners:listing_link"] = Url(
    objects=LISTING_LINKS,
    get={EVERYONE: BY_LISTING_LINK},
    post={EVERYONE: {**BY_LISTING_LINK, "listing link of A": REDIRECT}},
    post_data=LISTING_PAYLOAD,
)
MATRIX["partners:listing_link_confirm"] = Url(
    objects=LISTING_LINKS,
    get={EVERYONE: NOT_ALLOWED},
    post={EVERYONE: {**BY_LISTING_LINK, "listing link of A": REDIRECT}},
)
MATRIX["partners:listing_link_renew"] = Url(
    objects=LISTING_LINKS,
    get={EVERYONE: NOT_ALLOWED},
    # A fresh link e-mailed to the address of the link (valid or expired): a page that says so.
    post={EVERYONE: {**BY_LISTING_LINK, "listing link of A": OK, "expired listing link of B": OK}},
)

# Admin site pages -----------------------------------------------------------------------------------

MATRIX["admin:index"] = Url(get={**ADMIN_OUTSIDERS, STAFF: OK})
MATRIX["admin:login"] = Url(
    # Workers are logged in but not staff: the admin login form, with its explanation.
    get={ANON: OK, WORKERS: OK, STAFF: REDIRECT},
    post={ANON: OK, WORKERS: OK, STAFF: OK},  # wrong password: the form again
    post_data=constant({"username": "personne@exemple.fr", "password": "pas-le-bon"}),
)
MATRIX["admin:logout"] = Url(
    get={ANON: LOGIN, WORKERS: BOUNCED, STAFF: NOT_ALLOWED},  # Django's admin logout is POST-only
    post={ANON: LOGIN, WORKERS: BOUNCED, STAFF: LOGGED_OUT},
)
MATRIX["admin:password_change"] = Url(
    get={**ADMIN_OUTSIDERS, STAFF: OK}, post={**ADMIN_OUTSIDERS, STAFF: SUBMITTED}
)
MATRIX["admin:password_change_done"] = Url(get={**ADMIN_OUTSIDERS, STAFF: OK})
MATRIX["admin:jsi18n"] = Url(get={**ADMIN_OUTSIDERS, STAFF: OK})
MATRIX["admin:autocomplete"] = Url(
    objects={
        "member service": lambda w: (
            "app_label=partners&model_name=conventionmembership&field_name=service&term="
        ),
        "member convention": lambda w: (
            "app_label=partners&model_name=conventionmembership&field_name=convention&term=Convention"
        ),
        "no parameters": lambda w: "",
    },
    get={
        **ADMIN_OUTSIDERS,
        STAFF: {"member service": OK, "member convention": OK, "no parameters": FORBIDDEN},
    },
    absent={CX: ["Convention Ypsilon", "Convention Mélèze"], CY: ["Convention Xanthe"]},
)
MATRIX["admin:view_on_site"] = Url(
    objects={
        "service A": lambda w: [ContentType.objects.get_for_model(w.service_a).pk, w.service_a.pk],
    },
    get={**ADMIN_OUTSIDERS, STAFF: SHORTCUT},
)
MATRIX["admin:app_list"] = Url(
    objects={app: (lambda w, app=app: [app]) for app in ("partners", "accounts", "auth", "axes")},
    get={
        **ADMIN_OUTSIDERS,
        COORDS: {"partners": OK, "accounts": NOT_FOUND, "auth": NOT_FOUND, "axes": NOT_FOUND},
        ADMIN: OK,
    },
)
MATRIX["admin/(?P<url>.*)$"] = Url(  # the admin's final catch-all
    objects={"unknown page": lambda w: "/admin/nexiste-pas/"},
    raw_path=True,
    get={**ADMIN_OUTSIDERS, STAFF: NOT_FOUND},
)


def admin_model(
    app_model,
    objects,
    *,
    changelist,
    add,
    change,
    delete,
    history,
    add_post=None,
    change_post=None,
    change_mutate=None,
    changelist_post=None,
    changelist_target=None,
    absent=None,
):
    """The six URLs Django's admin gives a model. Every argument is explicit for every model:

    ``changelist``/``add``: {roles: Expect} for GET; ``add_post`` for POST (empty form);
    ``change``/``delete``/``history``: {roles: Expect or {object: Expect}}; ``change_post`` for a
    POST of the administrator's form with ``change_mutate`` applied; delete is POSTed with its
    confirmation. ``changelist_post``: the bulk delete action on ``changelist_target``.
    """
    app, model = app_model.split(".")
    prefix = f"admin:{app}_{model}"
    entries = {
        f"{prefix}_changelist": Url(
            get={**ADMIN_OUTSIDERS, **changelist},
            post={**ADMIN_OUTSIDERS, **changelist_post} if changelist_post else None,
            post_data=(
                constant(
                    lambda w: {
                        "action": "delete_selected",
                        "_selected_action": [str(getattr(w, changelist_target).pk)],
                        "post": "yes",
                    }
                )
                if changelist_post
                else None
            ),
            absent=absent or {},
        ),
        f"{prefix}_add": Url(
            get={**ADMIN_OUTSIDERS, **add}, post={**ADMIN_OUTSIDERS, **add_post} if add_post else None
        ),
        f"{prefix}_change": Url(
            objects=objects,
            get={**ADMIN_OUTSIDERS, **change},
            post={**ADMIN_OUTSIDERS, **change_post},
            post_data=admin_form(change_mutate),
        ),
        f"{prefix}_delete": Url(
            objects=objects,
            get={**ADMIN_OUTSIDERS, **delete},
            post={**ADMIN_OUTSIDERS, **delete},
            post_data=DELETE_CONFIRM,
        ),
        f"{prefix}_history": Url(objects=objects, get={**ADMIN_OUTSIDERS, **history}),
        # /admin/<app>/<model>/<id>/ redirects to the change page (which decides).
        f"admin/{app}/{model}/<path:object_id>/": Url(
            objects=objects, get={**ADMIN_OUTSIDERS, STAFF: REDIRECT}
        ),
    }
    return entries


# Reference lists: coordinators read them (and add local thématiques and publics); only
# administrators change or delete them. The items are national ones (read-only code).
for _model, _coordinators_add in [
    ("domain", True),
    ("public", True),
    ("accessmode", False),
    ("fee", False),
    ("servicetype", False),
    ("language", False),
]:
    _attr = {
        "domain": "need",
        "public": "public",
        "accessmode": "access_mode",
        "fee": "fee",
        "servicetype": "service_type",
        "language": "language",
    }[_model]
    MATRIX.update(
        admin_model(
            f"partners.{_model}",
            {"national item": pk(_attr)},
            changelist={STAFF: OK},
            add={COORDS: OK if _coordinators_add else FORBIDDEN, ADMIN: OK},
            add_post={COORDS: SUBMITTED if _coordinators_add else FORBIDDEN, ADMIN: SUBMITTED},
            change={COORDS: OK, ADMIN: OK},  # coordinators: read-only
            change_post={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
            change_mutate={"label": "Modifié par la matrice"},
            delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
            history={STAFF: OK},
        )
    )

MATRIX.update(
    admin_model(
        "partners.commune",
        {"Rennes": pk("commune")},
        changelist={STAFF: OK},
        add={COORDS: FORBIDDEN, ADMIN: OK},
        add_post={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        change={STAFF: OK},  # coordinators: read-only
        change_post={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        change_mutate={"name": "Modifiée par la matrice"},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history={STAFF: OK},
    )
)

# Directory: a coordinator changes the services (and their organisations) that are or were members
# of their networks' conventions; the others are read-only for them (view 200, POST 403).
SERVICE_ATTRS = {
    "service A (X member)": "service_a",
    "past member of X": "service_past",
    "service B (Y member)": "service_b",
    "outside every convention": "service_out",
}
SERVICES = {label: pk(attr) for label, attr in SERVICE_ATTRS.items()}
SERVICE_CHANGE_POST = {
    CX: {
        "service A (X member)": SUBMITTED,
        "past member of X": SUBMITTED,
        "service B (Y member)": FORBIDDEN,
        "outside every convention": FORBIDDEN,
    },
    CY: {
        "service A (X member)": FORBIDDEN,
        "past member of X": FORBIDDEN,
        "service B (Y member)": SUBMITTED,
        "outside every convention": FORBIDDEN,
    },
    ADMIN: SUBMITTED,
}
MATRIX.update(
    admin_model(
        "partners.service",
        SERVICES,
        changelist={STAFF: OK},
        add={STAFF: OK},  # coordinators keep the directory: they may list a new service
        add_post={STAFF: SUBMITTED},
        change={STAFF: OK},  # others' services: read-only view
        change_post=SERVICE_CHANGE_POST,
        change_mutate={"email": "detourne@exemple.fr", "is_active": ""},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history={STAFF: OK},
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},  # coordinators delete no service
        changelist_target="service_b",
        # Issue 9 §2: the network filter offers only the coordinator's networks.
        absent={CX: ["Réseau Ypsilon"], CY: ["Réseau Xanthe"]},
    )
)
ORGANISATION_ATTRS = {
    "organisation of A (X member)": "org_a",
    "organisation of a past X member": "org_past",
    "organisation of B (Y member)": "org_b",
    "organisation outside": "org_out",
}
ORGANISATIONS = {label: pk(attr) for label, attr in ORGANISATION_ATTRS.items()}
MATRIX.update(
    admin_model(
        "partners.organisation",
        ORGANISATIONS,
        changelist={STAFF: OK},
        add={STAFF: OK},
        add_post={STAFF: SUBMITTED},
        change={STAFF: OK},
        change_post={
            CX: {
                "organisation of A (X member)": SUBMITTED,
                "organisation of a past X member": SUBMITTED,
                "organisation of B (Y member)": FORBIDDEN,
                "organisation outside": FORBIDDEN,
            },
            CY: {
                "organisation of A (X member)": FORBIDDEN,
                "organisation of a past X member": FORBIDDEN,
                "organisation of B (Y member)": SUBMITTED,
                "organisation outside": FORBIDDEN,
            },
            ADMIN: SUBMITTED,
        },
        change_mutate={"name": "Organisation détournée"},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history={STAFF: OK},
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},
        changelist_target="org_b",
    )
)

# Networks, conventions, memberships: each coordinator only their own networks'.
NETWORKS = {"network X": pk("network_x"), "network Y": pk("network_y")}

# Insight: a network's coordinators and administrators read it; anybody else gets a 404 (issue 11).
INSIGHT_READ = {
    ANON: LOGIN,
    WORKERS: NOT_FOUND,
    CX: {"network X": OK, "network Y": NOT_FOUND},
    CY: {"network X": NOT_FOUND, "network Y": OK},
    ADMIN: OK,
}


def insight_page(slug):
    return {label: with_action(args, slug) for label, args in NETWORKS.items()}


MATRIX["insight:index"] = Url(objects=NETWORKS, get=INSIGHT_READ, post=GET_ONLY_FOR_WORKERS)
MATRIX["insight:page"] = Url(
    objects=insight_page("hors-convention"), get=INSIGHT_READ, post=GET_ONLY_FOR_WORKERS
)
MATRIX["insight:chart"] = Url(
    objects=insight_page("concentration"), get=INSIGHT_READ, post=GET_ONLY_FOR_WORKERS
)
OWN_NETWORK = {CX: {"network X": OK, "network Y": REFUSED}, CY: {"network X": REFUSED, "network Y": OK}}
MATRIX.update(
    admin_model(
        "partners.network",
        NETWORKS,
        changelist={STAFF: OK},
        add={COORDS: FORBIDDEN, ADMIN: OK},  # only administrators create networks
        add_post={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        change={**OWN_NETWORK, ADMIN: OK},
        change_post={
            CX: {"network X": SUBMITTED, "network Y": REFUSED},
            CY: {"network X": REFUSED, "network Y": SUBMITTED},
            ADMIN: SUBMITTED,
        },
        change_mutate={"name": "Réseau détourné"},
        delete={COORDS: REFUSED, ADMIN: SUBMITTED},
        history={**OWN_NETWORK, ADMIN: OK},
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},
        changelist_target="network_y",
        absent={CX: ["Réseau Ypsilon"], CY: ["Réseau Xanthe"]},
    )
)

CONVENTIONS = {
    "convention of X": pk("convention_x"),
    "convention of Y": pk("convention_y"),
    "convention moved from X to Y": pk("convention_moved"),
}
OWN_CONVENTION_GET = {
    CX: {"convention of X": OK, "convention of Y": REFUSED, "convention moved from X to Y": REFUSED},
    CY: {"convention of X": REFUSED, "convention of Y": OK, "convention moved from X to Y": OK},
    ADMIN: OK,
}
OWN_CONVENTION_POST = {
    CX: {"convention of X": SUBMITTED, "convention of Y": REFUSED, "convention moved from X to Y": REFUSED},
    CY: {"convention of X": REFUSED, "convention of Y": SUBMITTED, "convention moved from X to Y": SUBMITTED},
    ADMIN: SUBMITTED,
}
MATRIX.update(
    admin_model(
        "partners.convention",
        CONVENTIONS,
        changelist={STAFF: OK},
        add={STAFF: OK},
        add_post={STAFF: SUBMITTED},
        change=OWN_CONVENTION_GET,
        change_post=OWN_CONVENTION_POST,
        change_mutate={"title": "Convention détournée"},
        delete=OWN_CONVENTION_POST,
        history=OWN_CONVENTION_GET,
        changelist_post={CX: UNCHANGED, CY: SUBMITTED, ADMIN: SUBMITTED},
        changelist_target="convention_y",
        absent={CX: ["Convention Ypsilon", "Convention Mélèze"], CY: ["Convention Xanthe"]},
    )
)
# django-simple-history's revert form (history/<id>/<history_id>/): scoped like the change view,
# against the current object, not the historical version (issue 9 §2).
MATRIX["admin:partners_convention_simple_history"] = Url(
    objects={
        "convention of X, its first version": revert("convention_x", "history_convention_x"),
        "convention of Y, its first version": revert("convention_y", "history_convention_y"),
        "moved to Y, version under X": revert("convention_moved", "history_convention_moved"),
    },
    get={
        **ADMIN_OUTSIDERS,
        CX: {
            "convention of X, its first version": OK,
            "convention of Y, its first version": REFUSED,
            "moved to Y, version under X": REFUSED,
        },
        CY: {
            "convention of X, its first version": REFUSED,
            "convention of Y, its first version": OK,
            "moved to Y, version under X": VIEW_OR_REFUSED,
        },
        ADMIN: OK,
    },
    post={
        **ADMIN_OUTSIDERS,
        CX: {
            "convention of X, its first version": SUBMITTED,
            "convention of Y, its first version": REFUSED,
            "moved to Y, version under X": REFUSED,
        },
        CY: {
            "convention of X, its first version": REFUSED,
            "convention of Y, its first version": SUBMITTED,
            # Reverting would file it back under X, a network Y does not coordinate.
            "moved to Y, version under X": UNCHANGED,
        },
        ADMIN: SUBMITTED,
    },
    post_data=admin_form({"title": "Convention restaurée par la matrice"}),
)

MEMBERSHIPS = {
    "membership in X": pk("membership_a"),
    "membership in Y": pk("membership_b"),
    "membership moved from X to Y": pk("membership_moved"),
}
OWN_MEMBERSHIP_GET = {
    CX: {"membership in X": OK, "membership in Y": REFUSED, "membership moved from X to Y": REFUSED},
    CY: {"membership in X": REFUSED, "membership in Y": OK, "membership moved from X to Y": OK},
    ADMIN: OK,
}
OWN_MEMBERSHIP_POST = {
    CX: {"membership in X": SUBMITTED, "membership in Y": REFUSED, "membership moved from X to Y": REFUSED},
    CY: {"membership in X": REFUSED, "membership in Y": SUBMITTED, "membership moved from X to Y": SUBMITTED},
    ADMIN: SUBMITTED,
}
MATRIX.update(
    admin_model(
        "partners.conventionmembership",
        MEMBERSHIPS,
        changelist={STAFF: OK},
        add={STAFF: OK},
        add_post={STAFF: SUBMITTED},
        change=OWN_MEMBERSHIP_GET,
        change_post=OWN_MEMBERSHIP_POST,
        change_mutate={"role": "member", "joined_on": "2020-01-02"},
        delete=OWN_MEMBERSHIP_POST,
        history=OWN_MEMBERSHIP_GET,
        changelist_post={CX: UNCHANGED, CY: SUBMITTED, ADMIN: SUBMITTED},
        changelist_target="membership_b",
        absent={CX: ["Service Bruyère", "Réseau Ypsilon"], CY: ["Service Aubépine", "Réseau Xanthe"]},
    )
)
MATRIX["admin:partners_conventionmembership_simple_history"] = Url(
    objects={
        "membership in X, its first version": revert("membership_a", "history_membership_a"),
        "membership in Y, its first version": revert("membership_b", "history_membership_b"),
        "moved to Y, version under X": revert("membership_moved", "history_membership_moved"),
    },
    get={
        **ADMIN_OUTSIDERS,
        CX: {
            "membership in X, its first version": OK,
            "membership in Y, its first version": REFUSED,
            "moved to Y, version under X": REFUSED,
        },
        CY: {
            "membership in X, its first version": REFUSED,
            "membership in Y, its first version": OK,
            "moved to Y, version under X": VIEW_OR_REFUSED,
        },
        ADMIN: OK,
    },
    post={
        **ADMIN_OUTSIDERS,
        CX: {
            "membership in X, its first version": SUBMITTED,
            "membership in Y, its first version": REFUSED,
            "moved to Y, version under X": REFUSED,
        },
        CY: {
            "membership in X, its first version": REFUSED,
            "membership in Y, its first version": SUBMITTED,
            "moved to Y, version under X": UNCHANGED,
        },
        ADMIN: SUBMITTED,
    },
    post_data=admin_form({"joined_on": "2020-01-03"}),
)

# Services and organisations keep their history with its author (issue 9 §2): if that comes with
# django-simple-history's admin, its revert form is scoped like the change view.


def first_version(attr):
    def args(w):
        obj = getattr(w, attr)
        return [obj.pk, obj.history.order_by("history_date", "history_id").first().history_id]

    return args


for _model, _attrs, _own_x, _own_y in [
    ("service", SERVICE_ATTRS, ("service A (X member)", "past member of X"), ("service B (Y member)",)),
    (
        "organisation",
        ORGANISATION_ATTRS,
        ("organisation of A (X member)", "organisation of a past X member"),
        ("organisation of B (Y member)",),
    ),
]:
    _objects = {label: first_version(attr) for label, attr in _attrs.items()}
    MATRIX[f"admin:partners_{_model}_simple_history"] = Url(
        objects=_objects,
        get={
            **ADMIN_OUTSIDERS,
            CX: {label: OK if label in _own_x else VIEW_OR_REFUSED for label in _objects},
            CY: {label: OK if label in _own_y else VIEW_OR_REFUSED for label in _objects},
            ADMIN: OK,
        },
        post={
            **ADMIN_OUTSIDERS,
            CX: {label: SUBMITTED if label in _own_x else REFUSED for label in _objects},
            CY: {label: SUBMITTED if label in _own_y else REFUSED for label in _objects},
            ADMIN: SUBMITTED,
        },
        post_data=admin_form({"name": "Restauré par la matrice"}),
    )
# Patterns that do not exist yet but may come with issue 9's fixes (checked only once they exist).
ANTICIPATED = {"admin:partners_service_simple_history", "admin:partners_organisation_simple_history"}

# Error reports (issue 10): administrators, and the coordinators of the networks the reported service
# belongs to today; another network's report is refused; nobody adds one in the admin (they come from
# the service pages); only administrators delete.
REPORTS = {"report on A (X member)": pk("report_a"), "report on B (Y member)": pk("report_b")}
OWN_REPORT = {
    CX: {"report on A (X member)": OK, "report on B (Y member)": REFUSED},
    CY: {"report on A (X member)": REFUSED, "report on B (Y member)": OK},
    ADMIN: OK,
}
MATRIX.update(
    admin_model(
        "partners.errorreport",
        REPORTS,
        changelist={STAFF: OK},
        add={STAFF: FORBIDDEN},
        add_post={STAFF: FORBIDDEN},
        change=OWN_REPORT,
        change_post={
            CX: {"report on A (X member)": SUBMITTED, "report on B (Y member)": REFUSED},
            CY: {"report on A (X member)": REFUSED, "report on B (Y member)": SUBMITTED},
            ADMIN: SUBMITTED,
        },
        change_mutate={"status": "closed"},
        delete={COORDS: REFUSED, ADMIN: SUBMITTED},
        history=OWN_REPORT,
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},
        changelist_target="report_b",
        absent={CX: ["Signalement Bruyère"], CY: ["Signalement Aubépine"]},
    )
)

# Spreadsheet imports (issue 12): a coordinator sees, follows and confirms only their own imports;
# administrators see every import but confirm only their own (the analysis is the author's, within
# the author's scope); nothing is edited by hand; only administrators delete.
IMPORTS = {"import of X's coordinator": pk("import_x"), "import of Y's coordinator": pk("import_y")}
X_IMPORT, Y_IMPORT = IMPORTS


def own_import(own, other_outcome, admin_outcome):
    return {
        CX: {X_IMPORT: own, Y_IMPORT: other_outcome},
        CY: {X_IMPORT: other_outcome, Y_IMPORT: own},
        ADMIN: admin_outcome,
    }


MATRIX.update(
    admin_model(
        "partners.spreadsheetimport",
        IMPORTS,
        changelist={STAFF: OK},
        add={STAFF: OK},
        add_post={STAFF: SUBMITTED},  # an empty upload form: the form again, with its French error
        change=own_import(OK, REFUSED, OK),
        change_post=own_import(NOT_ALLOWED, REFUSED, NOT_ALLOWED),
        delete={COORDS: REFUSED, ADMIN: SUBMITTED},
        history=own_import(OK, REFUSED, OK),
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},
        changelist_target="import_y",
        absent={CX: ["import-y.csv"], CY: ["import-x.csv"]},
    )
)
MATRIX["admin:partners_spreadsheetimport_progress"] = Url(
    objects=IMPORTS,
    get={**ADMIN_OUTSIDERS, **own_import(OK, REFUSED, OK)},
    post={**ADMIN_OUTSIDERS, **own_import(NOT_ALLOWED, REFUSED, NOT_ALLOWED)},
)
MATRIX["admin:partners_spreadsheetimport_confirm"] = Url(
    objects=IMPORTS,
    get={**ADMIN_OUTSIDERS, **own_import(NOT_ALLOWED, REFUSED, NOT_ALLOWED)},
    post={**ADMIN_OUTSIDERS, **own_import(SUBMITTED, REFUSED, FORBIDDEN)},
    post_data=constant({}),
)
# Restarting a stalled import: whoever sees it (its author, administrators).
MATRIX["admin:partners_spreadsheetimport_restart"] = Url(
    objects=IMPORTS,
    get={**ADMIN_OUTSIDERS, **own_import(NOT_ALLOWED, REFUSED, NOT_ALLOWED)},
    post={**ADMIN_OUTSIDERS, **own_import(SUBMITTED, REFUSED, SUBMITTED)},
    post_data=constant({}),
)
# Export of the (filtered) directory lists: every coordinator reads the whole directory.
for _model in ("service", "organisation"):
    MATRIX[f"admin:partners_{_model}_export"] = Url(
        get={**ADMIN_OUTSIDERS, STAFF: OK},
        post={**ADMIN_OUTSIDERS, STAFF: OK},
        post_data=constant({"format": "1", "resource": "0"}),
    )

# Search synonyms (issue 13): coordinators read them all, add some, and change or delete only those
# they added; the seeded list and other coordinators' entries are administrators'. No bulk delete.
SYNONYMS = {"seeded synonym": pk("synonym_seeded"), "synonym added by X": pk("synonym_x")}
OWN_SYNONYM = {
    CX: {"seeded synonym": FORBIDDEN, "synonym added by X": SUBMITTED},
    CY: FORBIDDEN,
    ADMIN: SUBMITTED,
}
MATRIX.update(
    admin_model(
        "partners.searchsynonym",
        SYNONYMS,
        changelist={STAFF: OK},
        add={STAFF: OK},
        add_post={STAFF: SUBMITTED},
        change={STAFF: OK},  # others' synonyms: read-only view
        change_post=OWN_SYNONYM,
        change_mutate={"equivalents": "détourné par la matrice"},
        delete=OWN_SYNONYM,
        history={STAFF: OK},
        changelist_post={COORDS: UNCHANGED, ADMIN: SUBMITTED},
        changelist_target="synonym_seeded",
    )
)

# Accounts, groups and login logs: administrators only.
ADMIN_ONLY = {COORDS: FORBIDDEN, ADMIN: OK}
ADMIN_ONLY_POST = {COORDS: FORBIDDEN, ADMIN: SUBMITTED}
MATRIX.update(
    admin_model(
        "accounts.user",
        {"another user": lambda w: [w.users["worker_b"].pk]},
        changelist=ADMIN_ONLY,
        add=ADMIN_ONLY,
        add_post=ADMIN_ONLY_POST,
        change=ADMIN_ONLY,
        change_post=ADMIN_ONLY_POST,
        change_mutate={"is_staff": "on", "is_superuser": "on"},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history=ADMIN_ONLY,
    )
)
MATRIX["admin:auth_user_password_change"] = Url(
    objects={"another user": lambda w: [w.users["worker_b"].pk]},
    get={**ADMIN_OUTSIDERS, **ADMIN_ONLY},
    post={**ADMIN_OUTSIDERS, **ADMIN_ONLY_POST},
    post_data=constant({"password1": "nouveau-mot-de-passe-2026", "password2": "nouveau-mot-de-passe-2026"}),
)
MATRIX.update(
    admin_model(
        "auth.group",
        {"a group": pk("group")},
        changelist=ADMIN_ONLY,
        add=ADMIN_ONLY,
        add_post=ADMIN_ONLY_POST,
        change=ADMIN_ONLY,
        change_post=ADMIN_ONLY_POST,
        change_mutate={"name": "Groupe détourné"},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history=ADMIN_ONLY,
    )
)
for _model, _attr in [
    ("accessattempt", "access_attempt"),
    ("accesslog", "access_log"),
    ("accessfailurelog", "access_failure_log"),
]:
    MATRIX.update(
        admin_model(
            f"axes.{_model}",
            {"a row": pk(_attr)},
            changelist=ADMIN_ONLY,
            add={STAFF: FORBIDDEN},  # logs are written by axes only
            add_post={STAFF: FORBIDDEN},
            change=ADMIN_ONLY,
            change_post=ADMIN_ONLY_POST,
            delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
            history=ADMIN_ONLY,
        )
    )


# Already on main, not yet on this branch: the e-mail queue's admin (administrators only, read-only
# with a "retry" action), django-tasks-db's task results (read-only), and each user's e-mail
# preferences (any logged-in user, their own only).
MATRIX["accounts:notification_settings"] = Url(
    get={ANON: LOGIN, LOGGED_IN: OK},
    post={ANON: LOGIN, LOGGED_IN: SUBMITTED},
    post_data=constant({"notification_frequency": "daily"}),
)
MATRIX.update(
    admin_model(
        "mail.outgoingmail",
        {"an e-mail": pk("outgoing_mail")},
        changelist=ADMIN_ONLY,
        add={STAFF: FORBIDDEN},
        add_post={STAFF: FORBIDDEN},
        change=ADMIN_ONLY,  # administrators: read-only
        change_post={STAFF: FORBIDDEN},
        delete={COORDS: FORBIDDEN, ADMIN: SUBMITTED},
        history=ADMIN_ONLY,
    )
)
MATRIX.update(
    admin_model(
        "django_tasks_database.dbtaskresult",
        {"a task result": pk("task_result")},
        changelist=ADMIN_ONLY,
        add={STAFF: FORBIDDEN},
        add_post={STAFF: FORBIDDEN},
        change=ADMIN_ONLY,  # administrators: read-only
        change_post={STAFF: FORBIDDEN},
        delete={STAFF: FORBIDDEN},
        history=ADMIN_ONLY,
    )
)
ANTICIPATED |= {
    key
    for key in MATRIX
    if key.startswith(
        ("admin:mail_", "admin/mail/", "admin:django_tasks_database_", "admin/django_tasks_database/")
    )
} | {"accounts:notification_settings"}


# --- Running the matrix -------------------------------------------------------------------------


URL_KEYS = sorted({pattern_key(route, name) for route, name, _ in iter_patterns()})
ROUTES = {pattern_key(route, name): route for route, name, _ in iter_patterns()}


class AdminFormParser(HTMLParser):
    """The fields of the admin's main form (id ``*_form``) as a browser would submit them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_form = False
        self.data = {}
        self.select = None
        self.select_first = None
        self.select_chosen = False
        self.option_value = None
        self.textarea = None

    def add(self, name, value):
        if not name or "__prefix__" in name:
            return
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("id") or "").endswith("_form"):
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.add(a.get("name"), a.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self.select, self.select_first, self.select_chosen = a.get("name"), None, False
            self.multiple = "multiple" in a
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.select_chosen = True
                self.add(self.select, value)
        elif tag == "textarea":
            self.textarea = [a.get("name"), ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            if not self.select_chosen and not self.multiple and self.select_first is not None:
                self.add(self.select, self.select_first)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.add(self.textarea[0], self.textarea[1].lstrip("\n"))
            self.textarea = None


class Tools:
    """What a payload builder may use: the current path and the administrator's view of a form."""

    def __init__(self, admin_client):
        self.admin_client = admin_client
        self.path = None
        self._forms = {}

    def admin_form_data(self, path):
        if path not in self._forms:
            try:
                response = self.admin_client.get(path)
            except Exception:  # a 500 for the administrator is a failure of its own cell
                self._forms[path] = {}
            else:
                parser = AdminFormParser()
                if response.status_code == 200:
                    parser.feed(response.content.decode())
                self._forms[path] = {k: v if len(v) > 1 else v[0] for k, v in parser.data.items()}
        return dict(self._forms[path])


def build_path(key, entry, world, label):
    args = entry.objects[label](world)
    if entry.raw_path:
        return args
    if isinstance(args, str):  # a query string
        return reverse(key) + ("?" + args if args else "")
    if key.startswith("admin/") and key.endswith("<path:object_id>/"):  # unnamed redirect route
        return "/" + key.replace("<path:object_id>", str(args[0]))
    return reverse(key, args=args) + entry.query


def check(expect, status, location):
    if status not in expect.statuses:
        return False
    if status == 302 and expect.location:
        to_login = location.startswith((LOGIN_PATH, ADMIN_LOGIN_PATH))
        if expect.location == "any_login" and not to_login:
            return False
        if expect.location == "admin_login" and not location.startswith(ADMIN_LOGIN_PATH):
            return False
        if expect.location == "not_login" and to_login:
            return False
    return True


def request(client, method, path, data):
    """One request, in a savepoint rolled back afterwards; a server error is reported as a 500."""
    cookies = copy.deepcopy(client.cookies)
    try:
        response = client.get(path) if method == "GET" else client.post(path, data or {})
    except Exception as exc:  # raised by the test client: the view crashed
        return None, 500, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        client.cookies = cookies
    return response, response.status_code, response.get("Location", "")


@pytest.mark.parametrize("key", URL_KEYS)
def test_url_answers_every_role_as_the_matrix_says(key, world, clients):
    assert key in MATRIX, f"{key} ({ROUTES[key]}) has no entry in the permission matrix: add one"
    entry = MATRIX[key]
    tools = Tools(clients["admin"])
    baseline = db_snapshot()
    problems = []
    for method, cells in (("GET", entry.get), ("POST", entry.post)):
        if cells is None:
            continue
        cells = expand(cells)
        missing = set(ROLES) - set(cells)
        assert not missing, f"{key} {method}: no expectation for {sorted(missing)}"
        for role in ROLES:
            for label in entry.objects:
                expect = cells[role]
                if isinstance(expect, dict):
                    assert set(expect) == set(entry.objects), f"{key} {method} {role}: objects {set(expect)}"
                    expect = expect[label]
                with transaction.atomic():
                    path = build_path(key, entry, world, label)
                    tools.path = path
                    data = (
                        entry.post_data(world, label, tools) if method == "POST" and entry.post_data else {}
                    )
                    response, status, detail = request(clients[role], method, path, data)
                    where = f"{method} {path} as {role} ({label})"
                    if not check(expect, status, detail if status == 302 else ""):
                        shown = f"{status} {detail}" if status in (302, 500) else str(status)
                        problems.append(f"{where}: expected {expect.label}, got {shown}")
                    elif method == "POST" and expect.refused:
                        changed = snapshot_diff(baseline, db_snapshot())
                        if changed:
                            problems.append(f"{where}: refused ({status}) but wrote to {', '.join(changed)}")
                    if method == "GET" and status == 200:
                        body = response.content.decode(errors="replace")
                        for text in expand(entry.absent).get(role, []):
                            if text in body:
                                problems.append(f"{where}: shows {text!r} (another network's or service's)")
                        for text in expand(entry.present).get(role, []):
                            if text not in body:
                                problems.append(f"{where}: does not show {text!r}")
                    transaction.set_rollback(True)
    assert not problems, f"{len(problems)} cell(s) of {key}:\n" + "\n".join(problems)


def test_matrix_lists_no_url_that_does_not_exist():
    stale = set(MATRIX) - set(URL_KEYS) - ANTICIPATED
    assert not stale, f"entries for URLs that no longer exist: {sorted(stale)}"


def test_matrix_covers_the_views_named_in_the_issue():
    keys = set(URL_KEYS)
    assert {
        "admin:partners_convention_change",
        "admin:partners_convention_history",
        "admin:partners_convention_simple_history",
        "admin:partners_conventionmembership_simple_history",
        "admin:autocomplete",
        "login",
        "logout",
        "referrals:case_detail",
        "referrals:referral_transition",
    } <= keys
    assert len(URL_KEYS) * len(ROLES) >= 800


@pytest.mark.parametrize(
    ("role", "path_of", "status"),
    [
        ("worker_b", lambda w: reverse("referrals:case_detail", args=[w.case_a.pk]), 404),
        ("coordinator_x", lambda w: reverse("referrals:case_list"), 403),
        ("worker_a", lambda w: reverse("referrals:case_close", args=[w.case_a.pk]), 405),
        (
            "coordinator_x",
            lambda w: reverse("admin:partners_convention_change", args=[w.convention_y.pk]),
            None,
        ),
    ],
    ids=["404-other-service-case", "403-no-service", "405-get-on-post-only", "403-or-404-other-network"],
)
def test_refusals_are_french_pages_in_the_site_layout(world, clients, role, path_of, status):
    """Issue 9 §4: French 403, 404 and 405 pages in the site's layout, with a way back."""
    response = clients[role].get(path_of(world))
    assert response.status_code == status if status else response.status_code in (403, 404)
    body = response.content.decode()
    assert 'lang="fr"' in body, body[:300]
    assert 'href="/"' in body, "no way back to the home page"
    assert not any(english in body for english in ("Not Found", "Forbidden", "Method Not Allowed")), body[
        :300
    ]


def test_snapshot_sees_a_write_and_the_history_it_leaves(world):
    """The "nothing written" check of refused POSTs does see writes, history rows included."""
    from partners.models import Convention, Service

    before = db_snapshot()
    Service.objects.filter(pk=world.service_b.pk).update(email="detourne@exemple.fr")
    convention = Convention.objects.get(pk=world.convention_y.pk)
    convention.title = "Convention détournée"
    convention.save()

    assert {"partners_service", "partners_convention", "partners_historicalconvention"} <= set(
        snapshot_diff(before, db_snapshot())
    )


@pytest.mark.parametrize(
    ("expect", "status", "location", "accepted"),
    [
        (LOGIN, 302, "/connexion/?next=/situations/", True),
        (LOGIN, 302, "/admin/login/?next=/admin/", True),
        (LOGIN, 302, "/", False),
        (ADMIN_LOGIN, 302, "/connexion/?next=/admin/", False),
        (REDIRECT, 302, "/connexion/", False),
        (REFUSED, 200, "", False),
        (REFUSED, 500, "", False),
        (SUBMITTED, 500, "", False),
        (SUBMITTED, 302, "/admin/login/?next=/admin/", False),
    ],
)
def test_matrix_outcomes_never_accept_a_leak_or_a_crash(expect, status, location, accepted):
    assert check(expect, status, location) is accepted
