"""Insight's pre-aggregated counts (``referrals.models.InsightCount`` tables): how they are written.

A sent referral contributes to the counts of every network it belongs to — those of which its sender
was a member of a convention in force on the day it was sent (the rule of
``referrals.insight.network_referrals``, resolved here once, when it is written). ``contributions``
says what one referral adds to which rows; a transition applies the difference between its
contributions after and before (``referral_counts_follow``, called by the one place a referral's
status changes, in its transaction), and ``counts_rebuild`` recomputes every row from the referrals,
live and archived — the same function, so both ways agree (tested). The purge deletes referrals, never
counts.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from partners.enums import ConventionStatus
from partners.models import Convention, ConventionMembership

from .enums import Classification, ReferralStatus
from .models import (
    ALL_CATEGORIES,
    ALL_DEPARTMENTS,
    INSIGHT_COUNT_MODELS,
    InsightAnswerCount,
    InsightClassificationCount,
    InsightFlowCount,
    InsightGapCount,
    InsightReferral,
    InsightReferralNeed,
    InsightSenderCount,
    Referral,
)

ANSWER_DAYS_TARGET = 10
ACCEPTED_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)
# Conventions whose dates count: active ones, and ended ones (they were in force on their dates), so
# that ending a convention does not rewrite the history it covered.
COUNTED_CONVENTION_STATUSES = (ConventionStatus.ACTIVE, ConventionStatus.ENDED)
UPSERT_BATCH = 500


@dataclass(frozen=True)
class ReferralFacts:
    """What insight counts of one sent referral: nothing about the case beyond its commune."""

    sender_service_id: int
    target_service_id: int
    sent_at: datetime.datetime
    department: str
    commune_id: str
    categories: tuple  # the distinct catégories of its needs
    classification: str
    off_convention_reason: str
    status: str
    refusal_reason: str
    answered_at: datetime.datetime | None

    @property
    def sent_on(self):
        return timezone.localdate(self.sent_at)

    @property
    def answer_days(self):
        """Whole days from sending to the answer (as the database's interval days)."""
        if self.answered_at is None:
            return None
        return (self.answered_at - self.sent_at).days

    @property
    def answered_fast(self):
        return self.answered_at is not None and self.answered_at <= self.sent_at + datetime.timedelta(
            days=ANSWER_DAYS_TARGET
        )


def contributions(facts, network_ids):
    """{(model, key values): {measure: count}} that one referral adds to the counts."""
    found = defaultdict(lambda: defaultdict(int))
    month = facts.sent_on.replace(day=1)
    levels = [(ALL_DEPARTMENTS, ALL_CATEGORIES), (facts.department, ALL_CATEGORIES)]
    levels += [
        (department, c) for c in facts.categories for department in (ALL_DEPARTMENTS, facts.department)
    ]
    outcome = {
        "referrals": 1,
        "answered": int(facts.answered_at is not None),
        "answered_fast": int(facts.answered_fast),
        "accepted": int(facts.status in ACCEPTED_STATUSES),
        "refused": int(facts.status == ReferralStatus.REFUSED),
        "expired": int(facts.status == ReferralStatus.EXPIRED),
    }
    for network_id in network_ids:
        for department, category in levels:
            level = (network_id, department, category)
            _add(
                found[InsightFlowCount, (*level, month, facts.target_service_id, facts.classification)],
                outcome,
            )
            key = (*level, month, facts.classification, facts.off_convention_reason)
            found[InsightClassificationCount, key]["referrals"] += 1
            if facts.answered_at is not None:
                key = (*level, facts.target_service_id, month, facts.answer_days, facts.refusal_reason)
                found[InsightAnswerCount, key]["referrals"] += 1
            if facts.classification != Classification.IN_CONVENTION:
                key = (*level, facts.target_service_id, facts.sender_service_id, month)
                found[InsightSenderCount, key]["referrals"] += 1
        if facts.classification == Classification.NO_PARTNER:
            for category in facts.categories:
                key = (network_id, facts.department, category, month, facts.commune_id)
                found[InsightGapCount, key]["referrals"] += 1
    return found


def _add(measures, values, sign=1):
    for name, value in values.items():
        measures[name] += sign * value


# --- Whose referrals: the networks of a sender on the day it sent --------------------------------


class NetworkCalendar:
    """For some senders, the days each was a member of each network's conventions (one query)."""

    def __init__(self, sender_ids):
        self.spans = defaultdict(list)
        memberships = ConventionMembership.objects.filter(
            service_id__in=sender_ids, convention__status__in=COUNTED_CONVENTION_STATUSES
        ).values_list(
            "service_id",
            "convention__network_id",
            "joined_on",
            "left_on",
            "convention__valid_from",
            "convention__valid_until",
        )
        for service_id, network_id, joined_on, left_on, valid_from, valid_until in memberships:
            last_day = (
                left_on - datetime.timedelta(days=1) if left_on else None
            )  # left_on is the first day out
            if valid_until and (last_day is None or valid_until < last_day):
                last_day = valid_until
            self.spans[service_id].append((network_id, max(joined_on, valid_from), last_day))

    def networks_on(self, sender_id, day):
        return sorted(
            {
                network
                for network, first, last in self.spans[sender_id]
                if first <= day and (last is None or day <= last)
            }
        )


# --- Writing ----------------------------------------------------------------------------------------


def counts_add(found, sign=1):
    """Add (or with ``sign=-1`` take away) contributions, one upsert per table and batch."""
    by_model = defaultdict(list)
    for (model, key), measures in found.items():
        if any(measures.values()):
            by_model[model].append((key, measures))
    for model, rows in by_model.items():
        rows.sort(key=lambda row: row[0])  # rows locked in one order by every writer: no deadlock
        for start in range(0, len(rows), UPSERT_BATCH):
            _upsert(model, rows[start : start + UPSERT_BATCH], sign)


def _upsert(model, rows, sign):
    """INSERT … ON CONFLICT (key) DO UPDATE SET m = m + excluded.m: SQLite and PostgreSQL alike."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    keys = [model._meta.get_field(name).column for name in model.KEY]
    measures = list(model.MEASURES)
    columns = ", ".join(quote(c) for c in (*keys, *measures))
    placeholders = "(" + ", ".join(["%s"] * (len(keys) + len(measures))) + ")"
    updates = ", ".join(f"{quote(m)} = {table}.{quote(m)} + excluded.{quote(m)}" for m in measures)
    params = []
    for key, values in rows:
        params += [*key, *(sign * values.get(m, 0) for m in measures)]
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({', '.join(quote(c) for c in keys)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def referral_state(referral):
    """What a transition may change that the counts read: take it before, pass it to
    ``referral_counts_follow`` after."""
    return (referral.status, referral.sent_at, referral.answered_at, referral.refusal_reason)


def referral_counts_follow(referral, before):
    """Apply a transition's effect on the counts (in the caller's transaction).

    A draft (unsent) referral counts nothing; the classification, the sender, the target, the commune
    and the needs do not change once sent. Three queries to learn the referral's networks, then one
    upsert per table whose counts move; nothing when the sender belongs to no network that day.
    """
    status, sent_at, answered_at, refusal_reason = before
    if sent_at is None and referral.sent_at is None:
        return
    static = (
        Referral.objects.filter(pk=referral.pk)
        .values("case__service_id", "case__commune_id", "case__commune__department")
        .get()
    )
    sender_id = static["case__service_id"]
    day = timezone.localdate(referral.sent_at)
    networks = NetworkCalendar([sender_id]).networks_on(sender_id, day)
    if not networks:
        return
    categories = tuple(
        sorted(
            set(
                Referral.needs.through.objects.filter(referral_id=referral.pk)
                .annotate(category=Coalesce("domain__parent_id", "domain_id"))
                .values_list("category", flat=True)
            )
        )
    )

    def facts(status, answered_at, refusal_reason):
        return ReferralFacts(
            sender_service_id=sender_id,
            target_service_id=referral.service_id,
            sent_at=referral.sent_at,
            department=static["case__commune__department"] or "",
            commune_id=static["case__commune_id"] or "",
            categories=categories,
            classification=referral.classification,
            off_convention_reason=referral.off_convention_reason,
            status=status,
            refusal_reason=refusal_reason,
            answered_at=answered_at,
        )

    delta = contributions(facts(referral.status, referral.answered_at, referral.refusal_reason), networks)
    if sent_at is not None:
        for key, measures in contributions(facts(status, answered_at, refusal_reason), networks).items():
            _add(delta[key], measures, sign=-1)
    counts_add(delta)


# --- Rebuilding -------------------------------------------------------------------------------------


def counts_rebuild(network_ids=None):
    """Recompute the counts (of some networks, or all) from every sent referral, live and archived.

    One transaction; the referrals are read month by month (the month is part of every key, so each
    month's counts are complete when written). On PostgreSQL the count tables are locked first: a
    transition running meanwhile waits, then adds its change to the rebuilt counts (the rebuild read
    the referral as it was before). Returns the number of referrals read.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in INSIGHT_COUNT_MODELS:
                    cursor.execute(
                        f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)} IN EXCLUSIVE MODE"
                    )
        for model in INSIGHT_COUNT_MODELS:
            rows = model.objects.all()
            if network_ids is not None:
                rows = rows.filter(network_id__in=network_ids)
            rows._raw_delete(rows.db)
        sent = InsightReferral.objects.values_list("sent_at", flat=True)
        first, last = sent.order_by("sent_at").first(), sent.order_by("-sent_at").first()
        if first is None:
            return 0
        senders = InsightReferral.objects.values_list("sender_service_id", flat=True).distinct().order_by()
        calendar = NetworkCalendar(list(senders))
        month, read = timezone.localdate(first).replace(day=1), 0
        while month <= timezone.localdate(last):
            read += _rebuild_month(month, calendar, network_ids)
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        return read


