"""Issue and check personal links; count requests to rate-limit the pages they open.

Why no library: django-sesame signs tokens that log a *user* in, and the people we write to have
no account; a random token from ``secrets`` of which we store only the SHA-256 (as DORA and
les-emplois do) is all a link needs, and the database row gives expiry, the target object and the
address it was sent to. django-ratelimit needs memcached or Redis to count across processes; the
embedded default has neither, so requests are counted in the database, atomically.
"""

import datetime
import hashlib
import re
import secrets
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.shortcuts import render
from django.utils import timezone

from .models import AccessLink, RateCounter

_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def link_create(*, purpose, service, email, referral=None, valid_days=None, now=None):
    """A new personal link; returns (AccessLink, token). The token is to be e-mailed, never stored."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    link = AccessLink.objects.create(
        purpose=purpose,
        token_hash=_hash(token),
        service=service,
        referral=referral,
        email=email,
        created_at=now,
        expires_at=now + datetime.timedelta(days=valid_days or settings.ACCESS_LINK_VALID_DAYS),
    )
    return link, token


@dataclass(frozen=True)
class LinkCheck:
    link: AccessLink | None
    state: str  # "valid", "expired" or "unknown"

    @property
    def is_valid(self):
        return self.state == "valid"


def link_check(token, *, purpose, now=None, related=()):
    """What a token opens: its link and whether it is still valid. Malformed, tampered or unknown
    tokens, and tokens of another purpose, are all simply "unknown". ``related``: more relations of
    the link to load in the same query (what the page shows)."""
    if not isinstance(token, str) or not _TOKEN_FORMAT.match(token):
        return LinkCheck(None, "unknown")
    link = (
        AccessLink.objects.select_related("service", "referral", *related)
        .filter(token_hash=_hash(token), purpose=purpose)
        .first()
    )
    if link is None:
        return LinkCheck(None, "unknown")
    return LinkCheck(link, "expired" if link.is_expired(now) else "valid")


def link_touch(link, *, now=None):
    AccessLink.objects.filter(pk=link.pk).update(last_used_at=now or timezone.now())


def rate_limit_exceeded(key, *, limit, window_seconds, now=None):
    """Count one request for ``key`` in the current window; True once more than ``limit`` were made."""
    now = now or timezone.now()
    window = datetime.datetime.fromtimestamp(
        int(now.timestamp()) // window_seconds * window_seconds, tz=datetime.UTC
    )
    key = key[:200]
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window_start=window).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=window, count=1)
            except IntegrityError:  # another process created it meanwhile
                RateCounter.objects.filter(key=key, window_start=window).update(count=F("count") + 1)
        count = (
            RateCounter.objects.filter(key=key, window_start=window).values_list("count", flat=True).first()
        )
    return count > limit


def rate_counters_prune(*, before=None):
    """Forget counters of past windows (run with the daily commands)."""
    before = before or timezone.now() - datetime.timedelta(days=1)
    return RateCounter.objects.filter(window_start__lt=before).delete()[0]


def too_many_requests(request, scope):
    """Count this request of its client (the address django-axes resolves, proxies included) for
    ``scope``; a French 429 page once over LINK_RATE_LIMIT_PER_HOUR, else None."""
    key = f"{scope}:{get_client_ip_address(request) or 'unknown'}"
    if rate_limit_exceeded(key, limit=settings.LINK_RATE_LIMIT_PER_HOUR, window_seconds=3600):
        return render(request, "429.html", status=429)
    return None


def links_prune(*, now=None, keep_days=30):
    """Forget links expired more than ``keep_days`` ago and past request counters. Returns counts."""
    now = now or timezone.now()
    links = AccessLink.objects.filter(expires_at__lt=now - datetime.timedelta(days=keep_days)).delete()[0]
    return {"links": links, "counters": rate_counters_prune(before=now - datetime.timedelta(days=1))}


def link_open(
    request,
    token,
    *,
    purpose,
    scope,
    unknown_template,
    expired_template=None,
    related=(),
    expired_context=None,
    accept_expired=False,
):
    """What a public link page opens: ``(LinkCheck, None)`` for a valid link, else ``(None, response)``
    with the French page to show instead — 429 (too many requests from this client), 404 (unknown,
    tampered or another purpose's token) or 410 (expired; ``expired_context(link)`` adds to its context).
    ``accept_expired``: an expired link is opened too (the "send me a fresh link" pages).
    """
    limited = too_many_requests(request, scope)
    if limited is not None:
        return None, limited
    check = link_check(token, purpose=purpose, related=related)
    if check.state == "unknown":
        return None, render(request, unknown_template, status=404)
    if check.state == "expired" and not accept_expired:
        context = {"token": token, **(expired_context(check.link) if expired_context else {})}
        return None, render(request, expired_template, context, status=410)
    return check, None
