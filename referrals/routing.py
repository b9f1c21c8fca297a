"""Route a case: propose the smallest sets of complementary services covering a person's needs.

Pure module: no Django import, no database. The caller turns services into ``Candidate`` values
(``needs`` holds the case needs the service can take, e.g. domain ids) and gets back ``Proposal``
values, best first, plus honest ``Advantage`` notes where an outside service beats the partners.

Covering
    A proposal is a set of services that together cover every *coverable* need (a need at least one
    candidate covers). Needs nobody covers are reported in ``Proposal.uncovered`` (the same for every
    proposal, see also ``uncovered_needs``) and are otherwise ignored. Every proposal is
    *irredundant*: each of its services covers at least one need no other service of the proposal
    covers, so no proposal contains a useless service and no proposal is a strict superset of
    another one (nor of any cover at all).

Order of proposals
    Smaller proposals first: every minimum-size cover is ranked before any larger one. When fewer
    than ``limit`` covers exist at the minimum size, the list is completed with the best covers of
    the next sizes (size + 1, then + 2, ...), still irredundant, until ``limit`` is reached. Within
    one size, proposals are ranked by, in this order:

    1. number of "full" services (fewer first): a service that cannot take the person never comes
       before one that can, official or not;
    2. number of official partners (more first);
    3. distance: first the number of services with an unknown distance (fewer first; an unknown
       distance is worse than any known one), then the sum of the known distances, compared in whole
       metres (smaller first);
    4. number of "waiting_list" services (fewer first);
    5. freshness: the verification dates sorted oldest first, compared element by element (the
       proposal whose oldest verification is the most recent wins, then the next oldest...); a
       missing date is older than any date;
    6. the sorted service ids (smaller first), so the order is total and does not depend on the
       order of the candidates.

    Hence a full service never comes first when an open or waiting-list candidate covers the needs
    it is assigned: swapping them gives a cover of the same size or smaller with one full service
    fewer. ``candidate_key`` ranks single services with the same criteria (full last, then official
    first, closer, open before waiting list, fresher, smaller id); ``Proposal.rank_key`` exposes the
    key above.

Alternatives per need
    ``alternatives`` lists, for each need, the best candidates covering it by ``candidate_key``
    (services that can take the person first, official partners first among them), leaving out
    the services of the proposal shown above them.

Assignment of needs (display)
    In a proposal, each coverable need is assigned to exactly one service: the only one covering it,
    or, when several services of the proposal cover it, the best of them by ``candidate_key``
    (not full first, then official, closer, more available, fresher, smaller id). Since proposals are
    irredundant, every service gets at least one need. ``Assignment.also_covers`` lists the other
    case needs that service could take but that are assigned to another service. Services (and
    assignments) are listed in the order of their first assigned need (needs sorted), then by id.

Search
    Exact, not greedy. Candidates are grouped by signature (the bitmask of the case needs they
    cover; candidates covering none are dropped) and only the best ``limit`` of each group are kept:
    replacing a service by a better one of the same signature always gives a strictly better
    proposal, so a dropped candidate can never appear in the top ``limit``. Irredundant covers are
    then enumerated over signatures by increasing size (bitmasks), and their concrete expansions
    are explored best first with a heap, stopping after the ``limit`` best.
"""

from __future__ import annotations

import datetime
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CAPACITY_RANK",
    "Advantage",
    "Assignment",
    "Candidate",
    "Proposal",
    "alternatives",
    "candidate_key",
    "format_km",
    "outside_advantages",
    "propose",
    "shortlist",
    "uncovered_needs",
]

CAPACITY_RANK = {"open": 0, "waiting_list": 1, "full": 2}

COVERS_MORE = "covers_more"
CLOSER = "closer"
OPEN_WHILE_PARTNER_FULL = "open_while_partner_full"
ADVANTAGE_KINDS = (COVERS_MORE, CLOSER, OPEN_WHILE_PARTNER_FULL)


