"""Insight for coordinators: a network's figures, from aggregate queries only.

A network's referrals are those sent by services that were members of one of its conventions in
force on the day they were sent (``network_referrals``, the direct computation over
``InsightReferral``, live and archived referrals). "In force" here is the dates of a convention that
was in force (status active, or ended since): ending a convention later does not rewrite the history
it covered. The pages read pre-aggregated monthly counts per network (``referrals.insight_counts``,
written with each transition, kept by ``purge_cases``): every figure is a ``GROUP BY`` over a few
thousand count rows; Python only folds the grouped rows (medians from a histogram of answer days,
shares, the Herfindahl–Hirschman index), never loops over referrals. Each page costs a fixed number
of queries, whatever the number of referrals.
"""

import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncQuarter
from django.utils import timezone

from partners.models import Convention, ConventionMembership, Domain, ErrorReport, Service

from .enums import Classification, OffConventionReason, RefusalReason
from .insight_counts import COUNTED_CONVENTION_STATUSES
from .models import (
    ALL_CATEGORIES,
    ALL_DEPARTMENTS,
    ArchivedReferral,
    InsightAnswerCount,
    InsightClassificationCount,
    InsightFlowCount,
    InsightGapCount,
    InsightReferral,
    InsightReferralNeed,
    InsightSenderCount,
    UncoveredNeed,
)

MASK_BELOW = 5
MASKED = "< 5"
WITHHELD = "masqué"  # a figure that would reveal a masked count, or a rate on fewer than 5 referrals
CAPACITY_OLD_MONTHS = 3
CONVENTION_ENDING_DAYS = 90
TOP_OUTSIDE_SERVICES = 20


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
            convention__status__in=COUNTED_CONVENTION_STATUSES,
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


# --- Pages: each reads the pre-aggregated counts (referrals.insight_counts) -----------------------


def counts(model, network, filters: Filters):
    """A count table's rows of this network for the filters: the level of the département and need
    catégorie filtered on (or every département, every need), within the period."""
    return model.objects.filter(
        network=network,
        department=filters.department or ALL_DEPARTMENTS,
        category=filters.category.pk if filters.category is not None else ALL_CATEGORIES,
        month__gte=filters.period.first,
        month__lte=filters.period.last,
    )


def headline(network, today=None):
    """The index: the last 12 months' referrals, off-convention rate, answered within 10 days, HHI.

    One grouped query (by receiving organisation and classification).
    """
    filters = Filters(Period.last_months(12, today))
    grouped = (
        counts(InsightFlowCount, network, filters)
        .values("target_service__organisation", "classification")
        .annotate(n=Sum("referrals"), fast=Sum("answered_fast"))
        .order_by()
    )
    total = off = fast = 0
    by_organisation = {}
    for row in grouped:
        total += row["n"]
        off += row["n"] if row["classification"] == Classification.OFF_CONVENTION else 0
        fast += row["fast"]
        organisation = row["target_service__organisation"]
        by_organisation[organisation] = by_organisation.get(organisation, 0) + row["n"]
    return {
        "period": filters.period,
        "total": total,
        "off": off,
        "answered_fast": fast,
        "off_rate": rate(off, total),
        "answered_fast_rate": rate(fast, total),
        "hhi": concentration(list(by_organisation.values()))["hhi"],
    }


def off_convention(network, filters: Filters):
    """Per month: referrals by classification; and the off-convention reasons, ranked (one query)."""
    grouped = (
        counts(InsightClassificationCount, network, filters)
        .values("month", "classification", "off_convention_reason")
        .annotate(n=Sum("referrals"))
        .order_by()
    )
    by_month, reasons = {}, {}
    for row in grouped:
        key = (row["month"], row["classification"])
        by_month[key] = by_month.get(key, 0) + row["n"]
        if row["classification"] == Classification.OFF_CONVENTION:
            reason = row["off_convention_reason"]
            reasons[reason] = reasons.get(reason, 0) + row["n"]
    months = []
    for month in filters.period.months():
        values = {c: by_month.get((month, c), 0) for c in Classification.values}
        total = sum(values.values())
        months.append(
            {
                "month": month,
                "total": total,
                "counts": [values[c] for c in Classification.values],
                "off": values[Classification.OFF_CONVENTION],
                "off_rate": rate(values[Classification.OFF_CONVENTION], total),
            }
        )
    labels = dict(OffConventionReason.choices)
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return {
        "classifications": Classification.choices,
        "months": months,
        "reasons": [
            {"reason": labels.get(reason, reason), "count": count} for reason, count in ranked if count
        ],
    }


