"""Builds routing candidates from the database in a constant number of queries.

The routing algorithm itself (referrals.routing) is pure; this module is its only ORM neighbour.
"""

import heapq
from dataclasses import dataclass

from django.db.models import Prefetch, Q

from partners.models import Domain, Public, Service
from partners.search import bounding_box, distance_expression

from .routing import Candidate, alternatives, outside_advantages, propose, shortlist, uncovered_needs

ALL_PUBLICS_CODE = "tous-publics"
SHORTLIST_PER_GROUP = 5
ALTERNATIVES_PER_NEED = SHORTLIST_PER_GROUP - 1  # exact on the shortlist (see routing.alternatives)


@dataclass
class RoutingResult:
    proposals: list
    advantages: list
    uncovered: frozenset
    services: dict  # id -> Service (display data, publics prefetched)
    needs: dict  # id -> Domain
    candidate_count: int
    alternatives: dict  # need id -> the best other candidates covering it (routing.alternatives)


def routing_for_case(case, *, radius_km, official_ids, limit=5, need_ids=None, referred_ids=frozenset()):
    """Proposals, notes and alternatives per need for ``case`` (only ``need_ids`` of its needs, if given).

    Services in ``referred_ids`` (already referred for this case) never take part in proposals: they
    are listed among the alternatives, where the page says what became of their referral.
    """
    needs = {d.pk: d for d in case.needs.all() if need_ids is None or d.pk in need_ids}
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
    # Referred services are left out of proposals only: keep enough of each group for both uses.
    kept_per_group = max(limit, SHORTLIST_PER_GROUP) + len(referred_ids)
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
        for rank, verified_on in heapq.nsmallest(kept_per_group, members, key=lambda member: member[0])
    ]
    need_set = frozenset(needs)
    per_group = max(limit, SHORTLIST_PER_GROUP)
    best = shortlist(need_set, candidates, per_group=per_group)
    untried = shortlist(need_set, [c for c in candidates if c.id not in referred_ids], per_group=per_group)
    proposals = propose(need_set, untried, limit=limit)
    advantages = outside_advantages(need_set, best)
    in_first = {c.id for c in proposals[0].services} if proposals else set()
    others = alternatives(need_set, best, exclude=in_first, per_need=ALTERNATIVES_PER_NEED)
    shown_ids = (
        {c.id for p in proposals for c in p.services}
        | {c.id for a in advantages for c in (a.outside, a.official) if c is not None}
        | {c.id for listed in others.values() for c in listed}
    )
    display = (
        Service.objects.filter(pk__in=shown_ids)
        .select_related("organisation", "commune")
        .prefetch_related(Prefetch("publics", queryset=Public.objects.order_by("label")))
        .in_bulk()
    )
    return RoutingResult(
        proposals=proposals,
        advantages=advantages,
        uncovered=uncovered_needs(need_set, candidates),
        services=display,
        needs=needs,
        candidate_count=len(services_by_id),
        alternatives=others,
    )
