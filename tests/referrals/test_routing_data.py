"""Candidates from the database: the shortlist taken while reading rows changes no proposal."""

import datetime

import pytest

from partners.enums import CapacityStatus
from referrals import routing_data
from referrals.routing_data import routing_for_case
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def proposals(result):
    return [[candidate.id for candidate in proposal.services] for proposal in result.proposals]


def reported(result):
    """Each (need, kind) an outside note is given for, and the official service it is compared with."""
    return {(need, a.kind, a.official.id) for a in result.advantages for need in a.needs}


def test_shortlisted_rows_give_the_proposals_of_every_candidate(monkeypatch):
    rennes = CommuneFactory(latitude=48.1119, longitude=-1.6809)
    food, debts, housing = DomainFactory(), DomainFactory(), DomainFactory()
    mine = ServiceFactory()
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=mine)
    today = datetime.date.today()
    official_ids = set()
    # Eight groups (4 sets of needs, official or not) of 7 or 8 services each, so that keeping two of
    # each really drops some; official partners 11 km away or more, the others within 7 km.
    for index in range(60):
        official = index % 2 == 0
        service = ServiceFactory(
            domains=[[food], [debts], [food, debts], [housing]][(index // 2) % 4],
            latitude=48.1119 + (index % 7) * 0.01 + (0.1 if official else 0),
            longitude=-1.6809,
            capacity_status=CapacityStatus.OPEN,
            verified_on=today - datetime.timedelta(days=30 * (index % 5)),
        )
        if official:
            MembershipFactory(convention=convention, service=service)
            official_ids.add(service.pk)
    case = CaseFactory(service=mine, commune=rennes, needs=[food, debts, housing])

    # Two of each group kept, two proposals asked for.
    monkeypatch.setattr(routing_data, "SHORTLIST_PER_GROUP", 2)
    shortlisted = routing_for_case(case, radius_km=20, official_ids=official_ids, limit=2)
    monkeypatch.setattr(routing_data, "SHORTLIST_PER_GROUP", 10_000)
    everything = routing_for_case(case, radius_km=20, official_ids=official_ids, limit=2)

    assert shortlisted.candidate_count == everything.candidate_count == 60
    assert proposals(shortlisted) == proposals(everything)
    assert len(proposals(shortlisted)) == 2
    assert len(shortlisted.advantages) < len(everything.advantages)
    assert reported(shortlisted) == reported(everything) != set()
    assert set(shortlisted.advantages) <= set(everything.advantages)
    assert shortlisted.uncovered == everything.uncovered


def test_a_case_for_some_publics_leaves_out_services_only_for_others():
    """For "familles": a service for them, for everyone, or with no public said is kept; one only for
    "jeunes" is left out. A case for no public in particular keeps every service."""
    from tests.factories import PublicFactory

    rennes = CommuneFactory(latitude=48.1119, longitude=-1.6809)
    food = DomainFactory()
    families = PublicFactory(code="familles")
    youth = PublicFactory(code="jeunes")
    everyone = PublicFactory(code=routing_data.ALL_PUBLICS_CODE)
    services = {}
    for name, publics in [
        ("unsaid", []),
        ("families", [families]),
        ("everyone", [everyone]),
        ("youth", [youth]),
        ("youth and families", [youth, families]),
    ]:
        services[name] = ServiceFactory(domains=[food], latitude=48.1119, longitude=-1.6809)
        services[name].publics.set(publics)
    case = CaseFactory(commune=rennes, needs=[food])

    def routed():
        result = routing_for_case(case, radius_km=20, official_ids=set(), limit=1)
        listed = {c.id for p in result.proposals for c in p.services} | {
            c.id for listed in result.alternatives.values() for c in listed
        }
        return result.candidate_count, {name for name, service in services.items() if service.pk in listed}

    assert routed() == (5, set(services))
    case.publics.set([families])
    assert routed() == (4, {"unsaid", "families", "everyone", "youth and families"})


def test_a_thematique_meets_its_categorie_need_in_routing():
    """needs_met_by: a service of a thématique helps with its catégorie; with both the catégorie and
    the thématique as needs, one such service covers both."""
    rennes = CommuneFactory(latitude=48.1119, longitude=-1.6809)
    housing = DomainFactory()
    shelter = DomainFactory(parent=housing)
    other = DomainFactory()
    sheltering = ServiceFactory(domains=[shelter], latitude=48.1119, longitude=-1.6809)
    elsewhere = ServiceFactory(domains=[other], latitude=48.1119, longitude=-1.6809)
    case = CaseFactory(commune=rennes, needs=[housing])
    result = routing_for_case(case, radius_km=20, official_ids=set(), limit=1)
    assert proposals(result) == [[sheltering.pk]] and result.candidate_count == 1
    assert elsewhere.pk not in result.services

    case.needs.set([housing, shelter])
    result = routing_for_case(case, radius_km=20, official_ids=set(), limit=1)
    assert proposals(result) == [[sheltering.pk]]
    assert result.proposals[0].services[0].needs == {housing.pk, shelter.pk}
    assert not result.uncovered
