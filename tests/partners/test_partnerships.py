"""The partnership read model is the one home of "official partners": every screen agrees with it."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.models import Domain
from partners.partnerships import Partnerships
from referrals.enums import Classification
from referrals.services import referral_classify
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A worker's service in two conventions; partners for food; a housing partner that closed down."""
    commune = CommuneFactory(insee_code="35238", name="Rennes", latitude=48.11, longitude=-1.68)
    food = DomainFactory(label="Aide alimentaire", parent=DomainFactory(label="Alimentation"))
    housing = DomainFactory(label="Hébergement d'urgence")
    worker = UserFactory(worker=True)
    older = ConventionFactory(title="Convention B", valid_from=datetime.date(2020, 1, 1))
    newer = ConventionFactory(title="Convention A", valid_from=datetime.date(2024, 1, 1))
    newer.scope_domains.set([food])
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food], commune=commune)
    closed = ServiceFactory(name="Hébergement fermé", domains=[housing], commune=commune, is_active=False)
    for convention in (older, newer):
        MembershipFactory(convention=convention, service=worker.service)
        MembershipFactory(convention=convention, service=partner)
    MembershipFactory(convention=older, service=closed)
    outside_housing = ServiceFactory(name="Hébergement hors convention", domains=[housing], commune=commune)
    return {
        "worker": worker,
        "partner": partner,
        "closed": closed,
        "outside_housing": outside_housing,
        "older": older,
        "newer": newer,
        "food": food,
        "housing": housing,
        "commune": commune,
    }


def test_partnerships_load_in_one_query_and_the_rest_on_demand(world):
    with CaptureQueriesContext(connection) as load:
        partnerships = Partnerships.of(world["worker"].service)
        assert partnerships.partner_ids == {world["partner"].pk}
        assert partnerships.conventions_with(world["partner"].pk) == (world["older"], world["newer"])
        assert [c.network.name for c in partnerships.conventions]  # networks come with the conventions
    assert len(load) == 1

    with CaptureQueriesContext(connection) as classify:
        partnerships.convention_for(world["partner"].pk, {world["food"].pk})
        partnerships.cover({world["food"].pk})
        partnerships.convention_for(world["partner"].pk, {world["housing"].pk})
        partnerships.cover({world["housing"].pk})
    assert len(classify) == 2  # scopes once, partners' needs once


def test_a_service_without_a_convention_or_without_a_service_has_no_partner(world):
    assert Partnerships.of(world["outside_housing"]).partner_ids == frozenset()
    assert Partnerships.of(None).partner_ids == frozenset()


def test_an_inactive_service_is_nobodys_partner(world):
    partnerships = Partnerships.of(world["worker"].service)
    assert not partnerships.is_partner(world["closed"].pk)
    assert partnerships.cover({world["housing"].pk}) == set()
    # Still a member: the convention counts it, it just cannot be referred to.
    assert partnerships.member_count(world["older"]) == 3


def test_a_referral_for_a_need_only_a_closed_partner_covered_is_a_gap_not_a_deviation(world):
    """Regression: a deactivated partner made an outside referral off_convention (a reason demanded)."""
    result = referral_classify(
        sender_service_id=world["worker"].service_id,
        target_service_id=world["outside_housing"].pk,
        need_ids={world["housing"].pk},
    )
    assert result.classification == Classification.NO_PARTNER


def test_the_convention_recorded_is_the_oldest_whose_scope_meets_the_need(world):
    partnerships = Partnerships.of(world["worker"].service)
    # The newer convention's scope is the food thématique: it meets that need and its catégorie's.
    assert partnerships.convention_for(world["partner"].pk, {world["food"].pk}) == world["newer"]
    assert partnerships.convention_for(world["partner"].pk, {world["food"].parent_id}) == world["newer"]
    # No scope meets housing: the oldest shared convention.
    assert partnerships.convention_for(world["partner"].pk, {world["housing"].pk}) == world["older"]
    assert partnerships.convention_for(world["outside_housing"].pk, {world["housing"].pk}) is None


def test_a_thematique_meets_its_categorys_need_and_only_that(world):
    food, category = world["food"], world["food"].parent
    meeting = Domain.objects.meeting({category.pk})
    assert meeting == {category.pk: frozenset({category.pk}), food.pk: frozenset({category.pk})}
    assert Domain.objects.meeting({food.pk}) == {food.pk: frozenset({food.pk})}
    assert Domain.objects.meeting(set()) == {}
    # Partners meet the catégorie need through their thématique.
    assert Partnerships.of(world["worker"].service).cover({category.pk}) == {category.pk}


def routing_rows(context):
    """Every service row of the proposals page: the best proposal, the notes, the alternatives."""
    best = context["best"]["rows"] if context["best"] else []
    return [*best, *context["notes"], *(row for group in context["alternatives"] for row in group["rows"])]


def test_every_screen_shows_the_partners_of_the_read_model(world, client_for, monkeypatch):
    """Search badges and filter, service page, home and routing all read Partnerships: change what it
    says and every screen follows (before, four of them computed the rule themselves)."""
    client = client_for(world["worker"])
    partner, outside = world["partner"], world["outside_housing"]
    case = CaseFactory(
        service=world["worker"].service, needs=[world["food"], world["housing"]], commune=world["commune"]
    )

    def screens():
        search = client.get(reverse("partners:search"), {"lieu": "Rennes", "partenaires": "on"})
        return {
            "search_partners_only": {s.pk for s in search.context["services"]},
            "home": {s.pk for s in client.get(reverse("home")).context["partners"]},
            "service_page": bool(
                client.get(reverse("partners:service_detail", args=[outside.pk])).context[
                    "shared_conventions"
                ]
            ),
            "routing": {
                row["service"].pk
                for row in routing_rows(client.get(reverse("referrals:case_routing", args=[case.pk])).context)
                if row["conventions"]
            },
        }

    assert screens() == {
        "search_partners_only": {partner.pk},
        "home": {partner.pk},
        "service_page": False,
        "routing": {partner.pk},
    }

    # Make the outside housing service a partner in the read model only: every screen must follow.
    original = Partnerships.__init__

    def with_outside_partner(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.service_id == world["worker"].service_id:
            self._conventions_of[outside.pk] = (world["older"],)
            self._names[outside.pk] = (outside.name, outside.organisation.name)  # as its membership brings

    monkeypatch.setattr(Partnerships, "__init__", with_outside_partner)
    assert screens() == {
        "search_partners_only": {partner.pk, outside.pk},
        "home": {partner.pk, outside.pk},
        "service_page": True,
        "routing": {partner.pk, outside.pk},
    }