@dataclass(frozen=True)
class Candidate:
    """A service that may take part of the case."""

    id: int
    needs: frozenset  # the needs of the case (hashable ids) this service covers; others are ignored
    official: bool  # official partner of the worker's service
    distance_km: float | None
    capacity: str  # "open" | "waiting_list" | "full"
    verified_on: datetime.date | None

    def __post_init__(self):
        if self.capacity not in CAPACITY_RANK:
            raise ValueError(f"Unknown capacity {self.capacity!r} for candidate {self.id!r}")
        if not isinstance(self.needs, frozenset):
            object.__setattr__(self, "needs", frozenset(self.needs))
        if self.distance_km is not None and math.isnan(self.distance_km):
            object.__setattr__(self, "distance_km", None)


@dataclass(frozen=True)
class Assignment:
    """One service of a proposal and the needs it is assigned to cover in that proposal."""

    candidate: Candidate
    covers: frozenset  # assigned needs: the assignments of a proposal partition its covered needs
    also_covers: frozenset = frozenset()  # other case needs it could take, assigned to another service


@dataclass(frozen=True)
class Proposal:
    """A set of services that together cover every coverable need of the case."""

    services: tuple[Candidate, ...]
    assignments: tuple[Assignment, ...]
    uncovered: frozenset  # needs no candidate covers (the same for every proposal)

    @property
    def size(self) -> int:
        return len(self.services)

    @property
    def official_count(self) -> int:
        return sum(1 for service in self.services if service.official)

    @property
    def outside_count(self) -> int:
        return self.size - self.official_count

    @property
    def covered(self) -> frozenset:
        return frozenset().union(*(assignment.covers for assignment in self.assignments))

    @property
    def total_distance_km(self) -> float:
        """Sum of the known distances (see ``unknown_distance_count`` for the others)."""
        return math.fsum(s.distance_km for s in self.services if s.distance_km is not None)

    @property
    def unknown_distance_count(self) -> int:
        return sum(1 for service in self.services if service.distance_km is None)

    @property
    def full_count(self) -> int:
        return sum(1 for service in self.services if service.capacity == "full")

    @property
    def waiting_list_count(self) -> int:
        return sum(1 for service in self.services if service.capacity == "waiting_list")

    @property
    def oldest_verified_on(self) -> datetime.date | None:
        """The oldest verification date, None when a service was never verified."""
        dates = [service.verified_on for service in self.services]
        return None if not dates or None in dates else min(dates)

    @property
    def rank_key(self) -> tuple:
        """The key proposals are sorted by (smaller is better), see the module docstring."""
        return _proposal_key([_candidate_parts(service) for service in self.services])

    def covers_of(self, candidate: Candidate) -> frozenset:
        """The needs assigned to ``candidate`` in this proposal (empty if it is not part of it)."""
        for assignment in self.assignments:
            if assignment.candidate == candidate:
                return assignment.covers
        return frozenset()


@dataclass(frozen=True)
class Advantage:
    """An honest note: an outside service beats the best official option on a need."""

    need: object  # the first need (in sorted order) the comparison holds for
    outside: Candidate
    official: Candidate | None  # the official candidate it is compared with
    kind: str  # "covers_more" | "closer" | "open_while_partner_full"
    needs: frozenset = frozenset()  # every need the same comparison holds for (contains ``need``)
    outside_covers: frozenset = frozenset()  # the case needs the outside service covers
    official_covers: frozenset = frozenset()  # the case needs the official one covers

    def __post_init__(self):
        if self.kind not in ADVANTAGE_KINDS:
            raise ValueError(f"Unknown advantage kind {self.kind!r}")
        if not self.needs:
            object.__setattr__(self, "needs", frozenset([self.need]))

    def sentence(self) -> str:
        if self.kind == COVERS_MORE:
            outside = len(self.outside_covers or self.outside.needs)
            if self.official is None:
                return f"Hors convention mais couvre {outside} besoins à lui seul"
            official = len(self.official_covers or self.official.needs)
            return f"Hors convention mais couvre {outside} besoins à lui seul (contre {official})"
        if self.kind == CLOSER:
            if self.outside.distance_km is None or self.official is None or self.official.distance_km is None:
                return "Hors convention mais plus proche"
            return (
                "Hors convention mais plus proche : "
                f"{format_km(self.outside.distance_km)} contre {format_km(self.official.distance_km)}"
            )
        return "Hors convention mais a des places alors que le partenaire est complet"

    def __str__(self) -> str:
        return self.sentence()


