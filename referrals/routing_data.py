"""Builds routing candidates from the database in a constant number of queries.

The routing algorithm itself (referrals.routing) is pure; this module is its only ORM neighbour.
"""

from dataclasses import dataclass

from django.db.models import Q

from partners.models import Domain, Service
from partners.search import bounding_box, distance_expression

from .routing import Candidate, outside_advantages, propose, uncovered_needs
from .services import needs_covered_by

ALL_PUBLICS_CODE = "tous-publics"


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
    parents = dict(Domain.objects.values_list("pk", "parent_id"))
    covering = {pk for pk, parent in parents.items() if pk in needs or parent in needs}

    through = Service.domains.through.objects.filter(domain_id__in=covering)
    services = (
        Service.objects.active().exclude(pk=case.service_id).filter(pk__in=through.values("service_id"))
    )
    public_ids = [p.pk for p in case.publics.all()]
    if public_ids:
        # A service for one of these publics, for everyone, or that does not restrict its public.
        publics = Service.publics.through.objects
        matching = publics.filter(Q(public_id__in=public_ids) | Q(public__code=ALL_PUBLICS_CODE))
        services = services.filter(
            Q(pk__in=matching.values("service_id")) | ~Q(pk__in=publics.values("service_id"))
        )
    commune = case.commune
    rows = services.filter(bounding_box(commune.latitude, commune.longitude, radius_km))
    rows = rows.annotate(distance_km=distance_expression(commune.latitude, commune.longitude)).filter(
        distance_km__lte=radius_km
    )
    rows = list(rows.values_list("pk", "capacity_status", "verified_on", "distance_km"))

    domains_by_service = {}
    for service_id, domain_id in through.filter(service_id__in=[row[0] for row in rows]).values_list(
        "service_id", "domain_id"
    ):
        domains_by_service.setdefault(service_id, set()).add(domain_id)

    candidates = []
    for pk, capacity, verified_on, distance in rows:
        covered = needs_covered_by(domains_by_service.get(pk, set()), set(needs), parents)
        if covered:
            candidates.append(
                Candidate(
                    id=pk,
                    needs=frozenset(covered),
                    official=pk in official_ids,
                    distance_km=round(distance, 1),
                    capacity=capacity,
                    verified_on=verified_on,
                )
            )
    need_set = frozenset(needs)
    proposals = propose(need_set, candidates, limit=limit)
    advantages = outside_advantages(need_set, candidates)
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
        candidate_count=len(candidates),
    )