def _month_bounds(month):
    start = timezone.make_aware(datetime.datetime.combine(month, datetime.time.min))
    next_month = (month + datetime.timedelta(days=32)).replace(day=1)
    return start, timezone.make_aware(datetime.datetime.combine(next_month, datetime.time.min))


def _rebuild_month(month, calendar, network_ids):
    start, end = _month_bounds(month)
    found = defaultdict(lambda: defaultdict(int))
    read = 0
    for facts in referral_facts(InsightReferral.objects.filter(sent_at__gte=start, sent_at__lt=end)):
        read += 1
        networks = calendar.networks_on(facts.sender_service_id, facts.sent_on)
        if network_ids is not None:
            networks = [n for n in networks if n in network_ids]
        for key, measures in contributions(facts, networks).items():
            _add(found[key], measures)
    counts_add(found)
    return read


def referral_facts(referrals):
    """ReferralFacts of some ``InsightReferral`` rows, read in chunks (two queries)."""
    categories = defaultdict(set)
    needs = InsightReferralNeed.objects.filter(referral__in=referrals.values("pk")).annotate(
        category=Coalesce("domain__parent_id", "domain_id")
    )
    for referral_id, category in needs.values_list("referral_id", "category").iterator(chunk_size=20000):
        categories[referral_id].add(category)
    rows = referrals.values_list(
        "pk",
        "sender_service_id",
        "target_service_id",
        "sent_at",
        "department",
        "commune_id",
        "classification",
        "off_convention_reason",
        "status",
        "refusal_reason",
        "answered_at",
    )
    for (
        pk,
        sender,
        target,
        sent_at,
        department,
        commune,
        classification,
        reason,
        status,
        refusal,
        answered,
    ) in rows.iterator(chunk_size=20000):
        yield ReferralFacts(
            sender_service_id=sender,
            target_service_id=target,
            sent_at=sent_at,
            department=department or "",
            commune_id=commune or "",
            categories=tuple(sorted(categories.get(pk, ()))),
            classification=classification,
            off_convention_reason=reason,
            status=status,
            refusal_reason=refusal,
            answered_at=answered,
        )