def format_km(distance_km: float) -> str:
    """French display of a distance: one decimal under 10 km ("2,5 km", "3 km"), whole km above."""
    if distance_km < 10:
        text = f"{distance_km:.1f}".replace(".", ",").removesuffix(",0")
    else:
        text = f"{distance_km:.0f}"
    return f"{text} km"


# --- Ranking keys -------------------------------------------------------------------------------


def _candidate_parts(candidate: Candidate) -> tuple:
    """(full, official, unknown distance, distance in metres, capacity rank, verification ordinal, id)."""
    distance = candidate.distance_km
    return (
        1 if candidate.capacity == "full" else 0,
        1 if candidate.official else 0,
        1 if distance is None else 0,
        0 if distance is None else round(distance * 1000),
        CAPACITY_RANK[candidate.capacity],
        0 if candidate.verified_on is None else candidate.verified_on.toordinal(),
        candidate.id,
    )


def candidate_key(candidate: Candidate) -> tuple:
    """Rank of a single service (smaller is better), with the same criteria as proposals."""
    return _candidate_sort_key((_candidate_parts(candidate), candidate))


def _proposal_key(parts: list[tuple]) -> tuple:
    full = official = unknown = metres = waiting = 0
    for part in parts:
        full += part[0]
        official += part[1]
        unknown += part[2]
        metres += part[3]
        if part[4] == 1:
            waiting += 1
    freshness = tuple(-verified for verified in sorted(part[5] for part in parts))
    ids = tuple(sorted(part[6] for part in parts))
    return (len(parts), full, -official, unknown, metres, waiting, freshness, ids)


# --- Helpers ------------------------------------------------------------------------------------


def _ordered_needs(needs: Iterable) -> tuple:
    unique = set(needs)
    try:
        return tuple(sorted(unique))
    except TypeError:  # needs of mixed types
        return tuple(sorted(unique, key=lambda need: (type(need).__name__, repr(need))))


