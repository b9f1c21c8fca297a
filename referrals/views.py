from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import ConcurrentTransition, can_proceed

from partners.cards import CAPACITY_LABELS, detail_url_of
from partners.communes import worker_point
from partners.fields import INVALID_CHOICE, parse_id
from partners.models import Domain, Service
from partners.partnerships import Partnerships

from .enums import CaseStatus, ReferralStatus
from .forms import RADIUS_MESSAGE, REASON_CHOICES, CaseForm, CommentForm, ReferralMessageForm, RefusalForm
from .insight import uncovered_needs_record
from .models import (
    CASE_CLOSED_MESSAGE,
    DUPLICATE_REFERENCE_MESSAGE,
    RADIUS_CHOICES_KM,
    Case,
    CaseStateError,
    Referral,
    ReferralEvent,
)
from .notifications import notify_receiver, notify_sender
from .routing import format_km
from .routing_data import ALL_PUBLICS_CODE, routing_for_case
from .services import ReferralRejected, ReferralRequest, referral_preview, referrals_create

ROUTING_RADII = RADIUS_CHOICES_KM
MAX_ADVANTAGES_SHOWN = 6
PUBLICS_SHOWN = 3


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
        .prefetch_related(
            Prefetch("needs", queryset=Domain.objects.order_by("label")),
            # Each referral's status is shown as a badge: one query for all of them, whatever their number.
            Prefetch(
                "referrals", queryset=Referral.objects.select_related("service").order_by("created_at", "pk")
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


def _save_case(form, *, check_open=False):
    """Saves the case and its needs and publics in one transaction; returns an HTTP status on failure.

    A reference taken meanwhile by a colleague (the unique constraint) is a 409 with the message next
    to the field; a case closed meanwhile is a CaseStateError.
    """
    try:
        with transaction.atomic():
            if check_open:
                form.instance.ensure_open(lock=True)
            form.save()
    except IntegrityError:
        if not Case.objects.with_reference(form.instance.service_id, form.instance.reference).exists():
            raise
        form.add_error("reference", DUPLICATE_REFERENCE_MESSAGE)
        return 409
    return None


@require_http_methods(["GET", "POST"])
@worker_required
def case_create(request):
    case = Case(service_id=request.user.service_id, created_by=request.user)
    form = CaseForm(request.POST or None, instance=case, near=worker_point(request.user))
    status = 200
    if request.method == "POST" and form.is_valid():
        status = _save_case(form)
        if status is None:
            target = _refer_target(request)
            if target is not None:
                # Created from a service page's "Orienter vers ce service": back there, the new case first.
                messages.success(
                    request, f"Situation {case.reference} enregistrée : orientez-la vers ce service."
                )
                return redirect(reverse("partners:service_detail", args=[target]) + "#orienter")
            messages.success(request, f"Situation {case.reference} enregistrée.")
            return redirect("referrals:case_routing", pk=case.pk)
        case.pk = None  # rolled back
    elif form.errors:
        status = 400
    return render(request, "referrals/case_form.html", {"form": form, "notes_warning": True}, status=status)


def _refer_target(request):
    """The service a new case is created for (``?vers=<id>`` from its page), if it is an active service."""
    service_id = parse_id(request.GET.get("vers"))
    if service_id is None or not Service.objects.active().filter(pk=service_id).exists():
        return None
    return service_id


def _load_case(request, pk):
    return get_object_or_404(Case.objects.for_user(request.user).select_related("commune", "service"), pk=pk)


@require_http_methods(["GET", "POST"])
@worker_required
def case_update(request, pk):
    case = _load_case(request, pk)
    if not case.is_open:
        return _case_refused(request, case, CASE_CLOSED_MESSAGE)
    form = CaseForm(request.POST or None, instance=case, near=worker_point(request.user))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            status = _save_case(form, check_open=True)
        except CaseStateError as error:
            return _case_refused(request, _load_case(request, pk), str(error))
        if status is None:
            messages.success(request, "Situation mise à jour.")
            return redirect("referrals:case_detail", pk=case.pk)
    elif form.errors:
        status = 400
    return render(request, "referrals/case_form.html", {"form": form, "case": case}, status=status)


def _case_refused(request, case, message):
    """What the case's status does not allow: a GET goes back to the case page with the message,
    a POST gets the case page with the message and a 409 (nothing was written)."""
    if request.method == "GET":
        messages.warning(request, message)
        return redirect("referrals:case_detail", pk=case.pk)
    context = _case_detail_context(case, case_error=message)
    return render(request, "referrals/case_detail.html", context, status=409)


@require_GET
@worker_required
def case_detail(request, pk):
    case = _load_case(request, pk)
    return render(request, "referrals/case_detail.html", _case_detail_context(case))


def _case_detail_context(case, **extra):
    referrals = (
        case.referrals.select_related("service__organisation", "convention", "sender")
        .prefetch_related(
            Prefetch("needs", queryset=Domain.objects.order_by("label")),
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor")),
        )
        .order_by("-created_at", "-pk")
    )
    needs = list(case.needs.order_by("label"))
    referrals = list(referrals)
    for referral in referrals:
        # Refused or expired: routing again on the needs it was for (those still in the case).
        reroute = [n.pk for n in referral.needs.all() if n in needs] if case.is_open else []
        referral.reroute_count = len(reroute)
        referral.reroute_url = (
            reverse("referrals:case_routing", args=[case.pk])
            + "?"
            + urlencode([("besoin", n) for n in reroute])
            if reroute and referral.may_be_rerouted
            else ""
        )
    return {
        "case": case,
        "needs": needs,
        "publics": case.publics.order_by("label"),
        "referrals": referrals,
        "case_error": "",
        **extra,
    }


@require_POST
@worker_required
def case_close(request, pk):
    case = _load_case(request, pk)
    try:
        case.close()
    except CaseStateError as error:
        return _case_refused(request, case, str(error))
    messages.success(request, "Situation clôturée. Elle sera effacée après la durée de conservation.")
    return redirect("referrals:case_detail", pk=case.pk)


@require_POST
@worker_required
def case_reopen(request, pk):
    case = _load_case(request, pk)
    try:
        case.reopen()
    except CaseStateError as error:
        return _case_refused(request, case, str(error))
    messages.success(request, "Situation rouverte.")
    return redirect("referrals:case_detail", pk=case.pk)


# --- Routing and referring -----------------------------------------------------------------------


def _routing_error(request, case, status=400, **context):
    context = {
        "case": case,
        "error": "",
        "radius_error": "",
        "radius": case.radius_km,
        "need_ids": (),
        "routed_needs": [],
        **context,
    }
    return render(request, "referrals/case_routing.html", {"radii": ROUTING_RADII, **context}, status=status)


def _routing_needs(request, case):
    """The needs to route: every need of the case, or those named by ``besoin`` (after a refusal).

    Returns (need ids or None for all, error message)."""
    raw = request.GET.getlist("besoin")
    if not raw:
        return None, ""
    wanted = {parse_id(value) for value in raw}
    if None in wanted or not wanted <= set(case.needs.values_list("pk", flat=True)):
        return None, "Besoin inconnu : choisissez un besoin de la situation."
    return wanted, ""


def _publics_text(publics):
    """Who a service is for, in a few words, from its publics as (code, label) sorted by label:
    "Tous publics" when it does not restrict its public."""
    labels = [label for code, label in publics if code != ALL_PUBLICS_CODE]
    if not labels or len(labels) < len(publics):
        return "Tous publics"
    if len(labels) > PUBLICS_SHOWN:
        more = len(labels) - PUBLICS_SHOWN
        return f"{', '.join(labels[:PUBLICS_SHOWN])} et {more} autre{'s' if more > 1 else ''}"
    return ", ".join(labels)


def _notes_by_service(notes):
    """Notes about the same outside service merged: [(note row, [sentences])]."""
    merged = {}
    for note in notes:
        merged.setdefault(note["service"].pk, (note, []))[1].append(note["advantage"].sentence())
    return list(merged.values())


@require_GET
@worker_required
def case_routing(request, pk):
    case = _load_case(request, pk)
    if not case.is_open:
        return _case_refused(request, case, CASE_CLOSED_MESSAGE)
    if case.commune is None or case.commune.latitude is None:
        return _routing_error(
            request, case, error="Indiquez le lieu de vie de la situation pour proposer des orientations."
        )
    need_ids, need_error = _routing_needs(request, case)
    if need_error:
        return _routing_error(request, case, error=need_error)
    radius = parse_id(request.GET.get("rayon") or case.radius_km)
    if radius not in ROUTING_RADII:
        return _routing_error(request, case, radius_error=RADIUS_MESSAGE, need_ids=need_ids or ())
    partnerships = Partnerships.for_request(request)
    # The latest referral to each service, and the needs already being taken care of (pending ones).
    referred, handled = case.referrals.routing_history()
    result = routing_for_case(
        case,
        radius_km=radius,
        official_ids=partnerships.partner_ids,
        limit=1,
        need_ids=need_ids,
        referred_ids=frozenset(referred),
    )
    uncovered_needs_record(case=case, need_ids=result.uncovered)  # insight: needs with no service

    def labels(need_ids):
        return sorted((result.needs[n] for n in need_ids), key=lambda d: d.label)

    detail_url = detail_url_of()  # one reverse() for the page's links, as the result cards do

    def row(candidate, **extra):
        service = result.services[candidate.id]
        return {
            "service": service,
            "url": detail_url(candidate.id),
            "capacity_label": CAPACITY_LABELS.get(service.capacity_status, service.capacity_status),
            "candidate": candidate,
            "conventions": partnerships.conventions_with(candidate.id),
            "publics": _publics_text(result.publics.get(candidate.id, ())),
            "distance": "" if candidate.distance_km is None else format_km(candidate.distance_km),
            "referral": referred.get(candidate.id),
            **extra,
        }

    in_best = {c.id for c in result.proposals[0].services} if result.proposals else set()
    # The strongest note per need and kind is enough to make the point; more would bury the proposal.
    # A note about a service already in the proposal says nothing the proposal does not.
    notes, seen = [], set()
    for advantage in result.advantages:
        key = (advantage.need, advantage.kind)
        if key in seen or advantage.outside.id in in_best or len(notes) >= MAX_ADVANTAGES_SHOWN:
            continue
        seen.add(key)
        notes.append(row(advantage.outside, advantage=advantage, need=result.needs[advantage.need]))
    best = None
    if result.proposals:
        proposal = result.proposals[0]
        best = {
            "proposal": proposal,
            "rows": [
                row(
                    a.candidate,
                    covers=labels(a.covers),
                    stale=result.services[a.candidate.id].is_stale(),
                    # A need already referred elsewhere (awaiting an answer or accepted) is not sent twice
                    # unless the worker ticks it.
                    already_handled=a.covers <= handled,
                    # Each note sits under the service of the proposal taking its need, one pick per
                    # outside service.
                    notes=_notes_by_service([n for n in notes if n["advantage"].need in a.covers]),
                )
                for a in proposal.assignments
            ],
        }
    alternatives = [
        {
            "need": need,
            "rows": [
                row(candidate, also=labels((candidate.needs & set(result.needs)) - {need.pk}))
                for candidate in result.alternatives.get(need.pk, ())
            ],
        }
        for need in labels(set(result.needs) - result.uncovered)
    ]
    return render(
        request,
        "referrals/case_routing.html",
        {
            "case": case,
            "error": "",
            "radius_error": "",
            "radius": radius,
            "radii": ROUTING_RADII,
            "need_ids": sorted(need_ids or ()),
            "routed_needs": labels(result.needs) if need_ids else [],
            "best": best,
            "notes": notes,
            "alternatives": alternatives,
            "uncovered": labels(result.uncovered),
            "candidate_count": result.candidate_count,
        },
    )


def _requests_from_post(post):
    """The services ticked, with the reasons given, and every service listed on the confirm page
    (ticked or not, in order); returns (requests, listed ids, values that are not ids)."""
    requests, listed, invalid = {}, {}, []
    for field in ("services", "listed"):
        for raw_id in post.getlist(field):
            service_id = parse_id(raw_id)
            if service_id is None:
                invalid.append(raw_id)
                continue
            listed[service_id] = None
            if field == "services" and service_id not in requests:
                requests[service_id] = ReferralRequest(
                    service_id=service_id,
                    reason=post.get(f"reason_{service_id}", ""),
                    details=post.get(f"details_{service_id}", ""),
                )
    return list(requests.values()), list(listed), invalid


@require_POST
@worker_required
def case_refer(request, pk):
    """Two steps on one URL: review (classification shown, reasons asked), then confirm (all or nothing).

    The confirm page lists every service picked, each with a box the worker may untick; only the
    ticked ones are sent, and an error is shown next to the service it concerns.
    """
    case = _load_case(request, pk)
    if not case.is_open:
        return _case_refused(request, case, CASE_CLOSED_MESSAGE)
    requests, listed, invalid = _requests_from_post(request.POST)
    referred = case.referrals.latest_by_service()
    confirming = request.POST.get("confirm") == "1"
    if not confirming:
        # A service with a referral still open for this case cannot be sent again: listed, unticked.
        requests = [
            r for r in requests if not (r.service_id in referred and referred[r.service_id].is_pending)
        ]
    errors = {}
    message_form = ReferralMessageForm.for_service(case.service, request.POST if confirming else None)
    if invalid:
        errors[None] = INVALID_CHOICE % {"value": invalid[0][:30]}
    elif not listed:
        errors[None] = "Choisissez au moins un service."
    elif confirming and not requests:
        errors[None] = "Cochez au moins un service à orienter."
    elif confirming and not message_form.is_valid():
        errors[None] = "Corrigez le message ou les coordonnées ci-dessous."
    elif confirming:
        try:
            referrals = referrals_create(
                case=case, requests=requests, user=request.user, **message_form.cleaned_data
            )
        except CaseStateError as error:
            return _case_refused(request, _load_case(request, pk), str(error))
        except ReferralRejected as rejected:
            errors = dict(rejected.errors_by_service)
        else:
            count = len(referrals)
            plural = "s" if count > 1 else ""
            messages.success(request, f"{count} orientation{plural} envoyée{plural}.")
            return redirect("referrals:case_detail", pk=case.pk)
    preview = referral_preview(case=case, service_ids=listed) if listed else []
    by_id = {r.service_id: r for r in requests}
    missing = set(listed) - {service.pk for service, _, _ in preview}
    if missing:
        # Unknown or deactivated meanwhile: said plainly, and left out of the form shown again.
        errors.setdefault(
            None,
            "Un service choisi n'existe pas ou n'est plus actif : il a été retiré de la liste ci-dessous.",
        )
    if errors and None not in errors:
        errors[None] = "Rien n'a été envoyé : corrigez ou décochez les services signalés ci-dessous."
    needs = {d.pk: d for d in case.needs.all()}
    rows = [
        {
            "service": service,
            "covers": sorted((needs[n] for n in covered if n in needs), key=lambda d: d.label),
            "result": result,
            "ticked": service.pk in by_id,
            "request": by_id.get(service.pk)
            or ReferralRequest(
                service_id=service.pk,
                reason=request.POST.get(f"reason_{service.pk}", ""),
                details=request.POST.get(f"details_{service.pk}", ""),
            ),
            "referral": referred.get(service.pk),
            "error": errors.get(service.pk, ""),
        }
        for service, covered, result in preview
    ]
    return render(
        request,
        "referrals/case_refer.html",
        {
            "case": case,
            "rows": rows,
            "ticked_count": sum(1 for row in rows if row["ticked"]),
            "general_error": errors.get(None, ""),
            "reasons": REASON_CHOICES,
            "message_form": message_form,
        },
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
        "publics": referral.case.publics.order_by("label"),
        "review_days": settings.REFERRAL_REVIEW_EXPIRY_DAYS,
        "events": referral.events.select_related("actor"),
        "is_receiver": is_receiver,
        "is_sender": is_sender,
        "can_answer": is_receiver and can_proceed(referral.accept),
        "can_review": is_receiver and can_proceed(referral.review),
        "can_complete": (is_receiver or is_sender) and can_proceed(referral.complete),
        "can_cancel": is_sender and can_proceed(referral.cancel),
        "refusal_form": extra.pop("refusal_form", None) or RefusalForm(),
        "comment_form": extra.pop("comment_form", None) or CommentForm(),
        **extra,
    }


ACTIONS = {
    # URL slug: (transition method, who may do it, success message)
    "accepter": ("accept", "receiver", "Orientation acceptée : le service orienteur est prévenu."),
    "etudier": ("review", "receiver", "Orientation mise à l'étude : le service orienteur est prévenu."),
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
    if not comment_form.is_valid():  # too long: said next to the field, and no transition
        # Only the acceptance form shows the comment field; elsewhere the message goes on top.
        error = "" if action == "accept" else f"Commentaire : {comment_form.errors['comment'][0]}"
        context = _referral_context(request, referral, comment_form=comment_form, transition_error=error)
        return render(request, "referrals/referral_detail.html", context, status=400)
    comment = comment_form.cleaned_data["comment"]
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
    if action == "cancel":
        notify_receiver(referral, "cancelled")
    else:
        notify_sender(referral)
    messages.success(request, success)
    return redirect("referrals:referral_detail", pk=referral.pk)


def _refused(request, referral, message):
    context = _referral_context(request, referral, transition_error=message)
    return render(request, "referrals/referral_detail.html", context, status=409)
