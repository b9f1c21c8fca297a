"""Twelve months of generated referral history for the demo, so that every insight chart shows something.

``generate_referral_history(rng=..., today=..., network=...)`` is called once by ``partners.demo.load_demo``
when it creates the directory. From one ``random.Random`` it writes, in bulk (a few dozen queries):
cases of the network's member services, their referrals (in convention, off convention with a reason,
no partner), the answers (accepted, completed, refused with a reason, expired, still pending) with
their events, and the needs routing found no service for. Written without transitions, so the caller
rebuilds insight's counts afterwards (``referrals.insight_counts.counts_rebuild``).
"""

import datetime
import string

from django.db.models import Q
from django.utils import timezone

from partners.models import Commune, ConventionMembership, Domain, Service

from .enums import CaseStatus, Classification, OffConventionReason, ReferralStatus, RefusalReason
from .insight import add_months
from .models import Case, Referral, ReferralEvent, UncoveredNeed

MONTHS = 12
REFERRALS_PER_SENDER_MONTH = (4, 11)
# When a partner covers the need, the share of referrals sent to one (the rest go off convention);
# when none does, the referral goes to an outside service ("no partner").
IN_CONVENTION_SHARE = 0.75
# Most needs are ones the network's members answer; the others show its gaps.
PARTNER_NEED_SHARE = 0.75
OUTSIDE_FAVOURITES = 6
OFF_REASONS = [
    (OffConventionReason.PARTNER_FULL, 5),
    (OffConventionReason.CLOSER, 4),
    (OffConventionReason.BETTER_FIT, 3),
    (OffConventionReason.CONTINUITY, 2),
    (OffConventionReason.PERSON_CHOICE, 2),
    (OffConventionReason.NO_PARTNER_IN_TIME, 1),
]
REFUSALS = [
    (RefusalReason.FULL, 5),
    (RefusalReason.OUT_OF_SCOPE, 2),
    (RefusalReason.OUT_OF_AREA, 1),
    (RefusalReason.INCOMPLETE, 1),
    (RefusalReason.UNREACHABLE, 1),
]
EXPIRY_DAYS = 15


def _weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _memberships_on(memberships, day):
    return {
        m.service_id
        for m in memberships
        if m.convention.valid_from <= day
        and (m.convention.valid_until is None or m.convention.valid_until >= day)
        and m.joined_on <= day
        and (m.left_on is None or m.left_on > day)
    }


