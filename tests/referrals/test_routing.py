"""Routing a case: smallest complementary covers, their ranking, and outside services' advantages.

Pure functions, no database.
"""

import datetime
import random
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.routing import (
    Advantage,
    Candidate,
    alternatives,
    candidate_key,
    format_km,
    outside_advantages,
    propose,
    shortlist,
    uncovered_needs,
)

DAY = datetime.date(2025, 3, 1)


def cand(ident, needs, *, official=False, distance=10.0, capacity="open", verified=DAY):
    return Candidate(
        id=ident,
        needs=frozenset(needs),
        official=official,
        distance_km=distance,
        capacity=capacity,
        verified_on=verified,
    )


def ids(proposal):
    return frozenset(service.id for service in proposal.services)


def id_sets(proposals):
    return [ids(proposal) for proposal in proposals]


# --- Minimality -----------------------------------------------------------------------------------


def test_exact_cover_beats_greedy():
    # Greedy takes the widest service first (4 needs), then still needs two more: 3 services.
    wide = cand(1, {1, 2, 4, 5}, official=True, distance=1.0)
    left = cand(2, {1, 2, 3})
    right = cand(3, {4, 5, 6})
    proposals = propose({1, 2, 3, 4, 5, 6}, [wide, left, right])
    assert id_sets(proposals) == [{2, 3}]
    assert proposals[0].size == 2
    assert proposals[0].uncovered == frozenset()


def test_single_service_covering_everything_comes_first():
    proposals = propose({1, 2}, [cand(1, {1}), cand(2, {2}), cand(3, {1, 2}, distance=80.0)])
    assert id_sets(proposals) == [{3}, {1, 2}]


def test_next_sizes_complete_the_list_after_every_minimum_cover():
    candidates = [cand(1, {1, 2, 3}), cand(2, {1}), cand(3, {2}), cand(4, {3}), cand(5, {2, 3})]
    proposals = propose({1, 2, 3}, candidates, limit=5)
    assert [p.size for p in proposals] == [1, 2, 3]
    assert id_sets(proposals) == [{1}, {2, 5}, {2, 3, 4}]


def test_no_useless_service():
    candidates = [cand(1, {1, 2}), cand(2, {2, 3}), cand(3, {1}), cand(4, {3}), cand(5, {2})]
    proposals = propose({1, 2, 3}, candidates, limit=20)
    sets = id_sets(proposals)
    assert len(sets) == len(set(sets))
    for one in sets:
        assert not any(other < one for other in sets)
    # {1, 2} covers everything; {1, 2, 5} or {1, 4, 2} would carry a useless service.
    assert {1, 2} in sets and {1, 4} in sets and {2, 3} in sets and {3, 5, 4} in sets
    assert {1, 2, 4} not in sets


# --- Ranking within one size ----------------------------------------------------------------------


def test_more_official_partners_first():
    first = cand(1, {1}, official=True)
    outside_near = cand(2, {2}, distance=1.0)
    official_far = cand(3, {2}, official=True, distance=60.0)
    proposals = propose({1, 2}, [first, outside_near, official_far])
    assert id_sets(proposals) == [{1, 3}, {1, 2}]
    assert [p.official_count for p in proposals] == [2, 1]


def test_shorter_total_distance_first():
    candidates = [cand(1, {1}, distance=10.0), cand(2, {2}, distance=12.0), cand(3, {2}, distance=3.0)]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{1, 3}, {1, 2}]
    assert proposals[0].total_distance_km == 13.0


def test_unknown_distance_is_worse_than_any_known_distance():
    candidates = [cand(1, {1}), cand(2, {2}, distance=None), cand(3, {2}, distance=900.0)]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{1, 3}, {1, 2}]
    assert proposals[1].unknown_distance_count == 1


def test_more_available_first():
    candidates = [
        cand(1, {1}),
        cand(2, {2}, capacity="full"),
        cand(3, {2}, capacity="waiting_list"),
        cand(4, {2}, capacity="open"),
    ]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{1, 4}, {1, 3}, {1, 2}]