# --- When a sender's memberships change ----------------------------------------------------------


def senders_recount(sender_ids, before):
    """Move the referrals of these senders between networks after their memberships (or their
    conventions' dates or status) changed: each referral whose networks differ now from ``before``
    (a NetworkCalendar read before the change) leaves the networks it no longer counts for and joins
    the new ones. Costs the senders' referrals, not the network's; in the caller's transaction."""
    after = NetworkCalendar(sender_ids)
    delta = defaultdict(lambda: defaultdict(int))
    for facts in referral_facts(InsightReferral.objects.filter(sender_service_id__in=sender_ids)):
        old = set(before.networks_on(facts.sender_service_id, facts.sent_on))
        new = set(after.networks_on(facts.sender_service_id, facts.sent_on))
        if old == new:
            continue
        for key, measures in contributions(facts, sorted(new - old)).items():
            _add(delta[key], measures)
        for key, measures in contributions(facts, sorted(old - new)).items():
            _add(delta[key], measures, sign=-1)
    counts_add(delta)


def _affected_senders(instance):
    """The services whose network days a convention or a membership decides, as saved in the database."""
    if isinstance(instance, Convention):
        return list(
            ConventionMembership.objects.filter(convention=instance).values_list("service_id", flat=True)
        )
    saved = ConventionMembership.objects.filter(pk=instance.pk).values_list("service_id", flat=True).first()
    return sorted({instance.service_id, saved} - {None})


def network_days_before_change(sender, instance, **kwargs):
    """pre_save / pre_delete of a convention or a membership: remember its senders' network days."""
    if instance.pk:
        senders = _affected_senders(instance)
    else:  # a new convention has no members yet
        senders = [instance.service_id] if isinstance(instance, ConventionMembership) else []
    instance._insight_before = (senders, NetworkCalendar(senders))


def network_days_changed(sender, instance, **kwargs):
    """post_save / post_delete: recount the referrals of the senders whose network days changed."""
    senders, before = getattr(instance, "_insight_before", (None, None))
    if senders:
        senders_recount(senders, before)
