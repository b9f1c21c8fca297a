"""Builds routing candidates from the database in a constant number of queries.

The routing algorithm itself (referrals.routing) is pure; this module is its only ORM neighbour.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from partners.models import Domain, Service, needs_met_by
from partners.search import bounding_box, distance_expression

from .models import Case
from .routing import (
    CAPACITY_RANK,
    Candidate,
    alternatives,
    outside_advantages,
    propose,
    shortlist,
    uncovered_needs,
)

ALL_PUBLICS_CODE = "tous-publics"
SHORTLIST_PER_GROUP = 5
ALTERNATIVES_PER_NEED = SHORTLIST_PER_GROUP - 1  # exact on the shortlist (see routing.alternatives)
# What the proposals page shows of a service.
DISPLAY_FIELDS = ("name", "capacity_status", "verified_on", "organisation__name", "commune__name")


@dataclass
class RoutingResult:
    proposals: list
    advantages: list
    uncovered: frozenset
    services: dict  # id -> Service (display data only: DISPLAY_FIELDS)
    needs: dict  # id -> Domain
    candidate_count: int
    alternatives: dict  # need id -> the best other candidates covering it (routing.alternatives)
    publics: dict  # id of a service shown -> its publics as (code, label), by label (none: not restricted)


def routing_for_case(case, *, radius_km, official_ids, limit=5, need_ids=None, referred_ids=frozenset()):
    """Proposals, notes and alternatives per need for ``case`` (only ``need_ids`` of its needs, if given).

    Services in ``referred_ids`` (already referred for this case) never take part in proposals: they
    are listed among the alternatives, where the page says what became of their referral.

    Three queries: the needs, the shortlisted candidates, the services shown.
    """
    # The case's needs and, for a catégorie, its thématiques (a thématique meets its catégorie's need,
    # see needs_met_by), and whether the case is for some publics in particular: one query.
    chosen = Case.needs.through.objects.filter(case_id=case.pk).values("domain_id")
    domains = list(
        Domain.objects.filter(Q(cases=case) | Q(parent__cases=case))  # through the case's needs (JOINs)
        .distinct()
        .annotate(
            is_need=Exists(chosen.filter(domain_id=OuterRef("pk"))),
            for_publics=Exists(Case.publics.through.objects.filter(case_id=case.pk)),
        )
        .order_by("pk")
    )
    for_publics = any(domain.for_publics for domain in domains)
    needs = {d.pk: d for d in domains if d.is_need and (need_ids is None or d.pk in need_ids)}
    need_of = {}
    for domain in domains:
        met = frozenset(need for need in needs_met_by(domain.pk, domain.parent_id) if need in needs)
        if met:
            need_of[domain.pk] = met
    order = sorted(needs)

    # Only the best few of each group of services covering the same needs, official or not, with the
    # same capacity, can appear in proposals or notes (see routing.shortlist): around Paris that is a
    # few hundred of 12 000, ranked and cut by the database (see _candidate_rows) rather than built in
    # Python. Referred services are left out of proposals only: keep enough of each group for both uses.
    kept_per_group = max(limit, SHORTLIST_PER_GROUP) + len(referred_ids)
    rows = _candidate_rows(case, radius_km, need_of, order, official_ids, kept_per_group, for_publics)
    candidates, candidate_count = [], 0
    for service_id, mask, capacity, verified_on, distance, total in rows:
        candidate_count = total
        candidates.append(
            Candidate(
                id=service_id,
                needs=frozenset(need for index, need in enumerate(order) if mask & (1 << index)),
                official=service_id in official_ids,
                distance_km=distance,
                capacity=capacity,
                verified_on=verified_on,
            )
        )
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
    # The services shown, with who each is for (one row per public, labels in order): one query.
    display, publics = {}, {}
    shown = (
        Service.objects.filter(pk__in=shown_ids)
        .select_related("organisation", "commune")
        .only(*DISPLAY_FIELDS)
        .annotate(public_code=F("publics__code"), public_label=F("publics__label"))
        .order_by("pk", "publics__label", "publics__pk")
    )
    for service in shown:
        display.setdefault(service.pk, service)
        if service.public_code is not None:
            publics.setdefault(service.pk, []).append((service.public_code, service.public_label))
    return RoutingResult(
        proposals=proposals,
        advantages=advantages,
        uncovered=uncovered_needs(need_set, candidates),
        services=display,
        needs=needs,
        candidate_count=candidate_count,
        alternatives=others,
        publics={pk: tuple(found) for pk, found in publics.items()},
    )


def _candidate_rows(case, radius_km, need_of, order, official_ids, per_group, for_publics):
    """The best ``per_group`` services of each group of services within ``radius_km`` of the case's
    commune meeting the same needs, official or not, with the same capacity: rows of (service id,
    needs mask, capacity, verified on, distance, count of the services meeting a need in the radius).

    The needs mask has bit i for the need ``order[i]``. Within a group, services are ranked in
    ``routing.candidate_key``'s order: distance rounded to 0.1 km (the distance given), then fresher,
    then smaller id. One query, whatever the number of services (thousands around a big city):
    the database groups the (service, thématique) rows by service and ranks them.
    """
    if not need_of:
        return []
    commune = case.commune
    matching = (
        Service.domains.through.objects.filter(domain_id__in=need_of, service__is_active=True)
        .exclude(service_id=case.service_id)
        .filter(bounding_box(commune.latitude, commune.longitude, radius_km, prefix="service__"))
        .annotate(distance_km=distance_expression(commune.latitude, commune.longitude, prefix="service__"))
        .filter(distance_km__lte=radius_km)
    )
    if for_publics:
        # A case for some publics: a service for one of them, for everyone, or that does not restrict
        # its public; left out, a service with publics, none of them these or everyone (written as
        # one NOT EXISTS, which the database runs as an anti-join, rather than an OR of subqueries).
        case_publics = Case.publics.through.objects.filter(case_id=case.pk).values("public_id")
        publics = Service.publics.through.objects
        for_them = publics.filter(Q(public_id__in=case_publics) | Q(public__code=ALL_PUBLICS_CODE))
        others_only = publics.filter(service_id=OuterRef("service_id")).exclude(
            Exists(for_them.filter(service_id=OuterRef("service_id")))
        )
        matching = matching.exclude(Exists(others_only))
    rows = matching.annotate(
        capacity=F("service__capacity_status"), verified=F("service__verified_on")
    ).values_list("service_id", "domain_id", "capacity", "verified", "distance_km")
    inner, params = rows.query.sql_with_params()

    # Grouped and ranked around the query above, in SQL both databases run: built with the ORM, the
    # window over aggregates took 20 times longer to build and compile (~5 ms against ~70, measured on
    # a loaded machine) than the query above.
    # The mask: bit i when one of the service's thématiques meets need ``order[i]``.
    masks, outer_params = [], ()  # the parameters of the outer SELECT come before the inner query's
    for index, need in enumerate(order):
        meeting = [domain for domain, met in need_of.items() if need in met]
        masks.append(
            f"MAX(CASE WHEN domain_id IN ({', '.join(['%s'] * len(meeting))}) THEN {1 << index} ELSE 0 END)"
        )
        outer_params = (*outer_params, *meeting)
    if official_ids:
        official = f"CASE WHEN service_id IN ({', '.join(['%s'] * len(official_ids))}) THEN 1 ELSE 0 END"
        outer_params = (*outer_params, *sorted(official_ids))
    else:
        official = "0"
    # Capacities partition as numbers: sorting 12 000 rows on the text under a locale's collation
    # took as long as grouping them.
    capacity_rank = f"CASE capacity {' '.join(['WHEN %s THEN %s'] * len(CAPACITY_RANK))} ELSE -1 END"
    outer_params = (*outer_params, *(value for item in CAPACITY_RANK.items() for value in item))
    # Distances in whole tenths of a kilometre (half up).
    sql = f"""
        SELECT service_id, mask, capacity, verified, distance, total FROM (
            SELECT service_id, mask, capacity, verified, distance,
                ROW_NUMBER() OVER (
                    PARTITION BY mask, official, capacity_rank
                    ORDER BY distance, verified DESC NULLS LAST, service_id
                ) AS position,
                COUNT(*) OVER () AS total
            FROM (
                SELECT service_id, capacity, verified, FLOOR(MIN(distance_km) * 10 + 0.5) / 10.0 AS distance,
                    {" + ".join(masks) or "0"} AS mask, {official} AS official, {capacity_rank} AS capacity_rank
                FROM ({inner}) AS service_needs
                GROUP BY service_id, capacity, verified
            ) AS services
        ) AS ranked
        WHERE position <= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (*outer_params, *params, per_group))
        found = cursor.fetchall()
    # SQLite gives dates as text.
    return [
        (
            pk,
            mask,
            capacity,
            date.fromisoformat(verified) if isinstance(verified, str) else verified,
            distance,
            total,
        )
        for pk, mask, capacity, verified, distance, total in found
    ]