def test_capacity_counts_full_services_before_waiting_lists():
    # {waiting, waiting} beats {open, full}: fewer full services first, then fewer waiting lists.
    candidates = [
        cand(1, {1}, capacity="open"),
        cand(2, {2}, capacity="full"),
        cand(3, {1}, capacity="waiting_list"),
        cand(4, {2}, capacity="waiting_list"),
    ]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{1, 4}, {3, 4}, {1, 2}, {3, 2}]


def test_more_recently_verified_first():
    candidates = [
        cand(1, {1}),
        cand(2, {2}, verified=None),
        cand(3, {2}, verified=datetime.date(2023, 1, 1)),
        cand(4, {2}, verified=datetime.date(2025, 1, 1)),
    ]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{1, 4}, {1, 3}, {1, 2}]
    assert proposals[0].oldest_verified_on == datetime.date(2025, 1, 1)
    assert proposals[2].oldest_verified_on is None


def test_criteria_apply_in_order():
    # Full beats official, official beats distance, distance beats waiting list, waiting list beats
    # freshness.
    candidates = [
        cand(1, {1}, official=True),
        cand(2, {2}, official=True, distance=1.0, capacity="full"),
        cand(3, {2}, distance=60.0),
        cand(4, {2}, official=True, distance=40.0, capacity="waiting_list"),
        cand(5, {2}, official=True, distance=50.0, capacity="open", verified=datetime.date(2020, 1, 1)),
        cand(6, {2}, official=True, distance=50.0, capacity="waiting_list"),
    ]
    proposals = propose({1, 2}, candidates, limit=6)
    assert id_sets(proposals) == [{1, 4}, {1, 5}, {1, 6}, {1, 3}, {1, 2}]


def test_a_full_partner_never_comes_before_an_open_or_waiting_outside_service():
    partner_full = cand(1, {1, 2}, official=True, distance=1.0, capacity="full")
    outside_waiting = cand(2, {1, 2}, distance=40.0, capacity="waiting_list")
    assert id_sets(propose({1, 2}, [partner_full, outside_waiting])) == [{2}, {1}]
    # A full service covering both needs still beats two services: size comes first.
    pair = [cand(3, {1}), cand(4, {2})]
    assert id_sets(propose({1, 2}, [partner_full, *pair])) == [{1}, {3, 4}]


def test_ids_break_the_remaining_ties():
    candidates = [cand(9, {1}), cand(4, {2}), cand(7, {2}), cand(2, {1})]
    proposals = propose({1, 2}, candidates)
    assert id_sets(proposals) == [{2, 4}, {2, 7}, {4, 9}, {7, 9}]


# --- Assignments ----------------------------------------------------------------------------------


def test_each_need_is_assigned_once_preferring_the_official_service():
    outside = cand(1, {1, 2}, distance=1.0)
    official = cand(2, {2, 3}, official=True, distance=30.0)
    (proposal,) = propose({1, 2, 3}, [outside, official])
    assert proposal.services == (outside, official)
    assert [(a.candidate.id, a.covers, a.also_covers) for a in proposal.assignments] == [
        (1, frozenset({1}), frozenset({2})),
        (2, frozenset({2, 3}), frozenset()),
    ]
    assert proposal.covers_of(official) == frozenset({2, 3})
    assert proposal.covered == frozenset({1, 2, 3})


def test_services_are_listed_by_first_assigned_need():
    candidates = [cand(1, {"santé"}), cand(2, {"emploi"}), cand(3, {"logement"})]
    (proposal,) = propose(["santé", "logement", "emploi"], candidates)
    assert [s.id for s in proposal.services] == [2, 3, 1]
    assert [a.candidate.id for a in proposal.assignments] == [2, 3, 1]


def test_needs_outside_the_case_are_ignored():
    (proposal,) = propose({1}, [cand(1, {1, 99}), cand(2, {99})])
    assert ids(proposal) == {1}
    assert proposal.assignments[0].covers == frozenset({1})
    assert proposal.assignments[0].also_covers == frozenset()


