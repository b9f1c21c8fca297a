"""Insight for coordinators: a network's figures, from aggregate queries only.

A network's referrals are those sent by services that were members of one of its conventions in
force on the day they were sent (``network_referrals``). "In force" here is the dates of a
convention that was in force (status active, or ended since): ending a convention later does not
rewrite the history it covered. Every figure is a ``GROUP BY`` query over ``InsightReferral`` (live
and archived referrals, so figures survive ``purge_cases``); Python only folds the grouped rows
(medians from a histogram of answer days, shares, the Herfindahl–Hirschman index), never loops over
referrals. Each page costs a fixed number of queries, whatever the number of referrals.
"""

import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncQuarter
from django.utils import timezone

from partners.enums import ConventionStatus
from partners.models import Convention, ConventionMembership, Domain, Service

from .enums import Classification, OffConventionReason, ReferralStatus, RefusalReason
from .models import ArchivedReferral, InsightReferral, InsightReferralNeed, UncoveredNeed

ANSWER_DAYS_TARGET = 10
MASK_BELOW = 5
MASKED = "< 5"
CAPACITY_OLD_MONTHS = 3
CONVENTION_ENDING_DAYS = 90
TOP_OUTSIDE_SERVICES = 20
# Conventions whose dates count: active ones, and ended ones (they were in force on their dates).
_COUNTED_CONVENTION_STATUSES = [ConventionStatus.ACTIVE, ConventionStatus.ENDED]


def masked(count):
    """A count as published in exports and on the gaps page: 1 to 4 read "< 5" (0 stays 0)."""
    return MASKED if 0 < count < MASK_BELOW else count


def add_months(day, months):
    month_index = day.year * 12 + day.month - 1 + months
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months, ``first`` to ``last`` included (both the first day of their month)."""

    first: datetime.date
    last: datetime.date

    @classmethod
    def last_months(cls, count=12, today=None):
        this_month = (today or timezone.localdate()).replace(day=1)
        return cls(add_months(this_month, -(count - 1)), this_month)

    @property
    def start(self):
        return timezone.make_aware(datetime.datetime.combine(self.first, datetime.time.min))

    @property
    def end(self):
        return timezone.make_aware(datetime.datetime.combine(add_months(self.last, 1), datetime.time.min))

    def months(self):
        month, found = self.first, []
        while month <= self.last:
            found.append(month)
            month = add_months(month, 1)
        return found


@dataclass(frozen=True)
class Filters:
    period: Period
    department: str = ""
    category: Domain | None = None


def _members_on_sent_day(network, service_field):
    """Memberships of ``network``'s conventions in force on the outer row's ``sent_on``."""
    day = OuterRef("sent_on")
    return (
        ConventionMembership.objects.filter(
            service=OuterRef(service_field),
            convention__network=network,
            convention__status__in=_COUNTED_CONVENTION_STATUSES,
            convention__valid_from__lte=day,
            joined_on__lte=day,
        )
        .filter(Q(convention__valid_until__isnull=True) | Q(convention__valid_until__gte=day))
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
    )


def category_filter(category, field="domain"):
    """A need of this catégorie: the catégorie itself or one of its thématiques."""
    return Q(**{field: category}) | Q(**{f"{field}__parent": category})


def network_referrals(network, filters: Filters):
    """The network's sent referrals (live and archived) within the filters."""
    referrals = (
        InsightReferral.objects.filter(sent_at__gte=filters.period.start, sent_at__lt=filters.period.end)
        .annotate(sent_on=TruncDate("sent_at"))
        .filter(Exists(_members_on_sent_day(network, "sender_service")))
    )
    if filters.department:
        referrals = referrals.filter(department=filters.department)
    if filters.category is not None:
        needs = InsightReferralNeed.objects.filter(referral=OuterRef("pk")).filter(
            category_filter(filters.category)
        )
        referrals = referrals.filter(Exists(needs))
    return referrals


def _answered_within(days=ANSWER_DAYS_TARGET):
    return Q(answered_at__isnull=False, answered_at__lte=F("sent_at") + datetime.timedelta(days=days))


def _answered_fast_flag():
    return Case(When(_answered_within(), then=Value(True)), default=Value(False), output_field=BooleanField())


def rate(part, whole):
    return part / whole if whole else None