def _unique_candidates(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates sorted by id, exact duplicates dropped; two different ones may not share an id."""
    by_id: dict = {}
    for candidate in candidates:
        previous = by_id.setdefault(candidate.id, candidate)
        if previous is not candidate and previous != candidate:
            raise ValueError(f"Two different candidates share the id {candidate.id!r}")
    return [by_id[ident] for ident in sorted(by_id)]


def uncovered_needs(needs: Iterable, candidates: Iterable[Candidate]) -> frozenset:
    """The needs of the case no candidate covers."""
    missing = set(needs)
    for candidate in candidates:
        if not missing:
            break
        missing -= candidate.needs
    return frozenset(missing)


# --- Proposals ----------------------------------------------------------------------------------


def propose(needs: Iterable, candidates: Iterable[Candidate], limit: int = 5) -> list[Proposal]:
    """Up to ``limit`` irredundant covers of the coverable needs, smallest first, then best first.

    Returns an empty list when no need can be covered (or ``limit`` < 1): see ``uncovered_needs``.
    Exact duplicates among the candidates are ignored; two different candidates with the same id
    raise ``ValueError``.
    """
    order = _ordered_needs(needs)
    if limit < 1 or not order:
        return []
    bits = {need: 1 << index for index, need in enumerate(order)}
    case = frozenset(order)

    # Signature groups, best candidates first, truncated to ``limit``.
    groups: dict[int, list[tuple[tuple, Candidate]]] = {}
    seen: dict = {}
    for candidate in candidates:
        previous = seen.setdefault(candidate.id, candidate)
        if previous is not candidate:
            if previous != candidate:
                raise ValueError(f"Two different candidates share the id {candidate.id!r}")
            continue
        mask = 0
        for need in candidate.needs & case:
            mask |= bits[need]
        if mask:
            groups.setdefault(mask, []).append((_candidate_parts(candidate), candidate))
    if not groups:
        return []
    for members in groups.values():
        members.sort(key=_candidate_sort_key)
        del members[limit:]

    full = 0
    for mask in groups:
        full |= mask
    uncovered = frozenset(need for need in order if not bits[need] & full)
    signatures = sorted(groups)
    by_bit = {
        bit: [mask for mask in signatures if mask & (1 << bit)]
        for bit in range(len(order))
        if full & (1 << bit)
    }
    widest = max(mask.bit_count() for mask in signatures)

    ranked: list[list[Candidate]] = []
    for size in range(1, full.bit_count() + 1):
        covers = _irredundant_covers(size, full, by_bit, widest)
        ranked.extend(
            _best_expansions([[groups[mask] for mask in cover] for cover in covers], limit - len(ranked))
        )
        if len(ranked) >= limit:
            break

    return [_build_proposal(services, order, full, bits, uncovered) for services in ranked]


def _candidate_sort_key(item: tuple[tuple, Candidate]) -> tuple:
    full, official, unknown, metres, capacity, verified, ident = item[0]
    return (full, -official, unknown, metres, capacity, -verified, ident)


def _irredundant_covers(size: int, full: int, by_bit: dict[int, list[int]], widest: int) -> list[tuple]:
    """Every set of ``size`` signatures covering ``full`` where each signature has a private need.

    Branches on the lowest uncovered need ``b``. Each irredundant cover is reached along exactly one
    path: when a signature is chosen for ``b``, the signatures listed before it for ``b`` are
    forbidden below, so a cover is only built by always taking its first signature containing
    ``b``. A branch stops as soon as a chosen signature loses its last private need (coverage only
    grows, so it can never get one back).
    """
    found: list[tuple] = []
    position = {mask: index for index, mask in enumerate(sorted({m for ms in by_bit.values() for m in ms}))}

    def extend(chosen: tuple, private: tuple, covered: int, forbidden: int) -> None:
        slots = size - len(chosen)
        missing = full & ~covered
        if missing.bit_count() > slots * widest:
            return
        lowest = (missing & -missing).bit_length() - 1
        skipped = forbidden
        for mask in by_bit[lowest]:
            flag = 1 << position[mask]
            completes = mask & missing == missing
            # Not forbidden; completes the cover exactly on the last slot (earlier would be too
            # small); leaves every chosen signature a private need.
            if not forbidden & flag and completes == (slots == 1) and all(own & ~mask for own in private):
                if slots == 1:
                    found.append(tuple(sorted((*chosen, mask))))
                else:
                    extend(
                        (*chosen, mask),
                        tuple(own & ~mask for own in private) + (mask & missing,),
                        covered | mask,
                        skipped,
                    )
            skipped |= flag

    extend((), (), 0, 0)
    return found


def _best_expansions(covers: list[list[list[tuple[tuple, Candidate]]]], wanted: int) -> list[list[Candidate]]:
    """The ``wanted`` best concrete proposals of one size, best first (exact, best-first search).

    Each cover is a list of signature groups (candidates best first); a concrete proposal picks one
    rank per group. Moving one pick to a worse candidate of its group always gives a strictly worse
    proposal, so the rank tuples form a tree (the parent of a tuple lowers its last non-zero rank)
    in which every child is worse than its parent: popping the heap of open tuples yields the
    proposals in order, starting from the best one of every cover.
    """

    def entry(cover_index: int, ranks: tuple[int, ...]) -> tuple:
        chosen = [group[rank][0] for group, rank in zip(covers[cover_index], ranks, strict=True)]
        return (_proposal_key(chosen), cover_index, ranks)

    heap = [entry(index, (0,) * len(cover)) for index, cover in enumerate(covers)]
    heapq.heapify(heap)
    found: list[list[Candidate]] = []
    while heap and len(found) < wanted:
        _, cover_index, ranks = heapq.heappop(heap)
        groups = covers[cover_index]
        found.append([group[rank][1] for group, rank in zip(groups, ranks, strict=True)])
        last = max((position for position, rank in enumerate(ranks) if rank), default=0)
        for position in range(last, len(ranks)):
            if ranks[position] + 1 < len(groups[position]):
                child = (*ranks[:position], ranks[position] + 1, *ranks[position + 1 :])
                heapq.heappush(heap, entry(cover_index, child))
    return found


def _build_proposal(
    services: list[Candidate], order: tuple, full: int, bits: dict, uncovered: frozenset
) -> Proposal:
    keys = {service.id: candidate_key(service) for service in services}
    assigned: dict = {service.id: [] for service in services}
    first_need: dict = {}
    for index, need in enumerate(order):
        if not bits[need] & full:
            continue
        holder = min((s for s in services if need in s.needs), key=lambda s: keys[s.id])
        assigned[holder.id].append(need)
        first_need.setdefault(holder.id, index)
    coverable = frozenset(need for need in order if bits[need] & full)
    ordered = sorted(services, key=lambda s: (first_need[s.id], s.id))
    assignments = tuple(
        Assignment(
            candidate=service,
            covers=frozenset(assigned[service.id]),
            also_covers=(service.needs & coverable) - frozenset(assigned[service.id]),
        )
        for service in ordered
    )
    return Proposal(services=tuple(ordered), assignments=assignments, uncovered=uncovered)


# --- Shortlist ----------------------------------------------------------------------------------


def shortlist(needs: Iterable, candidates: Iterable[Candidate], per_group: int = 5) -> list[Candidate]:
    """The best ``per_group`` candidates (by ``candidate_key``) of each group of candidates that
    cover the same needs of the case, are official or not, and have the same capacity.

    Around a big city thousands of services may cover some need; routing only ever needs the best
    of each group. With ``per_group >= limit``, ``propose`` gives the same proposals on the
    shortlist as on every candidate (it keeps the best ``limit`` of each signature, which are among
    these), and ``outside_advantages`` reports, for every need and kind, an advantage over the same
    official counterpart (the best officials of each group are kept). Candidates covering no need
    of the case are dropped. Sorted by id.
    """
    case = frozenset(_ordered_needs(needs))
    groups: dict[tuple, list[Candidate]] = {}
    for candidate in _unique_candidates(candidates):
        covered = candidate.needs & case
        if covered:
            groups.setdefault((covered, candidate.official, candidate.capacity), []).append(candidate)
    kept = []
    for members in groups.values():
        kept.extend(heapq.nsmallest(per_group, members, key=candidate_key))
    return sorted(kept, key=lambda candidate: candidate.id)


# --- Alternatives per need -----------------------------------------------------------------------


def alternatives(
    needs: Iterable, candidates: Iterable[Candidate], *, exclude: Iterable = (), per_need: int = 4
) -> dict:
    """Need -> the best ``per_need`` candidates covering it (by ``candidate_key``), leaving out the
    ids in ``exclude`` (the services of the proposal shown above); a need nobody else covers maps to
    an empty tuple.

    On ``shortlist(needs, candidates, per_group)`` this gives the same lists as on every candidate
    when ``per_need < per_group`` and ``exclude`` holds one irredundant proposal (at most one of its
    services shares a shortlist group, whose other members all cover the same needs).
    """
    order = _ordered_needs(needs)
    excluded = frozenset(exclude)
    pool = [candidate for candidate in _unique_candidates(candidates) if candidate.id not in excluded]
    return {
        need: tuple(heapq.nsmallest(per_need, (c for c in pool if need in c.needs), key=candidate_key))
        for need in order
    }


# --- Advantages of outside services -------------------------------------------------------------


def outside_advantages(
    needs: Iterable,
    candidates: Iterable[Candidate],
    *,
    closer_margin_km: float = 5.0,
    closer_ratio: float = 0.5,
) -> list[Advantage]:
    """Where an outside service beats the best official option on a need of the case.

    For each need some official candidate covers (no official candidate: that is a gap, not a
    deviation, nothing is reported), every outside candidate covering it is compared with:

    - ``covers_more``: the official candidate covering the most needs of the case (then the best by
      ``candidate_key``); reported when the outside one covers strictly more of the case's needs;
    - ``closer``: the closest official candidate with a known distance; reported when the outside
      one is at least ``closer_margin_km`` closer AND less than ``closer_ratio`` times its distance;
    - ``open_while_partner_full``: the best official candidate by ``candidate_key``; reported when
      the outside one is open while every official candidate for that need is full.

    The same outside service, kind and official counterpart found for several needs give one
    advantage (``need`` is the first of them in sorted order, ``needs`` all of them). Sorted by that
    first need, then kind (in the order above), then strength (more needs covered, shorter distance),
    then ``candidate_key`` of the outside service.
    """
    order = _ordered_needs(needs)
    case = frozenset(order)
    pool = _unique_candidates(candidates)
    covers = {candidate.id: candidate.needs & case for candidate in pool}
    keys = {candidate.id: candidate_key(candidate) for candidate in pool}
    merged: dict[tuple, dict] = {}

    def note(index: int, need, outside: Candidate, official: Candidate, kind: str, strength) -> None:
        entry = merged.setdefault(
            (outside.id, kind, official.id),
            {"index": index, "need": need, "outside": outside, "official": official, "kind": kind,
             "needs": set(), "strength": strength},
        )  # fmt: skip
        entry["needs"].add(need)

    for index, need in enumerate(order):
        holders = [candidate for candidate in pool if need in covers[candidate.id]]
        officials = [candidate for candidate in holders if candidate.official]
        outsides = [candidate for candidate in holders if not candidate.official]
        if not officials or not outsides:
            continue

        widest = min(officials, key=lambda c: (-len(covers[c.id]), keys[c.id]))
        for outside in outsides:
            if len(covers[outside.id]) > len(covers[widest.id]):
                note(index, need, outside, widest, COVERS_MORE, -len(covers[outside.id]))

        located = [candidate for candidate in officials if candidate.distance_km is not None]
        if located:
            nearest = min(located, key=lambda c: (c.distance_km, keys[c.id]))
            for outside in outsides:
                distance = outside.distance_km
                if (
                    distance is not None
                    and nearest.distance_km - distance >= closer_margin_km
                    and distance < closer_ratio * nearest.distance_km
                ):
                    note(index, need, outside, nearest, CLOSER, distance)

        if all(candidate.capacity == "full" for candidate in officials):
            best = min(officials, key=lambda c: keys[c.id])
            for outside in outsides:
                if outside.capacity == "open":
                    note(index, need, outside, best, OPEN_WHILE_PARTNER_FULL, 0)

    entries = sorted(
        merged.values(),
        key=lambda e: (e["index"], ADVANTAGE_KINDS.index(e["kind"]), e["strength"], keys[e["outside"].id]),
    )
    return [
        Advantage(
            need=entry["need"],
            outside=entry["outside"],
            official=entry["official"],
            kind=entry["kind"],
            needs=frozenset(entry["needs"]),
            outside_covers=covers[entry["outside"].id],
            official_covers=covers[entry["official"].id],
        )
        for entry in entries
    ]
