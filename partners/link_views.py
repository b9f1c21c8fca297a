"""Pages opened without an account, from the personal link e-mailed to a service to keep its listing.

Separate from views.py because every view here is public (``login_not_required``): each one is
rate-limited per client address, opens nothing but the one service its token was issued for (no
service id is ever read from the request), and answers a French page for unknown, tampered or
expired links — never a 500, never another service's listing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from reseau.links.models import LinkPurpose
from reseau.links.services import link_open, link_touch

from .forms import LISTING_CONFIRMED, LISTING_SAVED, ListingForm
from .services import listing_link_send, listing_update, listing_verify

RATE_SCOPE = "service-listing-link"


def _open(request, token):
    """(LinkCheck, None), or (None, the page to show instead of the listing)."""
    return link_open(
        request,
        token,
        purpose=LinkPurpose.SERVICE_LISTING,
        scope=RATE_SCOPE,
        unknown_template="partners/listing_link_unknown.html",
        expired_template="partners/listing_link_expired.html",
        related=("service__organisation",),
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def listing_link(request, token):
    check, refused = _open(request, token)
    if refused is not None:
        return refused
    service = check.link.service
    form = ListingForm.for_service(service, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        listing_update(service=service, data=form.cleaned_data, link=check.link)
        link_touch(check.link)
        messages.success(request, LISTING_SAVED)
        return redirect("partners:listing_link", token=token)
    if request.method == "GET":
        link_touch(check.link)
    return render(
        request,
        "partners/listing_link.html",
        {
            "service": service,
            "form": form,
            "token": token,
            "is_stale": service.is_stale(),
            "open_reports": service.error_reports.open_for_service(),
        },
        status=400 if form.is_bound else 200,
    )


@login_not_required
@never_cache
@require_POST
def listing_link_confirm(request, token):
    check, refused = _open(request, token)
    if refused is not None:
        return refused
    listing_verify(service=check.link.service, link=check.link)
    link_touch(check.link)
    messages.success(request, LISTING_CONFIRMED)
    return redirect("partners:listing_link", token=token)


@login_not_required
@never_cache
@require_POST
def listing_link_renew(request, token):
    """A fresh link e-mailed to the address the link was sent to (never shown on screen)."""
    check, refused = link_open(
        request,
        token,
        purpose=LinkPurpose.SERVICE_LISTING,
        scope=RATE_SCOPE,
        unknown_template="partners/listing_link_unknown.html",
        accept_expired=True,
    )
    if refused is not None:
        return refused
    listing_link_send(service=check.link.service, email=check.link.email, event="renewed")
    return render(request, "partners/listing_link_renewed.html")