# --- Uncovered needs, empty inputs, limit, determinism ----------------------------------------------


def test_uncovered_needs_are_reported_and_the_rest_is_still_covered():
    candidates = [cand(1, {1}), cand(2, {2}), cand(3, {1, 2})]
    proposals = propose({1, 2, 3}, candidates)
    assert id_sets(proposals) == [{3}, {1, 2}]
    assert all(p.uncovered == frozenset({3}) for p in proposals)
    assert all(p.covered == frozenset({1, 2}) for p in proposals)
    assert uncovered_needs({1, 2, 3}, candidates) == frozenset({3})


def test_no_candidates():
    assert propose({1, 2}, []) == []
    assert uncovered_needs({1, 2}, []) == frozenset({1, 2})
    assert outside_advantages({1, 2}, []) == []


def test_no_needs():
    assert propose(set(), [cand(1, {1})]) == []
    assert uncovered_needs(set(), [cand(1, {1})]) == frozenset()


def test_every_alternative_for_a_single_need_up_to_the_limit():
    candidates = [cand(i, {1}, distance=float(10 - i)) for i in range(1, 8)]
    assert id_sets(propose({1}, candidates, limit=3)) == [{7}, {6}, {5}]


def test_limit_is_respected():
    candidates = [cand(i, {1 + i % 2}) for i in range(20)]
    assert len(propose({1, 2}, candidates, limit=3)) == 3
    assert len(propose({1, 2}, candidates)) == 5
    assert len(propose({1, 2}, candidates, limit=100)) == 100
    assert propose({1, 2}, candidates, limit=0) == []


def test_same_output_whatever_the_candidate_order():
    rng = random.Random(7)
    candidates = [
        cand(
            i,
            rng.sample(range(6), rng.randint(1, 3)),
            official=rng.random() < 0.3,
            distance=rng.choice([None, 2.0, 5.0, 5.0, 20.0]),
            capacity=rng.choice(["open", "waiting_list", "full"]),
            verified=rng.choice([None, DAY, datetime.date(2024, 1, 1)]),
        )
        for i in range(60)
    ]
    expected = propose(range(5), candidates, limit=8)
    assert len(expected) == 8
    for _ in range(5):
        rng.shuffle(candidates)
        assert propose([4, 3, 2, 1, 0], candidates, limit=8) == expected


def test_duplicates_are_merged_and_conflicting_ids_rejected():
    one = cand(1, {1})
    assert id_sets(propose({1}, [one, cand(1, {1})])) == [{1}]
    with pytest.raises(ValueError):
        propose({1}, [one, cand(1, {1}, distance=3.0)])


def test_unknown_capacity_is_rejected():
    with pytest.raises(ValueError):
        cand(1, {1}, capacity="maybe")


# --- Property tests against a brute force ---------------------------------------------------------

CAPACITIES = ["open", "waiting_list", "full"]
DATES = [None, datetime.date(2024, 1, 1), datetime.date(2024, 6, 1), datetime.date(2025, 1, 1)]


@st.composite
def instances(draw):
    needs = draw(st.sets(st.integers(0, 4), min_size=1, max_size=5))
    identifiers = draw(st.lists(st.integers(1, 40), unique=True, max_size=9))
    candidates = [
        Candidate(
            id=ident,
            # Mostly needs of the case (so signatures collide), sometimes another one.
            needs=frozenset(draw(st.sets(st.sampled_from([*sorted(needs), 9]), max_size=3))),
            official=draw(st.booleans()),
            distance_km=draw(st.sampled_from([None, 0.0, 1.5, 3.0, 3.0, 10.0, 25.5])),
            capacity=draw(st.sampled_from(CAPACITIES)),
            verified_on=draw(st.sampled_from(DATES)),
        )
        for ident in identifiers
    ]
    limit = draw(st.integers(1, 6))
    return needs, candidates, limit