def generate_referral_history(*, rng, network, today=None, senders=None):
    """Write the history (see the module docstring); returns the number of referrals written."""
    today = today or timezone.localdate()
    memberships = list(
        ConventionMembership.objects.filter(
            convention__network=network, convention__status__in=["active", "ended"]
        )
        .select_related("convention")
        .order_by("pk")
    )
    if not memberships:
        return 0
    member_ids = sorted({m.service_id for m in memberships})
    senders = senders or member_ids[: max(3, len(member_ids) // 3)]
    offered = {}
    for service_id, domain_id in Service.domains.through.objects.filter(service__is_active=True).values_list(
        "service_id", "domain_id"
    ):
        offered.setdefault(domain_id, []).append(service_id)
    for services in offered.values():
        services.sort()
    needs = sorted(d for d in offered if len(offered[d]) >= 2)
    partner_needs = [d for d in needs if any(s in member_ids for s in offered[d])]
    communes = list(
        Commune.objects.filter(pk__in=Service.objects.filter(pk__in=member_ids).values("commune_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    ) or [None]
    if not needs:
        return 0

    cases, plans, references, prefix = [], [], set(), f"H{network.pk}-"
    for month_index in range(MONTHS - 1, -1, -1):
        month = add_months(today.replace(day=1), -month_index)
        for sender in senders:
            for _ in range(rng.randint(*REFERRALS_PER_SENDER_MONTH)):
                day = month + datetime.timedelta(days=rng.randrange(28))
                if day >= today:
                    day = today - datetime.timedelta(days=1 + rng.randrange(3))
                sent_at = timezone.make_aware(
                    datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), rng.randrange(60)))
                )
                members = _memberships_on(memberships, day)
                if sender not in members:
                    continue  # not yet (or no longer) a member: not the network's referral
                partners = members - {sender}
                need = rng.choice(
                    partner_needs if partner_needs and rng.random() < PARTNER_NEED_SHARE else needs
                )
                providers = [s for s in offered[need] if s != sender]
                in_network = [s for s in providers if s in partners]
                outside = [s for s in providers if s not in partners]
                if in_network and (not outside or rng.random() < IN_CONVENTION_SHARE):
                    target, classification = rng.choice(in_network), Classification.IN_CONVENTION
                else:
                    # A few outside services gather most referrals: the candidates to invite.
                    target = rng.choice(outside[:OUTSIDE_FAVOURITES])
                    classification = (
                        Classification.OFF_CONVENTION if in_network else Classification.NO_PARTNER
                    )
                reference = None
                while reference is None or (sender, reference) in references:
                    suffix = "".join(rng.choice(string.ascii_uppercase[:20] + "23456789") for _ in range(4))
                    reference = f"{prefix}{day:%y%m}-{suffix}"
                references.add((sender, reference))
                closed = month_index >= 2
                cases.append(
                    Case(
                        service_id=sender,
                        reference=reference,
                        commune_id=rng.choice(communes),
                        status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
                        created_at=sent_at - datetime.timedelta(hours=2),
                        closed_at=sent_at + datetime.timedelta(days=45) if closed else None,
                    )
                )
                plans.append((sent_at, target, need, classification, month_index))

    Case.objects.bulk_create(cases)
    case_ids = list(
        Case.objects.filter(reference__startswith=prefix, service_id__in=senders)
        .order_by("pk")
        .values_list("pk", "service_id", "reference")
    )
    by_key = {(service_id, reference): pk for pk, service_id, reference in case_ids}
    Case.needs.through.objects.bulk_create(
        [
            Case.needs.through(case_id=by_key[(case.service_id, case.reference)], domain_id=plan[2])
            for case, plan in zip(cases, plans, strict=True)
        ]
    )

    referrals, outcomes, now = [], [], timezone.now()
    for case, (sent_at, target, need, classification, month_index) in zip(cases, plans, strict=True):
        fields = {}
        if classification == Classification.IN_CONVENTION:
            fields["convention_id"] = _convention_of(memberships, target, sent_at.date())
            quick = (1, 9)
        else:
            quick = (2, 20)
        if classification == Classification.OFF_CONVENTION:
            fields["off_convention_reason"] = _weighted(rng, OFF_REASONS)
        draw = rng.random()
        answered_at = closed_at = None
        events = [(ReferralStatus.DRAFT, ReferralStatus.SENT, sent_at)]
        if month_index == 0 and draw < 0.35:
            status = ReferralStatus.SENT
        elif draw < 0.10:
            status, closed_at = ReferralStatus.EXPIRED, sent_at + datetime.timedelta(days=EXPIRY_DAYS)
            events.append((ReferralStatus.SENT, status, closed_at))
        elif draw < 0.32:
            status = ReferralStatus.REFUSED
            answered_at = sent_at + datetime.timedelta(days=rng.randint(*quick), hours=rng.randrange(8))
            fields["refusal_reason"] = _weighted(rng, REFUSALS)
            events.append((ReferralStatus.SENT, status, answered_at))
        else:
            status = ReferralStatus.ACCEPTED
            answered_at = sent_at + datetime.timedelta(days=rng.randint(*quick), hours=rng.randrange(8))
            events.append((ReferralStatus.SENT, status, answered_at))
            if month_index >= 2 and rng.random() < 0.6:
                status, closed_at = ReferralStatus.COMPLETED, answered_at + datetime.timedelta(days=30)
                events.append((ReferralStatus.ACCEPTED, status, closed_at))
        if max(answered_at or sent_at, closed_at or sent_at) > now:  # not answered yet: still pending
            status, answered_at, closed_at = ReferralStatus.SENT, None, None
            fields.pop("refusal_reason", None)
            events = events[:1]
        referrals.append(
            Referral(
                case_id=by_key[(case.service_id, case.reference)],
                service_id=target,
                status=status,
                classification=classification,
                created_at=sent_at,
                sent_at=sent_at,
                answered_at=answered_at,
                closed_at=closed_at,
                **fields,
            )
        )
        outcomes.append((need, events))
    Referral.objects.bulk_create(referrals)
    saved = dict(Referral.objects.filter(case_id__in=by_key.values()).values_list("case_id", "pk"))
    Referral.needs.through.objects.bulk_create(
        [
            Referral.needs.through(referral_id=saved[r.case_id], domain_id=need)
            for r, (need, _) in zip(referrals, outcomes, strict=True)
        ]
    )
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(referral_id=saved[r.case_id], from_status=source, to_status=target, at=at)
            for r, (_, events) in zip(referrals, outcomes, strict=True)
            for source, target, at in events
        ]
    )
    _uncovered_needs(rng=rng, today=today, senders=senders, communes=communes)
    return len(referrals)


def _convention_of(memberships, service_id, day):
    for m in memberships:
        if (
            m.service_id == service_id
            and m.convention.valid_from <= day
            and (m.convention.valid_until is None or m.convention.valid_until >= day)
        ):
            return m.convention_id
    return memberships[0].convention_id


def _uncovered_needs(*, rng, today, senders, communes):
    """A few needs no demo service offers, recorded as routing found them: once per case and day."""
    orphans = list(
        Domain.objects.filter(parent__isnull=False)
        .filter(~Q(pk__in=Service.domains.through.objects.values("domain_id")))
        .order_by("code")
        .values_list("pk", flat=True)[:40]
    )
    if not orphans:
        return
    picked = rng.sample(orphans, min(4, len(orphans)))
    rows = {}
    for index in range(60):
        day = today - datetime.timedelta(days=rng.randrange(MONTHS * 30))
        need = picked[min(int(rng.expovariate(1.2)), len(picked) - 1)]
        row = UncoveredNeed(
            day=day,
            need_id=need,
            commune_id=rng.choice(communes),
            sender_service_id=rng.choice(senders),
            case_digest=f"demo-{index:04d}",
        )
        rows[(row.case_digest, need, day)] = row
    UncoveredNeed.objects.bulk_create(rows.values())
