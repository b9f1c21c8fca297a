import datetime
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partners.demo import DEMO_PASSWORD, MENTAL_HEALTH_NETWORK, PRECARITY_NETWORK, load_demo
from partners.enums import CapacityStatus, ConventionStatus, MembershipRole
from partners.models import (
    Convention,
    ConventionMembership,
    Domain,
    Network,
    Organisation,
    Service,
)
from partners.partnerships import Partnerships
from partners.referentials import load_referentials
from reseau.accounts.models import User
from tests.factories import CommuneFactory
from tests.partners.domain_ids import domain_ids_out_of_step

pytestmark = pytest.mark.django_db

# Real-ish centres of a few communes of Ille-et-Vilaine: (INSEE, name, latitude, longitude, postcodes, population)
COMMUNES = [
    ("35238", "Rennes", 48.1119, -1.6809, ["35000", "35200", "35700"], 225_000),
    ("35051", "Cesson-Sévigné", 48.1213, -1.6030, ["35510"], 18_000),
    ("35047", "Bruz", 48.0247, -1.7458, ["35170"], 18_500),
    ("35360", "Vitré", 48.1238, -1.2094, ["35500"], 19_000),
    ("35188", "Montfort-sur-Meu", 48.1378, -1.9553, ["35160"], 6_800),
    ("35136", "Janzé", 47.9599, -1.4991, ["35150"], 8_300),
    ("35012", "Bain-de-Bretagne", 47.8434, -1.6830, ["35470"], 7_600),
    ("35288", "Saint-Malo", 48.6493, -2.0257, ["35400"], 47_000),
    ("35093", "Dinard", 48.6326, -2.0617, ["35800"], 10_000),
    ("35049", "Cancale", 48.6766, -1.8516, ["35260"], 5_300),
]

ACCOUNTS = [
    "admin@reseau.test",
    "coordination@reseau.test",
    "coordination.sante-mentale@reseau.test",
    "travailleur@reseau.test",
    "collegue@reseau.test",
    "hors-reseau@reseau.test",
    "accueil@reseau.test",
]


def create_communes(rows=COMMUNES):
    for insee, name, latitude, longitude, postcodes, population in rows:
        CommuneFactory(
            insee_code=insee,
            name=name,
            latitude=latitude,
            longitude=longitude,
            postcodes=postcodes,
            population=population,
        )


@pytest.fixture
def prerequisites():
    load_referentials()
    create_communes()


@pytest.fixture
def demo(prerequisites):
    call_command("load_demo", stdout=StringIO())


def snapshot():
    """Everything the demo writes, as comparable values."""
    return {
        "organisations": sorted(Organisation.objects.values_list("name", flat=True)),
        "services": sorted(
            Service.objects.values_list(
                "organisation__name", "name", "commune_id", "address", "verified_on", "capacity_status"
            )
        ),
        "service_domains": Service.domains.through.objects.count(),
        "service_languages": Service.languages.through.objects.count(),
        "networks": sorted(Network.objects.values_list("name", flat=True)),
        "conventions": sorted(Convention.objects.values_list("title", "status", "valid_from", "valid_until")),
        "memberships": sorted(
            ConventionMembership.objects.values_list(
                "convention__title", "service_id", "joined_on", "left_on"
            )
        ),
        "users": sorted(User.objects.values_list("email", "service_id", "is_staff", "is_superuser")),
        "coordinators": sorted(Network.coordinators.through.objects.values_list("network_id", "user_id")),
    }


def test_demo_builds_a_realistic_directory(demo):
    services = Service.objects.all()
    assert 290 <= services.count() <= 320
    assert 100 <= Organisation.objects.count() <= 140
    used = Domain.objects.filter(parent__isnull=False, services__isnull=False).distinct()
    assert used.count() >= 25
    assert not Domain.objects.filter(parent__isnull=True, services__isnull=False).exists()
    # Every service has 2 to 4 thématiques, publics, a place and contacts on test domains.
    for service in services.prefetch_related("domains", "publics", "access_modes", "languages"):
        assert 2 <= len(service.domains.all()) <= 4
        assert service.publics.all()
        assert service.access_modes.all()
        assert "fr" in {language.code for language in service.languages.all()}
        assert service.commune_id and service.latitude and service.longitude
        assert service.phone == "115" or re.fullmatch(r"02 (99|23)( \d\d){3}", service.phone)
        assert service.email.endswith(".test")
        assert service.referral_details
    # Positions stay close to the commune centre.
    for service in services.select_related("commune"):
        assert abs(service.latitude - service.commune.latitude) < 0.02
    statuses = {status: services.filter(capacity_status=status).count() for status in CapacityStatus.values}
    assert (
        statuses[CapacityStatus.OPEN]
        > statuses[CapacityStatus.WAITING_LIST]
        > statuses[CapacityStatus.FULL]
        > 0
    )
    stale = [service for service in services if service.is_stale()]
    assert 0.10 <= len(stale) / services.count() <= 0.20
    # Rennes, its surroundings and Saint-Malo all have services.
    assert {"35238", "35288", "35360"} <= set(services.values_list("commune_id", flat=True))
    assert domain_ids_out_of_step() == {}  # routing's copy of the thématiques (PostgreSQL)