def reference_key(services):
    """The documented ranking, written independently of the module."""
    known = [s.distance_km for s in services if s.distance_km is not None]
    return (
        len(services),
        sum(s.capacity == "full" for s in services),
        -sum(s.official for s in services),
        len(services) - len(known),
        sum(known),  # halves and integers only: exact
        sum(s.capacity == "waiting_list" for s in services),
        # Verification dates oldest first (never verified = oldest), the more recent the better.
        tuple(
            -ordinal
            for ordinal in sorted(s.verified_on.toordinal() if s.verified_on else 0 for s in services)
        ),
        tuple(sorted(s.id for s in services)),
    )


def brute_force(needs, candidates):
    """Every irredundant cover of the coverable needs, best first."""
    coverable = frozenset(needs) & frozenset().union(*(c.needs for c in candidates))
    covers = []
    for size in range(1, len(candidates) + 1):
        for combo in combinations(candidates, size):
            if not coverable <= frozenset().union(*(c.needs for c in combo)):
                continue
            irredundant = all(
                (c.needs & coverable) - frozenset().union(*(o.needs for o in combo if o is not c))
                for c in combo
            )
            if irredundant:
                covers.append(combo)
    covers.sort(key=reference_key)
    return coverable, covers


@settings(max_examples=200, deadline=None)
@given(instances())
def test_matches_brute_force(instance):
    needs, candidates, limit = instance
    proposals = propose(needs, candidates, limit=limit)
    coverable, covers = brute_force(needs, candidates)

    if not coverable:
        assert proposals == []
        return
    # Exactly the best ``limit`` irredundant covers, in order.
    assert id_sets(proposals) == [frozenset(c.id for c in combo) for combo in covers[:limit]]
    # The minimum size is found, and the first proposal is the best minimum-size cover.
    minimum = len(covers[0])
    assert proposals[0].size == minimum
    assert reference_key(proposals[0].services) == min(reference_key(c) for c in covers if len(c) == minimum)
    # Minimum-size covers come before any larger one.
    at_minimum = sum(1 for c in covers if len(c) == minimum)
    assert all(p.size == minimum for p in proposals[:at_minimum])
    assert [p.rank_key for p in proposals] == sorted(p.rank_key for p in proposals)


@settings(max_examples=200, deadline=None)
@given(instances())
def test_every_proposal_is_a_clean_cover(instance):
    needs, candidates, limit = instance
    proposals = propose(needs, candidates, limit=limit)
    uncovered = uncovered_needs(needs, candidates)
    coverable = frozenset(needs) - uncovered
    assert len(proposals) <= limit
    sets = id_sets(proposals)
    for proposal in proposals:
        assert proposal.uncovered == uncovered
        assert proposal.covered == coverable
        # Assignments partition the covered needs; each service takes at least one.
        assigned = [a.covers for a in proposal.assignments]
        assert sum(len(covers) for covers in assigned) == len(coverable)
        for assignment in proposal.assignments:
            assert assignment.covers
            assert assignment.covers <= assignment.candidate.needs
            assert not assignment.covers & assignment.also_covers
        assert tuple(a.candidate for a in proposal.assignments) == proposal.services
        assert not any(other < ids(proposal) for other in sets)