def outside_services(network, filters: Filters, limit=TOP_OUTSIDE_SERVICES):
    """The services outside the conventions the network's workers use most (candidates to invite).

    Their needs are the catégories of those referrals (with a need filter: that catégorie).
    """
    outside = counts(InsightFlowCount, network, filters).exclude(classification=Classification.IN_CONVENTION)
    rows = list(
        outside.values("target_service")
        .annotate(n=Sum("referrals"), answered=Sum("answered"), accepted=Sum("accepted"))
        .filter(n__gt=0)
        .order_by("-n", "target_service")[:limit]
    )
    ids = [row["target_service"] for row in rows]
    services = Service.objects.filter(pk__in=ids).select_related("organisation").in_bulk()
    senders = dict(
        counts(InsightSenderCount, network, filters)
        .filter(target_service__in=ids, referrals__gt=0)
        .values("target_service")
        .annotate(senders=Count("sender_service", distinct=True))
        .values_list("target_service", "senders")
        .order_by()
    )
    by_need = InsightFlowCount.objects.filter(
        network=network,
        department=filters.department or ALL_DEPARTMENTS,
        month__gte=filters.period.first,
        month__lte=filters.period.last,
        target_service__in=ids,
        referrals__gt=0,
    ).exclude(classification=Classification.IN_CONVENTION)
    by_need = (
        by_need.filter(category=filters.category)
        if filters.category is not None
        else by_need.exclude(category=ALL_CATEGORIES)
    )
    needs = {}
    for target, label in (
        by_need.values_list("target_service", "category__label").distinct().order_by("category__label")
    ):
        needs.setdefault(target, []).append(label)
    return [
        {
            "service": services.get(row["target_service"]),
            "count": row["n"],
            "senders": senders.get(row["target_service"], 0),
            "answered": row["answered"],
            "accepted": row["accepted"],
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
    referrals = InsightGapCount.objects.filter(
        network=network, month__gte=filters.period.first, month__lte=filters.period.last
    )
    uncovered = (
        UncoveredNeed.objects.filter(
            day__gte=filters.period.first, day__lt=add_months(filters.period.last, 1)
        )
        .annotate(sent_on=F("day"))
        .filter(Exists(_members_on_sent_day(network, "sender_service")))
    )
    if filters.department:
        referrals = referrals.filter(department=filters.department)
        uncovered = uncovered.filter(commune__department=filters.department)
    if filters.category is not None:
        referrals = referrals.filter(category=filters.category)
        uncovered = uncovered.filter(category_filter(filters.category, field="need"))
    referral_rows = (
        referrals.values("category__label", place)
        .annotate(n=Sum("referrals"))
        .values_list("category__label", place, "n")
        .order_by()
    )
    uncovered_place = "commune__name" if by_commune else "commune__department"
    uncovered_rows = (
        uncovered.annotate(category=Coalesce("need__parent__label", "need__label"), place=F(uncovered_place))
        .values("category", "place")
        .annotate(n=Count("id"))
        .values_list("category", "place", "n")
        .order_by()
    )
    cells = {}
    for need, place_name, n in referral_rows:
        cells.setdefault((need, place_name or ""), [0, 0])[0] += n
    for need, place_name, n in uncovered_rows:
        cells.setdefault((need, place_name or ""), [0, 0])[1] += n
    rows = [
        {"need": need, "place": place_name, "no_partner": no_partner, "no_service": no_service}
        for (need, place_name), (no_partner, no_service) in cells.items()
        if no_partner or no_service
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

    Two grouped queries give every figure (per service: the outcome counts; per service, answer days
    and refusal reason: the medians and reasons); a third one finds the dormant members when the
    filters are not the last 12 months as a whole.
    """
    default_filters = Filters(Period.last_months(12, today))
    members = network_members(network, today)
    member_rows = list(members.select_related("organisation").order_by("name", "pk"))
    member_ids = [service.pk for service in member_rows]
    figures = {
        row["target_service"]: row
        for row in counts(InsightFlowCount, network, filters)
        .filter(target_service__in=member_ids)
        .values("target_service")
        .annotate(
            n=Sum("referrals"),
            answered=Sum("answered"),
            fast=Sum("answered_fast"),
            refused=Sum("refused"),
            expired=Sum("expired"),
        )
        .order_by()
    }
    days, reasons, all_reasons = {}, {}, {}
    answers = (
        counts(InsightAnswerCount, network, filters)
        .filter(target_service__in=member_ids)
        .values("target_service", "answer_days", "refusal_reason")
        .annotate(n=Sum("referrals"))
        .values_list("target_service", "answer_days", "refusal_reason", "n")
        .order_by()
    )
    for target, answer_days, refusal_reason, n in answers:
        histogram = days.setdefault(target, {})
        histogram[answer_days] = histogram.get(answer_days, 0) + n
        if refusal_reason and n:
            service_reasons = reasons.setdefault(target, {})
            service_reasons[refusal_reason] = service_reasons.get(refusal_reason, 0) + n
            all_reasons[refusal_reason] = all_reasons.get(refusal_reason, 0) + n
    if filters == default_filters:
        active_ids = {target for target, row in figures.items() if row["n"]}
    else:  # dormant: nothing received in the last 12 months, whatever the filters
        active_ids = set(
            counts(InsightFlowCount, network, default_filters)
            .filter(target_service__in=member_ids, referrals__gt=0)
            .values_list("target_service", flat=True)
            .distinct()
            .order_by()
        )
    labels = dict(RefusalReason.choices)

    def ranked(found):
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))

    empty = {"n": 0, "answered": 0, "fast": 0, "refused": 0, "expired": 0}
    rows = []
    for service in member_rows:
        figure = figures.get(service.pk, empty)
        histogram = {d: n for d, n in days.get(service.pk, {}).items() if n}
        rows.append(
            {
                "service": service,
                "count": figure["n"],
                "answered": figure["answered"],
                "median_days": median_from_histogram(histogram),
                "answered_fast": figure["fast"],
                "answered_fast_rate": rate(figure["fast"], figure["n"]),
                "refused": figure["refused"],
                "refusal_rate": rate(figure["refused"], figure["answered"]),
                "refusal_reasons": [labels.get(r, r) for r, _ in ranked(reasons.get(service.pk, {}))],
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
        counts(InsightFlowCount, network, filters)
        .annotate(quarter=TruncQuarter("month"))
        .values("quarter", "target_service__organisation")
        .annotate(n=Sum("referrals"))
        .values_list("quarter", "n")
        .order_by()
    )
    per_quarter = {}
    for quarter, n in grouped:
        if n:
            per_quarter.setdefault(quarter, []).append(n)
    return [
        {
            "quarter": quarter,
            "label": f"T{(quarter.month - 1) // 3 + 1} {quarter.year}",
            **concentration(counts_of_quarter),
        }
        for quarter, counts_of_quarter in sorted(per_quarter.items())
    ]


def freshness(network, today=None):
    """The network's stale services, capacities older than 3 months, conventions ending within 90 days,
    and the open error reports on its services."""
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
        "error_reports": list(
            ErrorReport.objects.open()
            .filter(service__in=network_members(network, today).values("pk"))
            .select_related("service__organisation")
            .order_by("-created_at", "-pk")
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
