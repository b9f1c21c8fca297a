"""One small world with an object of each kind, for the permission matrix and the bad-input tests.

Two networks X and Y, each with an active convention; service A (member of X's convention), its
colleague, service B (member of Y's), a receiving service R (member of X's, received a referral
from A), a past member of X's convention, a service outside every convention; cases and referrals
of A and of B; a convention and a membership that moved from X to Y since their first history row.
"""

import contextlib
import datetime
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from partners.enums import ErrorReportCategory, MembershipRole
from partners.models import ErrorReport, SearchSynonym
from partners.spreadsheets import spreadsheet_import_create
from reseau.links.models import LinkPurpose
from reseau.links.services import link_create
from tests.factories import (
    AccessModeFactory,
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    CoordinatorFactory,
    DomainFactory,
    FeeFactory,
    LanguageFactory,
    MembershipFactory,
    NetworkFactory,
    OrganisationFactory,
    PublicFactory,
    ReferralFactory,
    ServiceFactory,
    ServiceTypeFactory,
    UserFactory,
)

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"

ROLES = (
    "anonymous",
    "worker_a",  # worker of service A
    "colleague_a",  # another worker of service A
    "worker_b",  # worker of service B
    "receiver",  # staff of service R, which received a referral from A
    "coordinator_x",  # coordinator of network X (staff, no service)
    "coordinator_y",  # coordinator of network Y (staff, no service)
    "admin",  # administrator (superuser)
)