@settings(max_examples=100, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_candidate_order_does_not_matter(instance, rng):
    needs, candidates, limit = instance
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    assert propose(needs, shuffled, limit=limit) == propose(needs, candidates, limit=limit)
    assert outside_advantages(needs, shuffled) == outside_advantages(needs, candidates)


def test_candidate_key_orders_single_services():
    services = [
        cand(1, {1}, distance=None),
        cand(2, {1}, official=True, distance=90.0, capacity="full"),
        cand(3, {1}, distance=2.0, capacity="full"),
        cand(4, {1}, distance=2.0, verified=None),
        cand(5, {1}, distance=2.0),
    ]
    assert [s.id for s in sorted(services, key=candidate_key)] == [5, 4, 1, 2, 3]


# --- Advantages of outside services -----------------------------------------------------------------


def test_outside_service_much_closer():
    partner = cand(1, {1}, official=True, distance=28.0)
    outside = cand(2, {1}, distance=3.0)
    (advantage,) = outside_advantages({1}, [partner, outside])
    assert (advantage.need, advantage.outside, advantage.official, advantage.kind) == (
        1,
        outside,
        partner,
        "closer",
    )
    assert advantage.sentence() == "Hors convention mais plus proche : 3 km contre 28 km"


def test_closer_compares_with_the_nearest_partner():
    far = cand(1, {1}, official=True, distance=40.0)
    near = cand(2, {1}, official=True, distance=7.5)
    outside = cand(3, {1}, distance=2.5)
    (advantage,) = outside_advantages({1}, [far, near, outside])
    assert advantage.official == near
    assert advantage.sentence() == "Hors convention mais plus proche : 2,5 km contre 7,5 km"


def test_no_advantage_when_the_margin_is_small():
    partner = cand(1, {1}, official=True, distance=10.0)
    # 4 km closer: not enough.
    assert outside_advantages({1}, [partner, cand(2, {1}, distance=6.0)]) == []
    # 5.5 km closer but more than half the distance.
    partner = cand(1, {1}, official=True, distance=12.0)
    assert outside_advantages({1}, [partner, cand(2, {1}, distance=6.5)]) == []
    # Unless the thresholds say otherwise.
    (advantage,) = outside_advantages(
        {1}, [partner, cand(2, {1}, distance=6.5)], closer_margin_km=5.0, closer_ratio=0.6
    )
    assert advantage.kind == "closer"


def test_outside_service_covering_more_needs():
    partner = cand(1, {1}, official=True, distance=5.0)
    outside = cand(2, {1, 2, 3, 99}, distance=5.0)
    (advantage,) = outside_advantages({1, 2, 3}, [partner, outside])
    assert (advantage.need, advantage.kind, advantage.official) == (1, "covers_more", partner)
    assert advantage.sentence() == "Hors convention mais couvre 3 besoins à lui seul (contre 1)"


def test_no_covers_more_when_a_partner_covers_as_much():
    partners = [cand(1, {1}, official=True), cand(2, {1, 2}, official=True)]
    assert outside_advantages({1, 2}, [*partners, cand(3, {1, 2})]) == []


def test_outside_service_open_while_partners_are_full():
    partners = [cand(1, {1}, official=True, capacity="full"), cand(2, {1}, official=True, capacity="full")]
    outside = cand(3, {1})
    (advantage,) = outside_advantages({1}, [*partners, outside])
    assert advantage.kind == "open_while_partner_full"
    assert advantage.official == partners[0]
    assert advantage.sentence() == "Hors convention mais a des places alors que le partenaire est complet"


def test_no_open_advantage_when_a_partner_is_not_full():
    partners = [
        cand(1, {1}, official=True, capacity="full"),
        cand(2, {1}, official=True, capacity="waiting_list"),
    ]
    assert outside_advantages({1}, [*partners, cand(3, {1})]) == []
    # A waiting list outside is no better than a full partner.
    assert outside_advantages({1}, [partners[0], cand(3, {1}, capacity="waiting_list")]) == []


def test_no_advantage_without_an_official_partner_for_the_need():
    outside = cand(2, {1, 2, 3}, distance=1.0)
    assert outside_advantages({1}, [outside, cand(3, {1}, distance=50.0, capacity="full")]) == []
    # The partner covers another need only: nothing to compare with on need 1.
    assert (
        outside_advantages({1, 2}, [cand(1, {2}, official=True, distance=1.0), cand(3, {1}, distance=50.0)])
        == []
    )


def test_advantages_are_merged_across_needs_and_ordered():
    partner = cand(1, {1, 2}, official=True, distance=30.0, capacity="full")
    outside = cand(2, {1, 2, 3}, distance=2.0)
    other = cand(3, {2}, distance=20.0)
    other_closer = cand(4, {2}, distance=1.0, capacity="full")
    advantages = outside_advantages({1, 2, 3}, [other_closer, other, outside, partner])
    assert [(a.outside.id, a.kind, a.need, a.needs) for a in advantages] == [
        (2, "covers_more", 1, frozenset({1, 2})),
        (2, "closer", 1, frozenset({1, 2})),
        (2, "open_while_partner_full", 1, frozenset({1, 2})),
        (4, "closer", 2, frozenset({2})),
        (3, "open_while_partner_full", 2, frozenset({2})),
    ]
    assert all(isinstance(a, Advantage) and a.official == partner for a in advantages)


def test_format_km():
    assert [format_km(d) for d in (0.0, 0.45, 2.5, 3.0, 9.96, 12.4, 28.0, 130.7)] == [
        "0 km",
        "0,5 km",
        "2,5 km",
        "3 km",
        "10 km",
        "12 km",
        "28 km",
        "131 km",
    ]


# --- Shortlist ------------------------------------------------------------------------------------


def test_shortlist_keeps_the_best_of_each_group_and_drops_useless_candidates():
    near, far, farther = cand(1, {1}, distance=1.0), cand(2, {1}, distance=5.0), cand(3, {1}, distance=9.0)
    partner, full = cand(4, {1}, official=True, distance=30.0), cand(5, {1}, capacity="full", distance=50.0)
    useless = cand(6, {7})
    kept = shortlist({1}, [farther, far, near, partner, full, useless], per_group=2)
    assert [c.id for c in kept] == [1, 2, 4, 5]


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(1, 3))
def test_shortlist_changes_neither_proposals_nor_notes(instance, per_group):
    needs, candidates, limit = instance
    kept = shortlist(needs, candidates, per_group=max(limit, per_group))
    assert propose(needs, kept, limit=limit) == propose(needs, candidates, limit=limit)

    # Fewer notes may be listed, but each is one the full list has, and every (need, kind) that has
    # a note still has one, against the same official counterpart.
    kept = shortlist(needs, candidates, per_group=per_group)
    everything, fewer = outside_advantages(needs, candidates), outside_advantages(needs, kept)
    assert set(fewer) <= set(everything)

    def reported(advantages):
        return {(need, a.kind, a.official.id) for a in advantages for need in a.needs}

    assert reported(fewer) == reported(everything)


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(2, 5))
def test_a_full_service_never_comes_first_when_an_available_one_covers_its_needs(instance, per_group):
    needs, candidates, _ = instance
    for pool in (candidates, shortlist(needs, candidates, per_group=per_group)):
        proposals = propose(needs, pool, limit=1)
        if not proposals:
            continue
        for assignment in proposals[0].assignments:
            if assignment.candidate.capacity != "full":
                continue
            available = [c for c in candidates if c.capacity != "full" and assignment.covers <= c.needs]
            assert not available, (assignment, available)


