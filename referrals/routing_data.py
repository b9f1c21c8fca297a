"""Builds routing candidates from the database in a constant number of queries.

The routing algorithm itself (referrals.routing) is pure; this module is its only ORM neighbour.
"""

import heapq
from dataclasses import dataclass

from django.db.models import Q

from partners.models import Domain, Service
from partners.search import bounding_box, distance_expression

from .routing import Candidate, outside_advantages, propose, shortlist, uncovered_needs

ALL_PUBLICS_CODE = "tous-publics"
SHORTLIST_PER_GROUP = 5


@dataclass
class RoutingResult:
    proposals: list
    advantages: list
    uncovered: frozenset
    services: dict  # id -> Service (display data)
    needs: dict  # id -> Domain
    candidate_count: int


def routing_for_case(case, *, radius_km, official_ids, limit=5) -> RoutingResult:
    needs = {d.pk: d for d in case.needs.all()}
    need_of = Domain.objects.meeting(needs)
    covering = set(need_of)

    # One row per (service, thématique covering a need), with what routing needs of the service: one
    # query, whatever the number of services (thousands around a big city).
    commune = case.commune
    rows = (
        Service.domains.through.objects.filter(domain_id__in=covering, service__is_active=True)
        .exclude(service_id=case.service_id)
        .filter(bounding_box(commune.latitude, commune.longitude, radius_km, prefix="service__"))
        .annotate(distance_km=distance_expression(commune.latitude, commune.longitude, prefix="service__"))
        .filter(distance_km__lte=radius_km)
    )
    public_ids = [p.pk for p in case.publics.all()]
    if public_ids:
        # A service for one of these publics, for everyone, or that does not restrict its public.
        publics = Service.publics.through.objects
        matching = publics.filter(Q(public_id__in=public_ids) | Q(public__code=ALL_PUBLICS_CODE))
        rows = rows.filter(
            Q(service_id__in=matching.values("service_id")) | ~Q(service_id__in=publics.values("service_id"))
        )
    needs_by_service, services_by_id = {}, {}
    for service_id, domain_id, capacity, verified_on, distance in rows.values_list(
        "service_id", "domain_id", "service__capacity_status", "service__verified_on", "distance_km"
    ):
        needs_by_service[service_id] = needs_by_service.get(service_id, frozenset()) | need_of[domain_id]
        services_by_id[service_id] = (capacity, verified_on, distance)

    # Only the best few of each group of services covering the same needs, official or not, with the
    # same capacity, can appear in proposals or notes (see routing.shortlist). Around Paris that is a
    # few hundred of 12 000: grouping the rows first spares building the others (~25 ms).
    # Within a group, this order is candidate_key's: distance (rounded as below), freshness, id.
    per_group = max(limit, SHORTLIST_PER_GROUP)
    groups = {}
    for pk, (capacity, verified_on, distance) in services_by_id.items():
        rank = (round(distance, 1), -(verified_on.toordinal() if verified_on else 0), pk)
        groups.setdefault((needs_by_service[pk], pk in official_ids, capacity), []).append(
            (rank, verified_on)
        )
    candidates = [
        Candidate(
            id=rank[2],
            needs=covered,
            official=official,
            distance_km=rank[0],
            capacity=capacity,
            verified_on=verified_on,
        )
        for (covered, official, capacity), members in groups.items()
        for rank, verified_on in heapq.nsmallest(per_group, members, key=lambda member: member[0])
    ]
    need_set = frozenset(needs)
    best = shortlist(need_set, candidates, per_group=per_group)
    proposals = propose(need_set, best, limit=limit)
    advantages = outside_advantages(need_set, best)
    shown_ids = {c.id for p in proposals for c in p.services} | {
        c.id for a in advantages for c in (a.outside, a.official) if c is not None
    }
    display = Service.objects.filter(pk__in=shown_ids).select_related("organisation", "commune").in_bulk()
    return RoutingResult(
        proposals=proposals,
        advantages=advantages,
        uncovered=uncovered_needs(need_set, candidates),
        services=display,
        needs=needs,
        candidate_count=len(services_by_id),
    )
