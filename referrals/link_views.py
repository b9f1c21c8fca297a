"""Pages opened without an account, from the personal link e-mailed to a receiving service.

Separate from views.py because every view here is public (``login_not_required``): each one is
rate-limited per client address, loads nothing but the one referral its token opens, and answers
a French page for unknown, tampered or expired links — never a 500, never another referral's data.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition, can_proceed

from reseau.links.models import LinkPurpose
from reseau.links.services import link_check, link_open, link_touch

from .forms import CommentForm, RefusalForm
from .notifications import notify_receiver, notify_sender

RATE_SCOPE = "referral-answer-link"
# What the answer page shows of the referral, loaded with the link in one query.
REFERRAL_RELATED = (
    "referral__case__service__organisation",
    "referral__case__commune",
    "referral__service__organisation",
)
LINK_ACTIONS = {
    # URL slug: (transition, success message)
    "accepter": ("accept", "Merci : l'orientation est acceptée, le service orienteur est prévenu."),
    "refuser": ("refuse", "Merci : l'orientation est refusée, le service orienteur est prévenu."),
    "etudier": (
        "review",
        "Merci : l'orientation est notée « en cours d'étude », le service orienteur est prévenu.",
    ),
}


def _open(request, token):
    """(LinkCheck, None), or (None, the page to show instead of the referral)."""
    return link_open(
        request,
        token,
        purpose=LinkPurpose.REFERRAL_ANSWER,
        scope=RATE_SCOPE,
        unknown_template="referrals/link_unknown.html",
        expired_template="referrals/link_expired.html",
        related=REFERRAL_RELATED,
        expired_context=lambda link: {"can_renew": link.referral.is_awaiting_answer},
    )


def _page(request, check, token, *, status=200, **extra):
    referral = check.link.referral
    context = {
        "referral": referral,
        "token": token,
        "needs": referral.needs.order_by("label"),
        "publics": referral.case.publics.order_by("label"),
        "can_answer": can_proceed(referral.accept),
        "can_review": can_proceed(referral.review),
        "review_days": settings.REFERRAL_REVIEW_EXPIRY_DAYS,
        "comment_form": extra.pop("comment_form", None) or CommentForm(),
        "refusal_form": extra.pop("refusal_form", None) or RefusalForm(),
        **extra,
    }
    return render(request, "referrals/link_answer.html", context, status=status)


@login_not_required
@never_cache
@require_GET
def answer_link(request, token):
    check, refused = _open(request, token)
    if refused is not None:
        return refused
    link_touch(check.link)
    return _page(request, check, token)


@login_not_required
@never_cache
@require_POST
def answer_link_action(request, token, action):
    check, refused = _open(request, token)
    if refused is not None:
        return refused
    if action not in LINK_ACTIONS:
        return _page(request, check, token, status=404, answer_error="Action inconnue.")
    referral = check.link.referral
    method_name, success = LINK_ACTIONS[action]
    method = getattr(referral, method_name)
    # At most one answer per state: the page posts the status it showed.
    if request.POST.get("status") != referral.status or not can_proceed(method):
        return _page(
            request,
            check,
            token,
            status=409,
            answer_error="Cette orientation a changé depuis l'affichage de la page : voici son état actuel.",
        )
    comment_form = CommentForm(request.POST)
    kwargs = {}
    if method_name == "refuse":
        refusal_form = RefusalForm(request.POST)
        if not refusal_form.is_valid():
            return _page(request, check, token, status=400, refusal_form=refusal_form)
        kwargs = {
            "reason": refusal_form.cleaned_data["reason"],
            "details": refusal_form.cleaned_data["details"],
        }
        comment = refusal_form.cleaned_data["details"]
    elif not comment_form.is_valid():
        return _page(request, check, token, status=400, comment_form=comment_form)
    else:
        comment = comment_form.cleaned_data["comment"]
    try:
        with transaction.atomic():
            method(by=None, via_email=check.link.email, comment=comment, **kwargs)
            notify_sender(referral)
    except ConcurrentTransition:
        check = link_check(token, purpose=LinkPurpose.REFERRAL_ANSWER, related=REFERRAL_RELATED)
        return _page(
            request,
            check,
            token,
            status=409,
            answer_error="Cette orientation a changé entre-temps : voici son état actuel.",
        )
    link_touch(check.link)
    messages.success(request, success)
    return redirect("referrals:answer_link", token=token)


@login_not_required
@never_cache
@require_POST
def answer_link_renew(request, token):
    """An expired link: send a fresh one to the same address (never shown on screen)."""
    check, refused = link_open(
        request,
        token,
        purpose=LinkPurpose.REFERRAL_ANSWER,
        scope=RATE_SCOPE,
        unknown_template="referrals/link_unknown.html",
        accept_expired=True,
    )
    if refused is not None:
        return refused
    referral = check.link.referral
    if not referral.is_awaiting_answer:
        return render(
            request, "referrals/link_expired.html", {"token": token, "can_renew": False}, status=410
        )
    with transaction.atomic():
        notify_receiver(referral, "new_link", emails=[check.link.email])
    return render(request, "referrals/link_renewed.html")