def build_world():
    today = timezone.localdate()
    w = SimpleNamespace()

    # Reference lists: national entries (their schema code is read-only in the admin).
    w.commune = CommuneFactory(
        insee_code="35238", name="Rennes", department="35", population=220000, postcodes=["35000"]
    )
    w.category = DomainFactory(code="logement-hebergement", label="Logement et hébergement", national=True)
    w.need = DomainFactory(
        code="hebergement-urgence", label="Hébergement d'urgence", parent=w.category, national=True
    )
    w.public = PublicFactory(code="familles", label="Familles", national=True)
    w.access_mode = AccessModeFactory(code="en-presentiel", label="En présentiel", national=True)
    w.fee = FeeFactory(code="gratuit", label="Gratuit", national=True)
    w.service_type = ServiceTypeFactory(code="accompagnement", label="Accompagnement", national=True)
    w.language = LanguageFactory(code="fr", label="Français", national=True)

    # Networks, conventions, services.
    w.network_x = NetworkFactory(name="Réseau Xanthe")
    w.network_y = NetworkFactory(name="Réseau Ypsilon")
    w.convention_x = ConventionFactory(network=w.network_x, title="Convention Xanthe")
    w.convention_y = ConventionFactory(network=w.network_y, title="Convention Ypsilon")

    def service(name, organisation):
        return ServiceFactory(
            name=name,
            organisation=OrganisationFactory(name=organisation),
            commune=w.commune,
            domains=[w.need],
            email=f"{name.split()[-1].lower()}@exemple.fr",
        )

    w.service_a = service("Service Aubépine", "Association Aubépine")
    w.service_b = service("Service Bruyère", "Association Bruyère")
    w.service_r = service("Service Romarin", "Association Romarin")
    w.service_past = service("Service Passiflore", "Association Passiflore")
    w.service_out = service("Service Ortie", "Association Ortie")
    w.service_moved = service("Service Mélèze", "Association Mélèze")
    w.org_a, w.org_b = w.service_a.organisation, w.service_b.organisation
    w.org_past, w.org_out = w.service_past.organisation, w.service_out.organisation

    w.membership_a = MembershipFactory(
        convention=w.convention_x, service=w.service_a, role=MembershipRole.PILOT
    )
    w.membership_r = MembershipFactory(convention=w.convention_x, service=w.service_r)
    w.membership_past = MembershipFactory(
        convention=w.convention_x,
        service=w.service_past,
        joined_on=today - datetime.timedelta(days=300),
        left_on=today - datetime.timedelta(days=10),
    )
    w.membership_b = MembershipFactory(
        convention=w.convention_y, service=w.service_b, role=MembershipRole.PILOT
    )

    # Moved from X to Y after creation: their first history row still says X.
    w.convention_moved = ConventionFactory(network=w.network_x, title="Convention Mélèze")
    w.convention_moved.network = w.network_y
    w.convention_moved.save()
    w.membership_moved = MembershipFactory(convention=w.convention_x, service=w.service_moved)
    w.membership_moved.convention = w.convention_y
    w.membership_moved.save()

    def first_history(obj):
        return obj.history.order_by("history_date", "history_id").first()

    w.history_convention_x = first_history(w.convention_x)
    w.history_convention_y = first_history(w.convention_y)
    w.history_convention_moved = first_history(w.convention_moved)  # network X at the time
    w.history_membership_a = first_history(w.membership_a)
    w.history_membership_b = first_history(w.membership_b)
    w.history_membership_moved = first_history(w.membership_moved)  # convention X at the time

    # People.
    w.users = {
        "worker_a": UserFactory(email="a@exemple.fr", service=w.service_a),
        "colleague_a": UserFactory(email="collegue-a@exemple.fr", service=w.service_a),
        "worker_b": UserFactory(email="b@exemple.fr", service=w.service_b),
        "receiver": UserFactory(email="r@exemple.fr", service=w.service_r),
        "coordinator_x": CoordinatorFactory(email="coord-x@exemple.fr", networks=[w.network_x]),
        "coordinator_y": CoordinatorFactory(email="coord-y@exemple.fr", networks=[w.network_y]),
        "admin": UserFactory(email="admin@exemple.fr", admin=True),
    }

    # Search synonyms: one of the seeded list (no author), one a coordinator of X added.
    w.synonym_seeded = SearchSynonym.objects.create(
        term="CHRS", equivalents="centre d'hébergement et de réinsertion sociale"
    )
    w.synonym_x = SearchSynonym.objects.create(
        term="Halte de nuit", equivalents="accueil de nuit", created_by=w.users["coordinator_x"]
    )

    # Cases and referrals of A (one to R, in convention) and of B (one to an outside service).
    w.case_a = CaseFactory(
        service=w.service_a,
        commune=w.commune,
        needs=[w.need],
        reference="A-0001",
        created_by=w.users["worker_a"],
    )
    w.case_b = CaseFactory(
        service=w.service_b,
        commune=w.commune,
        needs=[w.need],
        reference="B-0001",
        created_by=w.users["worker_b"],
    )
    w.referral_a = ReferralFactory(
        case=w.case_a,
        service=w.service_r,
        classification="in_convention",
        convention=w.convention_x,
        needs=[w.need],
        to="sent",
    )
    w.referral_b = ReferralFactory(case=w.case_b, service=w.service_out, needs=[w.need], to="sent")
    # Personal links e-mailed to the receiving services: a valid one for referral A, an expired one
    # for referral B (the tokens themselves are only ever in e-mails: kept here to play the receiver).
    _, w.link_token_a = link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER, service=w.service_r, referral=w.referral_a, email="r@exemple.fr"
    )
    expired, w.expired_token_b = link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER,
        service=w.service_out,
        referral=w.referral_b,
        email="out@exemple.fr",
        now=timezone.now() - datetime.timedelta(days=30),
    )

    # Personal links e-mailed to services to keep their listing: a valid one for service A, an
    # expired one for service B; and an error report on each (A is in network X, B in network Y).
    _, w.listing_token_a = link_create(
        purpose=LinkPurpose.SERVICE_LISTING, service=w.service_a, email="aubepine@exemple.fr"
    )
    _, w.expired_listing_token_b = link_create(
        purpose=LinkPurpose.SERVICE_LISTING,
        service=w.service_b,
        email="bruyere@exemple.fr",
        now=timezone.now() - datetime.timedelta(days=30),
    )
    w.report_a = ErrorReport.objects.create(
        service=w.service_a,
        category=ErrorReportCategory.CONTACT,
        text="Signalement Aubépine : le téléphone ne répond plus.",
        reporter=w.users["worker_b"],
    )
    w.report_b = ErrorReport.objects.create(
        service=w.service_b,
        category=ErrorReportCategory.OPENING_HOURS,
        text="Signalement Bruyère : fermé le mardi.",
        reporter=w.users["worker_a"],
    )

    # Spreadsheet imports (issue 12), analysed and waiting for their author's confirmation: coordinator X
    # renames the organisation of A (X member), coordinator Y that of B (Y member).
    for network, org, name in (("x", w.org_a, "Aubépine"), ("y", w.org_b, "Bruyère")):
        content = f"source;id;nom\nreseau;reseau--{org.pk};Association {name} renommée\n".encode()
        job = spreadsheet_import_create(
            user=w.users[f"coordinator_{network}"], file_name=f"import-{network}.csv", content=content
        )
        setattr(w, f"import_{network}", job)

    # A need no partner of A covers, and a service outside every convention that covers it: a
    # referral of case_rare to service_rare is "no_partner"; one of case_a to service_out is
    # "off_convention" (service R, a partner of A, covers case_a's need).
    w.rare_need = DomainFactory(
        code="acces-aux-droits", label="Accès aux droits", parent=w.category, national=True
    )
    w.service_rare = ServiceFactory(
        name="Service Rare",
        organisation=OrganisationFactory(name="Association Rare"),
        commune=w.commune,
        domains=[w.rare_need],
        email="rare@exemple.fr",
    )
    w.case_rare = CaseFactory(
        service=w.service_a,
        commune=w.commune,
        needs=[w.rare_need],
        reference="A-0002",
        created_by=w.users["worker_a"],
    )

    # Rows of the other admin screens.
    w.group = Group.objects.create(name="Groupe de la matrice")
    access = {"user_agent": "pytest", "ip_address": "127.0.0.1", "username": "x@exemple.fr"}
    access.update(http_accept="text/html", path_info="/connexion/")
    w.access_attempt = AccessAttempt.objects.create(
        **access, get_data="", post_data="", failures_since_start=1
    )
    w.access_log = AccessLog.objects.create(**access)
    w.access_failure_log = AccessFailureLog.objects.create(**access)

    # Rows of admin screens that come with the e-mail queue (on main, not yet on every branch).
    if apps.is_installed("reseau.mail"):
        w.outgoing_mail = apps.get_model("mail", "OutgoingMail").objects.create(
            subject="Orientation reçue", body="Bonjour.", recipients=["r@exemple.fr"]
        )
    if apps.is_installed("django_tasks_db"):
        w.task_result = apps.get_model("django_tasks_database", "DBTaskResult").objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="reseau.mail.tasks.deliver",
            backend_name="default",
            run_after=timezone.now(),
            exception_class_path="",
            traceback="",
        )
    return w


