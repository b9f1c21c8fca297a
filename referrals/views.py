from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import ConcurrentTransition, can_proceed

from partners.models import Domain
from partners.partnerships import Partnerships

from .enums import CaseStatus, Classification, ReferralStatus
from .forms import REASON_CHOICES, CaseForm, CommentForm, RefusalForm
from .insight import uncovered_needs_record
from .models import Case, Referral, ReferralEvent
from .routing_data import routing_for_case
from .services import (
    ReferralRejected,
    ReferralRequest,
    notify_referral_answered,
    referral_preview,
    referrals_create,
)

ROUTING_RADII = [5, 10, 20, 50, 100]
MAX_ADVANTAGES_SHOWN = 6


def worker_required(view):
    """Cases and referrals belong to a service: a user without one gets a 403, not an empty page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.service_id:
            raise PermissionDenied("Votre compte n'est rattaché à aucun service.")
        return view(request, *args, **kwargs)

    return wrapper


# --- Cases ----------------------------------------------------------------------------------------


@require_GET
@worker_required
def case_list(request):
    status = request.GET.get("statut", CaseStatus.OPEN)
    if status not in CaseStatus.values:
        status = CaseStatus.OPEN
    cases = (
        Case.objects.for_user(request.user)
        .filter(status=status)
        .select_related("commune")
        .prefetch_related(Prefetch("needs", queryset=Domain.objects.order_by("label")))
        .annotate(
            referral_count=Count("referrals"),
            flagged_count=Count(
                "referrals", filter=Q(referrals__classification=Classification.OFF_CONVENTION)
            ),
        )
    )
    counts = dict(
        Case.objects.for_user(request.user)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return render(
        request,
        "referrals/case_list.html",
        {
            "cases": cases,
            "status": status,
            "tabs": [(v, label, counts.get(v, 0)) for v, label in CaseStatus.choices],
        },
    )


@require_http_methods(["GET", "POST"])
@worker_required
def case_create(request):
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.service_id = request.user.service_id
        form.instance.created_by = request.user
        case = form.save()
        messages.success(request, f"Situation {case.reference} enregistrée.")
        return redirect("referrals:case_routing", pk=case.pk)
    status = 400 if form.errors else 200
    return render(request, "referrals/case_form.html", {"form": form, "notes_warning": True}, status=status)


def _load_case(request, pk):
    return get_object_or_404(Case.objects.for_user(request.user).select_related("commune", "service"), pk=pk)


@require_http_methods(["GET", "POST"])
@worker_required
def case_update(request, pk):
    case = _load_case(request, pk)
    form = CaseForm(request.POST or None, instance=case)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Situation mise à jour.")
        return redirect("referrals:case_detail", pk=case.pk)
    status = 400 if form.errors else 200
    return render(request, "referrals/case_form.html", {"form": form, "case": case}, status=status)


@require_GET
@worker_required
def case_detail(request, pk):
    case = _load_case(request, pk)
    referrals = (
        case.referrals.select_related("service__organisation", "convention", "sender")
        .prefetch_related(
            Prefetch("needs", queryset=Domain.objects.order_by("label")),
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor")),
        )
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "referrals/case_detail.html",
        {
            "case": case,
            "needs": case.needs.order_by("label"),
            "publics": case.publics.order_by("label"),
            "referrals": referrals,
        },
    )


@require_POST
@worker_required
def case_close(request, pk):
    case = _load_case(request, pk)
    if case.is_open:
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=timezone.now())
        messages.success(request, "Situation clôturée. Elle sera effacée après la durée de conservation.")
    return redirect("referrals:case_detail", pk=case.pk)


@require_POST
@worker_required
def case_reopen(request, pk):
    case = _load_case(request, pk)
    if not case.is_open:
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.OPEN, closed_at=None)
        messages.success(request, "Situation rouverte.")
    return redirect("referrals:case_detail", pk=case.pk)


# --- Routing and referring -----------------------------------------------------------------------


@require_GET
@worker_required
def case_routing(request, pk):
    case = _load_case(request, pk)
    try:
        radius = int(request.GET.get("rayon") or case.radius_km)
    except ValueError:
        radius = None
    if radius not in ROUTING_RADII and radius != case.radius_km:
        return render(
            request,
            "referrals/case_routing.html",
            {
                "case": case,
                "error": "Rayon invalide : choisissez 5, 10, 20, 50 ou 100 km.",
                "radii": ROUTING_RADII,
            },
            status=400,
        )
    if case.commune is None or case.commune.latitude is None:
        return render(
            request,
            "referrals/case_routing.html",
            {
                "case": case,
                "error": "Indiquez le lieu de vie de la situation pour proposer des orientations.",
                "radii": ROUTING_RADII,
            },
            status=400,
        )
    partnerships = Partnerships.for_request(request)
    result = routing_for_case(case, radius_km=radius, official_ids=partnerships.partner_ids)
    uncovered_needs_record(case=case, need_ids=result.uncovered)  # insight: needs with no service
    proposals = [
        {
            "proposal": proposal,
            "rows": [
                {
                    "service": result.services[a.candidate.id],
                    "candidate": a.candidate,
                    "covers": sorted((result.needs[n] for n in a.covers), key=lambda d: d.label),
                    "conventions": partnerships.conventions_with(a.candidate.id),
                    "stale": result.services[a.candidate.id].is_stale(),
                }
                for a in proposal.assignments
            ],
        }
        for proposal in result.proposals
    ]
    # The strongest note per need and kind is enough to make the point; more would bury the proposals.
    advantages, seen = [], set()
    for advantage in result.advantages:
        if (advantage.need, advantage.kind) in seen or len(advantages) >= MAX_ADVANTAGES_SHOWN:
            continue
        seen.add((advantage.need, advantage.kind))
        advantages.append(
            {
                "advantage": advantage,
                "service": result.services[advantage.outside.id],
                "need": result.needs[advantage.need],
            }
        )
    return render(
        request,
        "referrals/case_routing.html",
        {
            "case": case,
            "radius": radius,
            "radii": ROUTING_RADII,
            "proposals": proposals,
            "advantages": advantages,
            "uncovered": sorted((result.needs[n] for n in result.uncovered), key=lambda d: d.label),
            "candidate_count": result.candidate_count,
        },
    )


def _requests_from_post(post):
    requests = []
    for raw_id in post.getlist("services"):
        try:
            service_id = int(raw_id)
        except ValueError:
            continue
        requests.append(
            ReferralRequest(
                service_id=service_id,
                reason=post.get(f"reason_{service_id}", ""),
                details=post.get(f"details_{service_id}", "")[:2000],
            )
        )
    return requests


@require_POST
@worker_required
def case_refer(request, pk):
    """Two steps on one URL: review (classification shown, reasons asked), then confirm (all or nothing)."""
    case = _load_case(request, pk)
    requests = _requests_from_post(request.POST)
    errors = {}
    if request.POST.get("confirm") == "1":
        try:
            referrals = referrals_create(case=case, requests=requests, user=request.user)
        except ReferralRejected as rejected:
            errors = rejected.errors_by_service
        else:
            messages.success(
                request,
                f"{len(referrals)} orientation{'s' if len(referrals) > 1 else ''} envoyée{'s' if len(referrals) > 1 else ''}.",
            )
            return redirect("referrals:case_detail", pk=case.pk)
    elif not requests:
        errors = {None: "Choisissez au moins un service."}
    preview = referral_preview(case=case, service_ids=[r.service_id for r in requests]) if requests else []
    by_id = {r.service_id: r for r in requests}
    needs = {d.pk: d for d in case.needs.all()}
    rows = [
        {
            "service": service,
            "covers": sorted((needs[n] for n in covered if n in needs), key=lambda d: d.label),
            "result": result,
            "request": by_id[service.pk],
            "error": errors.get(service.pk, ""),
        }
        for service, covered, result in preview
    ]
    return render(
        request,
        "referrals/case_refer.html",
        {"case": case, "rows": rows, "general_error": errors.get(None, ""), "reasons": REASON_CHOICES},
        status=400 if errors else 200,
    )


# --- Referrals: inbox and answers ----------------------------------------------------------------


@require_GET
@worker_required
def inbox(request):
    incoming = Referral.objects.incoming_for(request.user)
    counts = dict(incoming.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    status = request.GET.get("statut", ReferralStatus.SENT)
    if status not in ReferralStatus.values:
        status = ReferralStatus.SENT
    referrals = (
        incoming.filter(status=status)
        .select_related("case__service__organisation", "case__commune")
        .prefetch_related(Prefetch("needs", queryset=Domain.objects.order_by("label")))
        .order_by("sent_at", "pk")
    )
    tabs = [
        (value, label, counts.get(value, 0))
        for value, label in ReferralStatus.choices
        if value != ReferralStatus.DRAFT
    ]
    return render(request, "referrals/inbox.html", {"referrals": referrals, "status": status, "tabs": tabs})


def _load_referral(request, pk):
    return get_object_or_404(
        Referral.objects.for_user(request.user).select_related(
            "case__service__organisation", "case__commune", "service__organisation", "convention", "sender"
        ),
        pk=pk,
    )


@require_GET
@worker_required
def referral_detail(request, pk):
    referral = _load_referral(request, pk)
    return render(request, "referrals/referral_detail.html", _referral_context(request, referral))


def _referral_context(request, referral, **extra):
    is_receiver = referral.service_id == request.user.service_id
    is_sender = referral.case.service_id == request.user.service_id
    return {
        "referral": referral,
        "needs": referral.needs.order_by("label"),
        "events": referral.events.select_related("actor"),
        "is_receiver": is_receiver,
        "is_sender": is_sender,
        "can_answer": is_receiver and can_proceed(referral.accept),
        "can_complete": (is_receiver or is_sender) and can_proceed(referral.complete),
        "can_cancel": is_sender and can_proceed(referral.cancel),
        "refusal_form": extra.pop("refusal_form", None) or RefusalForm(),
        "comment_form": CommentForm(),
        **extra,
    }


ACTIONS = {
    # URL slug: (transition method, who may do it, success message)
    "accepter": ("accept", "receiver", "Orientation acceptée : le service orienteur est prévenu."),
    "refuser": ("refuse", "receiver", "Orientation refusée : le service orienteur est prévenu."),
    "terminer": ("complete", "either", "Orientation marquée comme terminée."),
    "annuler": ("cancel", "sender", "Orientation annulée."),
}


@require_POST
@worker_required
def referral_transition(request, pk, action):
    if action not in ACTIONS:
        raise Http404("Action inconnue.")
    referral = _load_referral(request, pk)
    action, who, success = ACTIONS[action]
    is_receiver = referral.service_id == request.user.service_id
    is_sender = referral.case.service_id == request.user.service_id
    allowed = {"receiver": is_receiver, "sender": is_sender, "either": is_receiver or is_sender}[who]
    if not allowed:
        raise PermissionDenied("Cette action ne vous revient pas.")
    method = getattr(referral, action)
    if not can_proceed(method):
        return _refused(
            request, referral, f"Impossible : l'orientation est « {referral.get_status_display()} »."
        )
    comment_form = CommentForm(request.POST)
    comment = comment_form.cleaned_data["comment"] if comment_form.is_valid() else ""
    kwargs = {}
    if action == "refuse":
        refusal_form = RefusalForm(request.POST)
        if not refusal_form.is_valid():
            context = _referral_context(request, referral, refusal_form=refusal_form)
            return render(request, "referrals/referral_detail.html", context, status=400)
        kwargs = {
            "reason": refusal_form.cleaned_data["reason"],
            "details": refusal_form.cleaned_data["details"],
        }
        comment = refusal_form.cleaned_data["details"]
    try:
        method(by=request.user, comment=comment, **kwargs)
    except ConcurrentTransition:
        referral = _load_referral(request, pk)
        return _refused(request, referral, "L'orientation a changé entre-temps : voici son état actuel.")
    if action in {"accept", "refuse"}:
        transaction.on_commit(lambda: notify_referral_answered(referral))
    messages.success(request, success)
    return redirect("referrals:referral_detail", pk=referral.pk)


def _refused(request, referral, message):
    context = _referral_context(request, referral, transition_error=message)
    return render(request, "referrals/referral_detail.html", context, status=409)