def median_from_histogram(histogram):
    """Median of values given as {value: count}; the mean of the two middle values for an even total."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered, seen, middle = sorted(histogram.items()), 0, []
    for wanted in sorted({(total - 1) // 2, total // 2}):
        seen = 0
        for value, count in ordered:
            seen += count
            if seen > wanted:
                middle.append(value)
                break
    return sum(middle) / len(middle)


def concentration(counts):
    """Top-3 share and Herfindahl–Hirschman index (0 to 10 000) of counts per receiving organisation."""
    total = sum(counts)
    if not total:
        return {"total": 0, "top3_share": None, "hhi": None}
    shares = sorted((count / total for count in counts), reverse=True)
    return {
        "total": total,
        "top3_share": sum(shares[:3]),
        "hhi": round(sum((share * 100) ** 2 for share in shares)),
    }


# --- Pages ----------------------------------------------------------------------------------------


def headline(network, today=None):
    """The index: the last 12 months' referrals, off-convention rate, answered within 10 days, HHI.

    One grouped query (by receiving organisation, classification, answered within 10 days).
    """
    filters = Filters(Period.last_months(12, today))
    grouped = (
        network_referrals(network, filters)
        .annotate(fast=_answered_fast_flag())
        .values("target_service__organisation", "classification", "fast")
        .annotate(n=Count("id"))
        .order_by()
    )
    total = off = fast = 0
    by_organisation = {}
    for row in grouped:
        total += row["n"]
        off += row["n"] if row["classification"] == Classification.OFF_CONVENTION else 0
        fast += row["n"] if row["fast"] else 0
        organisation = row["target_service__organisation"]
        by_organisation[organisation] = by_organisation.get(organisation, 0) + row["n"]
    return {
        "period": filters.period,
        "total": total,
        "off_rate": rate(off, total),
        "answered_fast_rate": rate(fast, total),
        "hhi": concentration(list(by_organisation.values()))["hhi"],
    }


def off_convention(network, filters: Filters):
    """Per month: referrals by classification; and the off-convention reasons, ranked (one query)."""
    grouped = (
        network_referrals(network, filters)
        .annotate(month=TruncMonth("sent_at"))
        .values("month", "classification", "off_convention_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts, reasons = {}, {}
    for row in grouped:
        month = row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]
        key = (month, row["classification"])
        counts[key] = counts.get(key, 0) + row["n"]
        if row["classification"] == Classification.OFF_CONVENTION:
            reason = row["off_convention_reason"]
            reasons[reason] = reasons.get(reason, 0) + row["n"]
    months = []
    for month in filters.period.months():
        values = {c: counts.get((month, c), 0) for c in Classification.values}
        total = sum(values.values())
        months.append(
            {
                "month": month,
                "total": total,
                "counts": [values[c] for c in Classification.values],
                "off_rate": rate(values[Classification.OFF_CONVENTION], total),
            }
        )
    labels = dict(OffConventionReason.choices)
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return {
        "classifications": Classification.choices,
        "months": months,
        "reasons": [{"reason": labels.get(reason, reason), "count": count} for reason, count in ranked],
    }


def outside_services(network, filters: Filters, limit=TOP_OUTSIDE_SERVICES):
    """The services outside the conventions the network's workers use most (candidates to invite)."""
    referrals = network_referrals(network, filters).exclude(classification=Classification.IN_CONVENTION)
    accepted = [ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED]
    rows = list(
        referrals.values("target_service")
        .annotate(
            n=Count("id"),
            senders=Count("sender_service", distinct=True),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
            accepted=Count("id", filter=Q(status__in=accepted)),
        )
        .order_by("-n", "target_service")[:limit]
    )
    ids = [row["target_service"] for row in rows]
    services = Service.objects.filter(pk__in=ids).select_related("organisation").in_bulk()
    needs = {}
    need_rows = (
        InsightReferralNeed.objects.filter(referral__in=referrals.filter(target_service__in=ids).values("pk"))
        .annotate(category=Coalesce("domain__parent__label", "domain__label"))
        .values("referral__target_service", "category")
        .distinct()
        .order_by("category")
    )
    for row in need_rows:
        needs.setdefault(row["referral__target_service"], []).append(row["category"])
    return [
        {
            "service": services.get(row["target_service"]),
            "count": row["n"],
            "senders": row["senders"],
            "acceptance_rate": rate(row["accepted"], row["answered"]),
            "needs": needs.get(row["target_service"], []),
        }
        for row in rows
        if row["target_service"] in services
    ]


def conventions_in_force(network, today=None):
    """The network's conventions in force today (the action "Ajouter à une convention" targets them)."""
    return list(Convention.objects.active_on(today).filter(network=network).order_by("-valid_from", "pk"))