# --- Alternatives per need ------------------------------------------------------------------------


def test_alternatives_list_available_services_first_then_official_partners_first():
    services = [
        cand(1, {1}, official=True, distance=2.0, capacity="full"),
        cand(2, {1}, distance=3.0),
        cand(3, {1, 2}, official=True, distance=30.0, capacity="waiting_list"),
        cand(4, {1}, distance=1.0, capacity="waiting_list"),
        cand(5, {2}, distance=1.0),
        cand(6, {1}, distance=1.0, capacity="full"),
    ]
    found = alternatives({1, 2, 3}, services, exclude={5}, per_need=4)
    assert {need: [c.id for c in listed] for need, listed in found.items()} == {
        1: [3, 4, 2, 1],
        2: [3],
        3: [],
    }


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(1, 4))
def test_alternatives_on_the_shortlist_are_those_of_every_candidate(instance, per_need):
    needs, candidates, _ = instance
    kept = shortlist(needs, candidates, per_group=per_need + 1)
    best = propose(needs, kept, limit=1)
    shown = {c.id for c in best[0].services} if best else set()
    found = alternatives(needs, kept, exclude=shown, per_need=per_need)
    assert found == alternatives(needs, candidates, exclude=shown, per_need=per_need)
    for need, listed in found.items():
        assert len(listed) <= per_need
        assert all(need in c.needs and c.id not in shown for c in listed)
        assert list(listed) == sorted(listed, key=candidate_key)
