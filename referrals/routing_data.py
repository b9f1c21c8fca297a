"""Builds routing candidates from the database in a constant number of queries.

The routing algorithm itself (referrals.routing) is pure; this module is its only ORM neighbour.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from partners.models import Domain, Service, needs_met_by
from partners.search import bounding_box_limits, distance_expression

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
# _candidate_rows: the capacity of a rank, an unknown capacity's rank (Candidate refuses it), and
# what keeps the database from merging the grouping into the query around it.
CAPACITY_OF_RANK = {rank: capacity for capacity, rank in CAPACITY_RANK.items()}
CAPACITY_UNKNOWN = 3
_FENCE = {"postgresql": "OFFSET 0", "sqlite": "LIMIT -1 OFFSET 0"}
# _candidate_rows' rank within a group, one integer: the distance in tenths of a kilometre above
# RANK_DATE_BITS bits of the days from the verification to 9999-12-31 (fewer when fresher; never
# verified: the most). {} is the date of verification.
RANK_DATE_BITS = 22
_DAYS_TO_END = {
    "postgresql": "DATE '9999-12-31' - {}",
    "sqlite": "CAST(julianday('9999-12-31') - julianday({}) AS INTEGER)",
}


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
    then smaller id. One query, whatever the number of services (12 000 around Paris): the database
    ranks the services of the bounding box meeting a need, each with its needs mask (PostgreSQL: from
    the service's thématique ids, ``domain_ids``; SQLite: from its (service, thématique) rows, grouped).

    Written in SQL both databases run rather than with the ORM, whose building and compiling of the
    query took 3 to 4 ms a page, a fifth of running it around Rennes. Figures below: PostgreSQL at
    150 000 services, Paris 50 km (12 500 candidates), best of many runs on a loaded machine.
    """
    if not need_of:
        return []
    commune = case.commune
    params = []

    def listed(values):
        params.extend(values)
        return ", ".join(["%s"] * len(values))

    meeting = {need: [domain for domain, met in need_of.items() if need in met] for need in order}
    terms = []
    if connection.vendor == "postgresql":
        # The needs mask from the service's own row: bit i when its thématique ids (``domain_ids``,
        # migration 0020, kept in step by partners.search_index) overlap those meeting need order[i].
        for index, need in enumerate(order):
            if meeting[need]:
                params.append(meeting[need])
                terms.append(
                    f"CASE WHEN partners_service.domain_ids && %s::bigint[] THEN {1 << index} ELSE 0 END"
                )
    else:
        # The needs mask from the (service, thématique) rows: bit i when one of the service's thématiques
        # meets need order[i]. The bits of the needs only one thématique of the query meets come from
        # different rows: one SUM adds them up. A need several meet (a catégorie and its thématiques)
        # takes the MAX of its own CASE, so that a service with two of them has its bit once. For five
        # needs, one SUM cost 1.4 ms, five MAX 3.6.
        alone, shared = {}, []
        for index, need in enumerate(order):
            if len(meeting[need]) == 1:
                alone[meeting[need][0]] = alone.get(meeting[need][0], 0) | 1 << index
            elif meeting[need]:
                shared.append((1 << index, meeting[need]))
        if alone:
            whens = " ".join(f"WHEN %s THEN {bits}" for bits in alone.values())
            params.extend(alone)
            terms.append(f"SUM(CASE partners_service_domains.domain_id {whens} ELSE 0 END)")
        for bit, domains in shared:
            terms.append(
                f"MAX(CASE WHEN partners_service_domains.domain_id IN ({listed(domains)}) THEN {bit} ELSE 0 END)"
            )
    mask = " + ".join(terms)
    if official_ids:
        official = f"CASE WHEN partners_service.id IN ({listed(sorted(official_ids))}) THEN 1 ELSE 0 END"
    else:
        official = "0"
    capacity_rank = (
        f"CASE partners_service.capacity_status {' '.join(['WHEN %s THEN %s'] * len(CAPACITY_RANK))} "
        f"ELSE {CAPACITY_UNKNOWN} END"
    )
    params.extend(value for item in CAPACITY_RANK.items() for value in item)
    # The distance of partners.search, once a service rather than once a (service, thématique) row.
    distance, distance_params = _distance_sql(commune.latitude, commune.longitude)
    params.extend(distance_params)

    if connection.vendor == "postgresql":
        # The active services of the box with a thématique meeting a need, from one index alone
        # (service_active_box_routing_pg): no link row read, nothing to group.
        source, grouping = "partners_service", ""
        where = ["partners_service.domain_ids && %s::bigint[]"]
        params.append(list(need_of))
    else:
        source = "partners_service CROSS JOIN partners_service_domains"
        grouping = "GROUP BY partners_service.id"
        where = [
            "partners_service_domains.service_id = partners_service.id",
            f"partners_service_domains.domain_id IN ({listed(list(need_of))})",
        ]
    where.append("partners_service.is_active")
    where.append("partners_service.id <> %s")
    params.append(case.service_id)
    south, north, west, east = bounding_box_limits(commune.latitude, commune.longitude, radius_km)
    where.append(
        "partners_service.latitude BETWEEN %s AND %s AND partners_service.longitude BETWEEN %s AND %s"
    )
    params.extend([south, north, west, east])
    if for_publics:
        # A case for some publics: a service for one of them, for everyone, or that does not restrict
        # its public; left out, a service with publics, none of them these or everyone (one NOT
        # EXISTS, which the database runs as an anti-join, rather than an OR of subqueries).
        where.append(
            """NOT EXISTS (
                SELECT 1 FROM partners_service_publics AS said
                WHERE said.service_id = partners_service.id AND NOT EXISTS (
                    SELECT 1 FROM partners_service_publics AS fitting
                    WHERE fitting.service_id = said.service_id AND (
                        fitting.public_id IN (SELECT public_id FROM referrals_case_publics WHERE case_id = %s)
                        OR fitting.public_id IN (SELECT id FROM partners_public WHERE code = %s)
                    )
                )
            )"""
        )
        params.extend([case.pk, ALL_PUBLICS_CODE])
    params.append(radius_km)

    # Each service once, with its group (see routing.shortlist) as one number, grp: (mask, official,
    # capacity rank). Partitioned on it, the 12 500 services around Paris were ranked in 8 ms; on the
    # three columns it stands for, in 16 (most sort comparisons tie on the group, and each further
    # column is read again from the row). The services are fenced (``_FENCE``) so that the distance is
    # computed once a service, not again for the filter on it. SQLite, grouping link rows: CROSS JOIN,
    # since SQLite, which has no statistics, joins in the order written: the services of the box
    # first, then their thématiques by the (service, thématique) index (Guéret on SQLite: 8 ms instead
    # of 90 reading the services of the five thématiques in all France). PostgreSQL reads no link row
    # (Paris 50 km: the join of 84 000 link rows with the box's 27 000 services and the aggregate by
    # service took ~60 of the query's ~85 ms; from the services' arrays, the box is read in ~15 ms).
    # Distances in whole tenths of a kilometre (half up). Within a group, one integer (``rank_key``,
    # see RANK_DATE_BITS) and the id order the services as (distance, verified DESC NULLS LAST, id)
    # did; the group's size comes with each row in the same window (the total is their sum): one
    # WindowAgg instead of two (Paris 50 km: ranking ~23 -> ~15 ms).
    never = (1 << RANK_DATE_BITS) - 1
    days = _DAYS_TO_END[connection.vendor].format("verified")
    sql = f"""
        SELECT service_id, grp, verified, CAST(rank_key >> {RANK_DATE_BITS} AS DOUBLE PRECISION) / 10, in_group
        FROM (
            SELECT service_id, grp, verified, rank_key,
                ROW_NUMBER() OVER by_rank AS position, COUNT(*) OVER by_rank AS in_group
            FROM (
                SELECT service_id, grp, verified,
                    CAST(FLOOR(distance_km * 10 + 0.5) AS BIGINT) * {1 << RANK_DATE_BITS}
                        + COALESCE({days}, {never}) AS rank_key
                FROM (
                    SELECT partners_service.id AS service_id, partners_service.verified_on AS verified,
                        (({mask}) * 2 + {official}) * 4 + {capacity_rank} AS grp, {distance} AS distance_km
                    FROM {source}
                    WHERE {" AND ".join(where)}
                    {grouping}
                    {_FENCE[connection.vendor]}
                ) AS grouped
                WHERE distance_km <= %s
            ) AS services
            WINDOW by_rank AS (
                PARTITION BY grp ORDER BY rank_key, service_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            )
        ) AS ranked
        WHERE position <= %s
    """
    params.append(per_group)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    total = sum({grp: in_group for _, grp, _, _, in_group in found}.values())
    return [
        (
            pk,
            grp >> 3,
            CAPACITY_OF_RANK.get(grp & 3, ""),
            date.fromisoformat(verified) if isinstance(verified, str) else verified,  # SQLite: text
            distance,
            total,
        )
        for pk, grp, verified, distance, _ in found
    ]


def _distance_sql(latitude, longitude):
    """partners.search.distance_expression from a point, as SQL over partners_service's columns."""
    query = Service.objects.all().query
    compiler = query.get_compiler(connection=connection)
    return compiler.compile(distance_expression(latitude, longitude).resolve_expression(query))