def gaps(network, filters: Filters):
    """Needs × territory with no partner: ``no_partner`` referrals and needs routing found no service for.

    Territory is the département, or the commune within the département of the filters.
    """
    by_commune = bool(filters.department)
    place = "commune__name" if by_commune else "department"
    uncovered_place = "commune__name" if by_commune else "commune__department"
    referrals = network_referrals(network, filters).filter(classification=Classification.NO_PARTNER)
    referral_rows = (
        InsightReferralNeed.objects.filter(referral__in=referrals.values("pk"))
        .annotate(category=Coalesce("domain__parent__label", "domain__label"), place=F(f"referral__{place}"))
        .values("category", "place")
        .annotate(n=Count("referral", distinct=True))
        .order_by()
    )
    uncovered = (
        UncoveredNeed.objects.filter(
            day__gte=filters.period.first, day__lt=add_months(filters.period.last, 1)
        )
        .annotate(sent_on=F("day"))
        .filter(Exists(_members_on_sent_day(network, "sender_service")))
        .annotate(category=Coalesce("need__parent__label", "need__label"), place=F(uncovered_place))
    )
    if filters.department:
        uncovered = uncovered.filter(commune__department=filters.department)
    if filters.category is not None:
        uncovered = uncovered.filter(category_filter(filters.category, field="need"))
    uncovered_rows = uncovered.values("category", "place").annotate(n=Count("id")).order_by()
    cells = {}
    for row in referral_rows:
        cells.setdefault((row["category"], row["place"] or ""), [0, 0])[0] += row["n"]
    for row in uncovered_rows:
        cells.setdefault((row["category"], row["place"] or ""), [0, 0])[1] += row["n"]
    rows = [
        {"need": need, "place": place_name, "no_partner": no_partner, "no_service": no_service}
        for (need, place_name), (no_partner, no_service) in cells.items()
    ]
    rows.sort(key=lambda row: (-(row["no_partner"] + row["no_service"]), row["need"], row["place"]))
    for row in rows:
        total = row["no_partner"] + row["no_service"]
        row["total"] = total
        row["heat"] = min(4, total // MASK_BELOW)  # 0: under 5 … 4: 20 and more
    return {"by_commune": by_commune, "rows": rows}


def network_members(network, today=None):
    """Services that are current members of the network's conventions in force today."""
    today = today or timezone.localdate()
    memberships = ConventionMembership.objects.current_on(today).filter(
        convention__in=Convention.objects.active_on(today).filter(network=network)
    )
    return Service.objects.filter(pk__in=memberships.values("service_id"))


def responsiveness(network, filters: Filters, today=None):
    """Per member service: received, median days to answer, answered within 10 days, refusals and their
    reasons, expiries; members that received nothing in 12 months are dormant.

    One grouped query gives every figure (by service, answer days, status, refusal reason and whether
    the answer came within 10 days); a second one finds the dormant members when the filters are not
    the last 12 months as a whole.
    """
    default_filters = Filters(Period.last_months(12, today))
    members = network_members(network, today)
    member_rows = list(members.select_related("organisation").order_by("name", "pk"))
    received = network_referrals(network, filters).filter(target_service__in=members.values("pk"))
    grouped = (
        received.annotate(fast=_answered_fast_flag())
        .values("target_service", "answer_days", "status", "refusal_reason", "fast")
        .annotate(n=Count("id"))
        .order_by()
    )
    figures, all_reasons = {}, {}
    for row in grouped:
        figure = figures.setdefault(
            row["target_service"],
            {"n": 0, "answered": 0, "fast": 0, "refused": 0, "expired": 0, "days": {}, "reasons": {}},
        )
        count = row["n"]
        figure["n"] += count
        if row["answer_days"] is not None:
            figure["answered"] += count
            figure["days"][row["answer_days"]] = figure["days"].get(row["answer_days"], 0) + count
        if row["fast"]:
            figure["fast"] += count
        if row["status"] == ReferralStatus.EXPIRED:
            figure["expired"] += count
        if row["status"] == ReferralStatus.REFUSED:
            figure["refused"] += count
            reason = row["refusal_reason"]
            figure["reasons"][reason] = figure["reasons"].get(reason, 0) + count
            all_reasons[reason] = all_reasons.get(reason, 0) + count
    if filters == default_filters:
        active_ids = set(figures)
    else:  # dormant: nothing received in the last 12 months, whatever the filters
        active_ids = set(
            network_referrals(network, default_filters)
            .filter(target_service__in=members.values("pk"))
            .values_list("target_service", flat=True)
            .distinct()
            .order_by()
        )
    labels = dict(RefusalReason.choices)

    def ranked(reasons):
        return sorted(reasons.items(), key=lambda item: (-item[1], item[0]))

    rows = []
    for service in member_rows:
        figure = figures.get(service.pk, {"n": 0, "answered": 0, "fast": 0, "refused": 0, "expired": 0})
        rows.append(
            {
                "service": service,
                "count": figure["n"],
                "median_days": median_from_histogram(figure.get("days", {})),
                "answered_fast_rate": rate(figure["fast"], figure["n"]),
                "refusal_rate": rate(figure["refused"], figure["answered"]),
                "refusal_reasons": [labels.get(r, r) for r, _ in ranked(figure.get("reasons", {}))],
                "expired": figure["expired"],
                "dormant": service.pk not in active_ids,
            }
        )
    return {
        "rows": rows,
        "dormant": [row["service"] for row in rows if row["dormant"]],
        "refusal_reasons": [{"reason": labels.get(r, r), "count": n} for r, n in ranked(all_reasons)],
    }


def concentration_by_quarter(network, filters: Filters):
    """Per quarter: top-3 share and HHI of the referrals by receiving organisation."""
    grouped = (
        network_referrals(network, filters)
        .annotate(quarter=TruncQuarter("sent_at"))
        .values("quarter", "target_service__organisation")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_quarter = {}
    for row in grouped:
        quarter = row["quarter"].date() if isinstance(row["quarter"], datetime.datetime) else row["quarter"]
        per_quarter.setdefault(quarter, []).append(row["n"])
    return [
        {
            "quarter": quarter,
            "label": f"T{(quarter.month - 1) // 3 + 1} {quarter.year}",
            **concentration(counts),
        }
        for quarter, counts in sorted(per_quarter.items())
    ]


def freshness(network, today=None):
    """The network's stale services, capacities older than 3 months, conventions ending within 90 days."""
    today = today or timezone.localdate()
    members = network_members(network, today).select_related("organisation").order_by("name", "pk")
    # Same rule as Service.is_stale: verified STALE_AFTER_MONTHS whole months ago or more, or never.
    stale_limit = _months_ago(today, settings.STALE_AFTER_MONTHS)
    capacity_limit = _months_ago(today, CAPACITY_OLD_MONTHS)
    return {
        "stale": list(members.filter(Q(verified_on__isnull=True) | Q(verified_on__lte=stale_limit))),
        "old_capacity": list(members.filter(capacity_updated_on__lte=capacity_limit)),
        "ending": list(
            Convention.objects.active_on(today)
            .filter(network=network, valid_until__lte=today + datetime.timedelta(days=CONVENTION_ENDING_DAYS))
            .order_by("valid_until", "pk")
        ),
    }


def _months_ago(today, months):
    """The day ``months`` months before ``today`` (clamped to the month's length)."""
    first = add_months(today.replace(day=1), -months)
    next_month = add_months(first, 1)
    last_day = (next_month - datetime.timedelta(days=1)).day
    return first.replace(day=min(today.day, last_day))


# --- Writes ---------------------------------------------------------------------------------------


def _case_digest(case_id):
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"uncovered-need:{case_id}".encode(), hashlib.sha256).hexdigest()[:32]


def uncovered_needs_record(*, case, need_ids, on=None):
    """Record the needs routing found no service for: once per case, need and day (one query)."""
    if not need_ids:
        return
    day = on or timezone.localdate()
    digest = _case_digest(case.pk)
    UncoveredNeed.objects.bulk_create(
        [
            UncoveredNeed(
                day=day,
                need_id=need_id,
                commune_id=case.commune_id,
                sender_service_id=case.service_id,
                case_digest=digest,
            )
            for need_id in sorted(need_ids)
        ],
        ignore_conflicts=True,
    )


def referrals_archive(referrals):
    """Keep the sent referrals about to be purged as ArchivedReferral rows (insight's history)."""
    rows = list(
        referrals.filter(sent_at__isnull=False).values(
            "pk",
            "case__service_id",
            "service_id",
            "status",
            "classification",
            "off_convention_reason",
            "refusal_reason",
            "sent_at",
            "answered_at",
            "case__commune_id",
            "case__commune__department",
        )
    )
    ArchivedReferral.objects.bulk_create(
        [
            ArchivedReferral(
                id=row["pk"],
                sender_service_id=row["case__service_id"],
                target_service_id=row["service_id"],
                status=row["status"],
                classification=row["classification"],
                off_convention_reason=row["off_convention_reason"],
                refusal_reason=row["refusal_reason"],
                sent_at=row["sent_at"],
                answered_at=row["answered_at"],
                commune_id=row["case__commune_id"],
                department=row["case__commune__department"] or "",
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )
    through = ArchivedReferral.needs.through
    need_pairs = referrals.model.needs.through.objects.filter(
        referral_id__in=[row["pk"] for row in rows]
    ).values_list("referral_id", "domain_id")
    through.objects.bulk_create(
        [
            through(archivedreferral_id=referral_id, domain_id=domain_id)
            for referral_id, domain_id in need_pairs
        ],
        ignore_conflicts=True,
    )
    return len(rows)