def test_demo_networks_and_conventions(demo):
    today = timezone.localdate()
    assert Network.objects.count() == 3

    active = Convention.objects.filter(network__name=PRECARITY_NETWORK).active_on(today).get()
    current = ConventionMembership.objects.current_on(today).filter(convention=active)
    assert current.count() >= 15
    assert current.filter(role=MembershipRole.PILOT).count() == 1
    assert active.scope_domains.exists()
    left = active.memberships.filter(left_on__lte=today)
    assert left.count() == 1

    ended = Convention.objects.get(status=ConventionStatus.ENDED)
    assert ended.valid_until < today
    assert ended.memberships.exists()

    mental = Convention.objects.filter(network__name=MENTAL_HEALTH_NETWORK).active_on(today).get()
    assert ConventionMembership.objects.current_on(today).filter(convention=mental).count() >= 8

    draft = Convention.objects.get(status=ConventionStatus.DRAFT)
    assert not draft.is_active_on(today)
    assert Convention.objects.active_on(today).count() == 2


def test_every_demo_account_can_log_in(demo):
    for email in ACCOUNTS:
        user = User.objects.get(email=email)
        client = Client()
        response = client.post(reverse("login"), {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert client.session["_auth_user_id"] == str(user.pk)


def test_demo_accounts_have_their_roles(demo):
    admin = User.objects.get(email="admin@reseau.test")
    assert admin.is_superuser and admin.is_staff
    coordinator = User.objects.get(email="coordination@reseau.test")
    assert coordinator.is_staff and not coordinator.is_superuser
    assert list(coordinator.coordinated_networks.values_list("name", flat=True)) == [PRECARITY_NETWORK]
    mental = User.objects.get(email="coordination.sante-mentale@reseau.test")
    assert list(mental.coordinated_networks.values_list("name", flat=True)) == [MENTAL_HEALTH_NETWORK]

    worker = User.objects.get(email="travailleur@reseau.test")
    colleague = User.objects.get(email="collegue@reseau.test")
    assert worker.service.organisation.name == "CCAS de Rennes"
    assert colleague.service == worker.service
    assert not worker.is_staff
    receiving = User.objects.get(email="accueil@reseau.test")
    assert Partnerships.of(worker.service).is_partner(receiving.service_id)


def test_worker_has_official_partners_and_outside_worker_has_none(demo):
    worker = User.objects.get(email="travailleur@reseau.test")
    outside = User.objects.get(email="hors-reseau@reseau.test")

    assert len(Partnerships.of(worker.service).partner_ids) >= 15
    assert not Partnerships.of(outside.service).partner_ids
    assert not outside.service.memberships.exists()


def test_running_twice_leaves_the_same_data(prerequisites):
    first = load_demo()
    before = snapshot()
    User.objects.filter(email="travailleur@reseau.test").update(service=None, is_staff=True)

    second = load_demo()

    assert (first.created, second.created) == (True, False)
    assert snapshot() == before
    assert second.counts == first.counts
    assert User.objects.get(email="travailleur@reseau.test").check_password(DEMO_PASSWORD)


def test_same_seed_gives_the_same_demo(prerequisites):
    with pytest.raises(RuntimeError), transaction.atomic():
        load_demo(seed=7)
        first = snapshot()
        raise RuntimeError  # roll the first demo back
    assert not Service.objects.exists()

    load_demo(seed=7)

    assert snapshot()["services"] == first["services"]


def test_missing_communes_raise_a_command_error():
    load_referentials()

    with pytest.raises(CommandError, match="load_communes"):
        call_command("load_demo", stdout=StringIO())

    create_communes([row for row in COMMUNES if row[0] != "35288"])
    with pytest.raises(CommandError, match=r"Saint-Malo \(35288\)"):
        call_command("load_demo", stdout=StringIO())
    assert not Organisation.objects.exists()


def test_too_few_rural_communes_raise_a_command_error():
    load_referentials()
    create_communes([row for row in COMMUNES if row[0] in ("35238", "35288", "35360")])

    with pytest.raises(CommandError, match="load_communes"):
        load_demo()


def test_missing_referentials_raise_a_command_error():
    create_communes()

    with pytest.raises(CommandError, match="load_referentials"):
        call_command("load_demo", stdout=StringIO())
    assert not Organisation.objects.exists()


def test_command_prints_the_logins(prerequisites):
    out = StringIO()
    call_command("load_demo", stdout=out)
    output = out.getvalue()

    assert "Données de démonstration créées" in output
    for email in ACCOUNTS:
        assert email in output
    assert f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}" in output

    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "déjà présentes" in out.getvalue()


def test_demo_dates_follow_the_given_day(prerequisites):
    today = datetime.date(2027, 3, 10)

    load_demo(today=today)

    assert Convention.objects.active_on(today).count() == 2
    assert not Service.objects.filter(verified_on__gt=today).exists()
    stale = Service.objects.filter(verified_on__lte=datetime.date(2026, 3, 10)).count()
    assert 0.10 <= stale / Service.objects.count() <= 0.20


def test_demo_finds_its_chrs_services_by_their_acronym(demo, synonyms):
    # The demo's CHRS are named "Centre d'hébergement et de réinsertion sociale": the seeded synonym
    # table (loaded by load_referentials with make demo) leads the acronym to them.
    from partners.search import SearchParams, search_services

    found = list(search_services(SearchParams(text="CHRS")).queryset)
    spelled_out = Service.objects.filter(name__icontains="réinsertion sociale", is_active=True)
    assert spelled_out.count() >= 5
    assert set(spelled_out) <= set(found)