def snapshot_models():
    """The tables a refused request must leave untouched, with the auto-created M2M tables."""
    labels = [
        "referrals.Case",
        "referrals.Referral",
        "referrals.ReferralEvent",
        "links.AccessLink",
        "partners.Service",
        "partners.Organisation",
        "partners.Network",
        "partners.Convention",
        "partners.ConventionMembership",
        "partners.HistoricalConvention",
        "partners.HistoricalConventionMembership",
        "partners.Domain",
        "partners.Public",
        "partners.AccessMode",
        "partners.Fee",
        "partners.ServiceType",
        "partners.Language",
        "partners.Commune",
        "partners.Postcode",
        "partners.ErrorReport",
        "partners.ListingReminder",
        "partners.SpreadsheetImport",
        "partners.SearchSynonym",
        "accounts.User",
        "auth.Group",
    ]
    models = [apps.get_model(label) for label in labels]
    # Service and organisation history, when it exists (issue 9: every change kept with its author).
    for label in ("partners.HistoricalService", "partners.HistoricalOrganisation"):
        with contextlib.suppress(LookupError):
            models.append(apps.get_model(label))
    for model in list(models):
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through._meta.auto_created and through not in models:
                models.append(through)
    return models


def db_snapshot():
    """{table: rows} of every snapshot table, ordered by primary key (last_login excepted).

    Plain SQL: it runs after every refused POST of the matrix, so it has to be cheap.
    """
    snapshot = {}
    with connection.cursor() as cursor:
        for model in snapshot_models():
            quote = connection.ops.quote_name
            columns = ", ".join(
                quote(f.column) for f in model._meta.concrete_fields if f.attname != "last_login"
            )
            table = model._meta.db_table
            cursor.execute(f"SELECT {columns} FROM {quote(table)} ORDER BY {quote(model._meta.pk.column)}")
            snapshot[table] = cursor.fetchall()
    return snapshot


def snapshot_diff(before, after):
    """Names of the tables whose rows differ."""
    return sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))


@pytest.fixture(scope="module", name="world")
def world_fixture(django_db_setup, django_db_blocker):
    """The world, built once per test module inside a transaction rolled back at its end.

    Each test runs in its own savepoint inside it (pytest-django's per-test transaction), so a test
    sees the world exactly as built, whatever the previous tests wrote.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=[FAST_HASHER]),
        transaction.atomic(),
    ):
        built = build_world()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module", name="clients")
def clients_fixture(world, django_db_blocker):
    """A test client per role, logged in once per module (anonymous: not logged in)."""
    clients = {"anonymous": Client()}
    with django_db_blocker.unblock():
        for role in ROLES[1:]:
            clients[role] = Client()
            clients[role].force_login(world.users[role])
    return clients
