"""What needs a worker's attention: read on the home page and, for the count, in the navigation.

Reads only (querysets of referrals.models); the navigation's count is computed once per request.
"""

import datetime
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from .models import EXPIRY_WARNING_DAYS, Referral, ReferralEvent, expiring_soon_condition

# The home page lists at most this many rows per section; the count says how many there are in all.
HOME_ROWS = 10
# The first visit ever shows the answers of these last days.
FIRST_VISIT_DAYS = 7

_WAITING_ATTRIBUTE = "_reseau_waiting_count"
# What the home page shows of a referral (its deadline comes from status and sent_at): only these columns
# are loaded. A referral's status is always loaded (django-fsm reads it when the row is built).
_REFERRAL_SHOWN = ("status", "sent_at", "service_id", "case__reference")


def waiting_count(request):
    """How many referrals wait for an answer from the user's service: one COUNT, cached on the request."""
    if not hasattr(request, _WAITING_ATTRIBUTE):
        setattr(request, _WAITING_ATTRIBUTE, _count_waiting(request.user))
    return getattr(request, _WAITING_ATTRIBUTE)


# The navigation's COUNT runs on nearly every page. Its statement is compiled once per process from the
# queryset (building and compiling it took ~0.7 ms a page, more than running it); then only the service's
# id changes, put where this marker (a service id no row has) sits among the parameters.
_SERVICE_MARKER = -7_654_321
_waiting_statement = None


def _count_waiting(user) -> int:
    global _waiting_statement
    if not user.is_authenticated or not user.service_id:
        return 0
    if _waiting_statement is None:
        marker_user = SimpleNamespace(is_authenticated=True, service_id=_SERVICE_MARKER)
        query = Referral.objects.incoming_for(marker_user).awaiting_answer().values("pk").query
        sql, params = query.get_compiler(connection.alias).as_sql()
        _waiting_statement = (f"SELECT COUNT(*) FROM ({sql}) waiting", params, params.index(_SERVICE_MARKER))
    sql, params, marker_at = _waiting_statement
    params = list(params)
    params[marker_at] = user.service_id
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


class Navigation:
    """The navigation's figures, each computed on first use (pages that show no navigation pay nothing)."""

    def __init__(self, request):
        self._request = request

    @property
    def waiting(self):
        return waiting_count(self._request)


@dataclass(frozen=True)
class Attention:
    waiting: list  # incoming referrals awaiting an answer, oldest first (HOME_ROWS at most)
    waiting_count: int
    answers: list  # answers to the service's referrals since ``since``, newest first
    since: datetime.datetime
    first_visit: bool
    expiring: list  # unanswered referrals (sent or received) expiring within EXPIRY_WARNING_DAYS
    expiry_warning_days: int = EXPIRY_WARNING_DAYS


def attention_for(request, now=None):
    """The home page's sections for a worker; records the visit (see User.note_home_visit)."""
    now = now or timezone.now()
    user = request.user
    previous_visit = user.note_home_visit(now)
    since = previous_visit or now - datetime.timedelta(days=FIRST_VISIT_DAYS)
    # How many wait for the service and how many expire soon, in one statement over the service's
    # unanswered referrals: a section with none is not read (on most visits, most sections are empty).
    counts = (
        Referral.objects.for_user(user)
        .awaiting_answer()
        .aggregate(
            waiting=Count("pk", filter=Q(service_id=user.service_id)),  # incoming_for, among the unanswered
            expiring=Count("pk", filter=expiring_soon_condition(now)),
        )
    )
    setattr(request, _WAITING_ATTRIBUTE, counts["waiting"])  # the navigation's count: no COUNT of its own
    waiting = (
        list(
            Referral.objects.incoming_for(user)
            .awaiting_answer()
            .select_related("case__service", "case__commune")
            .only(*_REFERRAL_SHOWN, "case__service__name", "case__commune__name")
            .order_by("sent_at", "pk")[:HOME_ROWS]
        )
        if counts["waiting"]
        else []
    )
    answers = list(
        ReferralEvent.objects.answers_for(user)
        .filter(at__gt=since)
        .select_related("referral__service", "referral__case")
        .only("at", "to_status", "referral__status", "referral__service__name", "referral__case__reference")
        .order_by("-at", "-pk")[:HOME_ROWS]
    )
    expiring = (
        list(
            Referral.objects.for_user(user)
            .expiring_soon(now)
            .select_related("service", "case__service")
            .only(*_REFERRAL_SHOWN, "service__name", "case__service__name")
            .order_by("sent_at", "pk")[:HOME_ROWS]
        )
        if counts["expiring"]
        else []
    )
    return Attention(
        waiting=waiting,
        waiting_count=counts["waiting"],
        answers=answers,
        since=since,
        first_visit=previous_visit is None,
        expiring=expiring,
    )
