"""Candidates from the database: the shortlist taken while reading rows changes no proposal."""

import datetime
import random

import pytest

from partners.enums import CapacityStatus
from referrals import routing, routing_data
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


def test_the_rows_read_are_the_shortlist_of_every_candidate(monkeypatch):
    """The database keeps of each group exactly the candidates routing.shortlist keeps of all of them
    (_candidate_rows partitions on one number a group): ties on the distance, unverified services, every
    capacity, official or not, a catégorie need that two thématiques of one service meet."""
    rng = random.Random(14)
    rennes = CommuneFactory(latitude=48.1119, longitude=-1.6809)
    housing = DomainFactory()
    shelter, rent = DomainFactory(parent=housing), DomainFactory(parent=housing)
    food, debts = DomainFactory(), DomainFactory()
    mine = ServiceFactory()
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=mine)
    today = datetime.date.today()
    # A few places only, so that many services share a distance; the last one is in the bounding box
    # but outside the circle.
    places = [(0, 0), (0.01, 0), (0, 0.02), (0.05, 0.05), (0.15, 0.25)]
    official_ids, sheltering_and_renting = set(), set()
    for index in range(90):
        domains = (
            [shelter, rent]
            if index % 5 == 0
            else rng.sample([housing, shelter, rent, food, debts], 1 + index % 2)
        )
        north, east = rng.choice(places)
        service = ServiceFactory(
            domains=domains,
            latitude=48.1119 + north,
            longitude=-1.6809 + east,
            capacity_status=rng.choice(list(CapacityStatus)),
            verified_on=rng.choice([None, today, today - datetime.timedelta(days=40)]),
        )
        if rng.random() < 0.3:
            MembershipFactory(convention=convention, service=service)
            official_ids.add(service.pk)
        if index % 5 == 0 and north < 0.1:
            sheltering_and_renting.add(service.pk)
    case = CaseFactory(service=mine, commune=rennes, needs=[housing, shelter, food, debts])

    def candidates_read(per_group):
        monkeypatch.setattr(routing_data, "SHORTLIST_PER_GROUP", per_group)
        read = []

        def keep(needs, candidates, per_group):
            read.append(list(candidates))
            return routing.shortlist(needs, candidates, per_group=per_group)

        monkeypatch.setattr(routing_data, "shortlist", keep)
        result = routing_for_case(case, radius_km=20, official_ids=official_ids, limit=1)
        return read[0], result.candidate_count

    rows, count = candidates_read(2)
    every, every_count = candidates_read(10_000)
    needs = {housing.pk, shelter.pk, food.pk, debts.pk}
    assert count == every_count == len(every) < 90
    assert 0 < len(rows) < len(every)
    assert sorted(rows, key=lambda candidate: candidate.id) == routing.shortlist(needs, every, per_group=2)
    # Two thématiques of the catégorie need: the need counts once (and the thématique need is met).
    assert sheltering_and_renting
    assert {c.id: c.needs for c in every if c.id in sheltering_and_renting} == dict.fromkeys(
        sheltering_and_renting, {housing.pk, shelter.pk}
    )


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
