from typing import NamedTuple
from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from referrals.attention import attention_for
from referrals.models import Case
from reseau.links.services import rate_limit_exceeded, too_many_requests

from .active_filters import active_filters, place_choices, search_centre, search_url
from .cards import detail_url_of, service_cards
from .communes import suggest_communes, worker_point
from .enums import SearchOrder
from .filters import ServiceSearchFilter
from .forms import LISTING_CONFIRMED, LISTING_SAVED, ErrorReportForm, ListingForm
from .models import Domain, Network, Organisation, Service
from .opening_hours import read_opening_hours
from .partnerships import Partnerships
from .reference_lists import SnapshotCache
from .search import SearchParams, search_services
from .services import error_report_create, listing_link_send, listing_update, listing_verify

RESULTS_PER_PAGE = 20


class _PartnerLink(NamedTuple):
    pk: int
    name: str
    organisation_name: str
    url: str


def home(request):
    """The worker's starting point: what needs them (answers, referrals to answer, expiring ones), then
    their service, its conventions in force and its official partners."""
    user = request.user
    own_service = None
    conventions, partners = [], []
    if user.service_id:
        partnerships = Partnerships.for_request(request)
        conventions = [
            {"convention": convention, "member_count": partnerships.member_count(convention)}
            for convention in sorted(partnerships.conventions, key=lambda c: (c.network.name, c.title))
        ]
        # The partners' names are kept with the partnerships (in memory); the worker's own service comes
        # with them (the auth backend loads it with its commune), its organisation's name with the
        # partnerships when it is a member of a convention.
        own_service = user.service
        own_service.organisation_name = partnerships.organisation_name(user.service_id)
        if own_service.organisation_name is None:  # a member of no convention
            own_service.organisation_name = Organisation.objects.values_list("name", flat=True).get(
                pk=own_service.organisation_id
            )
        detail_url = detail_url_of()  # one reverse() for the list, not one a partner
        partners = [
            _PartnerLink(*partner, url=detail_url(partner.pk)) for partner in partnerships.partner_list()
        ]
    networks = (
        list(Network.objects.filter(coordinators=user).only("name", "territory").order_by("name"))
        if user.is_staff
        else []
    )
    return render(
        request,
        "partners/home.html",
        {
            "own_service": own_service,
            "attention": attention_for(request) if user.service_id else None,
            "conventions": conventions,
            "partners": partners,
            "networks": networks,
        },
    )


def _search_params(data, partner_ids, home_commune=None):
    """What to search for, from the form's cleaned data; ``home_commune`` centres a search without a place."""
    centre = search_centre(data, home_commune)
    # A catégorie stands for all its thématiques (the needs rule of partners.models.needs_met_by).
    domain_ids = Domain.objects.meeting(domain.pk for domain in data.get("thematiques") or [])
    order = data.get("tri") or SearchOrder.RELEVANCE
    return SearchParams(
        text=data.get("q") or "",
        domain_ids=tuple(sorted(domain_ids)),
        public_ids=tuple(p.pk for p in data.get("publics") or []),
        latitude=centre.commune.latitude if centre else None,
        longitude=centre.commune.longitude if centre else None,
        radius_km=centre.radius_km if centre else None,
        access_mode_ids=tuple(m.pk for m in data.get("accueil") or []),
        language_ids=(data["langue"].pk,) if data.get("langue") else (),
        hide_full=bool(data.get("disponibles")),
        partner_ids=partner_ids if data.get("partenaires") else None,
        # Without a place there is no distance: sorted by relevance, and the page says so.
        order=SearchOrder.RELEVANCE if order == SearchOrder.DISTANCE and centre is None else order,
    )


@require_GET
@vary_on_headers("HX-Request")
def search(request):
    """The worker's main screen: a plain GET form; with JavaScript (htmx) only the results are swapped.

    Without a place, the search centres on the worker's service's commune (a chip says so; removing
    it searches everywhere).
    """
    filterset = ServiceSearchFilter(
        request.GET or None, queryset=Service.objects.none(), near=worker_point(request.user)
    )
    home_commune = request.user.service_commune
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "searched": bool(request.GET),
        "home_commune": home_commune,
        "fragment": _wants_fragment(request),
        "search_form_html": "",
    }
    if not request.GET and not context["fragment"]:
        context["search_form_html"] = _unbound_search_form_html(filterset.form)
    status = 200
    if request.GET and not filterset.form.is_valid():
        status = 400
    elif request.GET and filterset.form.cleaned_data["place_candidates"]:
        # An ambiguous or partial place: the communes it may mean, each a link to the search there.
        context["place_choices"] = place_choices(request.GET, filterset.form.cleaned_data["place_candidates"])
    elif request.GET:
        data = filterset.form.cleaned_data
        partnerships = Partnerships.for_request(request)
        params = _search_params(data, partnerships.partner_ids, home_commune)
        requested = request.GET.get("page") or 1
        outcome = search_services(params, page=_page_number(requested), per_page=RESULTS_PER_PAGE)
        paginator = Paginator(outcome.queryset, RESULTS_PER_PAGE)
        paginator.count = outcome.count  # already counted by the search: no second COUNT query
        try:
            page = paginator.page(requested)  # checks the number; slicing the queryset runs nothing
            if outcome.page_rows is not None:  # read with the count, in the same statement
                page.object_list = outcome.page_rows
        except PageNotAnInteger:
            page, status = None, 400
            context["page_error"] = "Numéro de page invalide : indiquez un nombre entier."
        except EmptyPage:
            page, status = None, 400
            context["page_error"] = (
                f"Cette page n'existe pas : les résultats tiennent en {paginator.num_pages} page(s)."
            )
        if page is not None:
            services = list(page.object_list)
            context.update(page=page, services=services, cards=service_cards(services, partnerships))
        centre = search_centre(data, home_commune)
        context.update(
            params=params,
            outcome=outcome,
            centre=centre,
            other_communes=place_choices(request.GET, data.get("other_communes") or []),
            active_filters=active_filters(request.GET, data, centre, home_commune),
            order_unavailable=data.get("tri") == SearchOrder.DISTANCE and centre is None,
            # Searching everywhere while the worker has a home commune: the way back to it.
            home_url=search_url(request.GET, drop=["partout"]) if home_commune and not centre else "",
        )
    template = "partners/_search_results.html" if context["fragment"] else "partners/search.html"
    return render(request, template, context, status=status)


# The search form without a search, the same for everyone: rendered once per snapshot of the reference lists.
_UNBOUND_SEARCH_FORM = SnapshotCache()


def _unbound_search_form_html(form):
    return _UNBOUND_SEARCH_FORM.get(
        None, lambda: render_to_string("partners/_search_form.html", {"form": form})
    )


def _page_number(value):
    """The page asked for, if it is a page number (the paginator words the errors)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


def _wants_fragment(request):
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
def commune_suggestions(request):
    """<option>s for the place field's datalist (htmx): communes near the worker's service first."""
    text = request.GET.get("lieu") or request.GET.get("place") or ""
    communes = suggest_communes(text, near=worker_point(request.user))
    return render(request, "partners/_commune_options.html", {"communes": communes})


def service_detail(request, pk):
    service = get_object_or_404(
        Service.objects.active()
        .select_related("organisation", "commune")
        .prefetch_related("domains__parent", "publics", "access_modes", "languages", "fees", "service_types"),
        pk=pk,
    )
    shared_conventions = Partnerships.for_request(request).conventions_with(service.pk)
    open_cases = (
        list(Case.objects.for_user(request.user).open().only("pk", "reference")[:OPEN_CASES_SHOWN])
        if request.user.service_id
        else []
    )
    return render(
        request,
        "partners/service_detail.html",
        {
            "service": service,
            "shared_conventions": shared_conventions,
            "is_stale": service.is_stale(),
            "hours": read_opening_hours(service.opening_hours),
            "directions_url": _directions_url(service),
            "open_cases": open_cases,
            "results_url": _results_url(request),
        },
    )


# "Orienter vers ce service" lists the worker's most recent open cases (the case list has the others).
OPEN_CASES_SHOWN = 20


def _directions_url(service):
    """Directions on OpenStreetMap: to the service's point, or else to its address as text."""
    if service.latitude is not None and service.longitude is not None:
        return f"https://www.openstreetmap.org/directions?to={service.latitude}%2C{service.longitude}"
    if service.address and service.commune_id:
        place = f"{service.address}, {service.postcode} {service.commune.name}"
        return f"https://www.openstreetmap.org/search?query={quote(place)}"
    return ""


def _results_url(request):
    """Back to the results the worker came from, search words and filters kept: the page that linked here
    (Referer), only if it is our own search page; otherwise None."""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc not in ("", request.get_host()) or referer.path != reverse("partners:search"):
        return None
    return f"{referer.path}?{referer.query}" if referer.query else referer.path


# --- A service keeps its own listing; anyone reports an error (issue 10) --------------------------

# Links requested from a service page: at most this many an hour for one service (no mail bombing).
LINK_REQUESTS_PER_SERVICE_PER_HOUR = 3


def _own_service(request):
    """The service the user works for: staff update their own listing, no other (no id in the URL)."""
    if not request.user.service_id:
        raise PermissionDenied("Votre compte n'est rattaché à aucun service.")
    return get_object_or_404(Service.objects.select_related("organisation"), pk=request.user.service_id)


@require_http_methods(["GET", "POST"])
def listing_edit(request):
    service = _own_service(request)
    form = ListingForm.for_service(service, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        listing_update(service=service, data=form.cleaned_data, user=request.user)
        messages.success(request, LISTING_SAVED)
        return redirect("partners:listing_edit")
    return render(
        request,
        "partners/listing_edit.html",
        {
            "service": service,
            "form": form,
            "is_stale": service.is_stale(),
            "open_reports": service.error_reports.open_for_service(),
        },
        status=400 if form.is_bound else 200,
    )


@require_POST
def listing_confirm(request):
    service = _own_service(request)
    listing_verify(service=service, user=request.user)
    messages.success(request, LISTING_CONFIRMED)
    return redirect("partners:listing_edit")


@require_POST
def listing_link_request(request, pk):
    """E-mail a personal link to the service's own address (never shown): for services without an account."""
    service = get_object_or_404(Service.objects.active().select_related("organisation"), pk=pk)
    limited = too_many_requests(request, "listing-link-request")
    if limited is not None:
        return limited
    if not service.email:
        messages.error(
            request,
            "Ce service n'a pas d'adresse électronique dans l'annuaire : aucun lien ne peut lui être "
            "envoyé. Signalez l'erreur pour que la coordination la complète.",
        )
    elif rate_limit_exceeded(
        f"listing-link-request:service:{service.pk}",
        limit=LINK_REQUESTS_PER_SERVICE_PER_HOUR,
        window_seconds=3600,
    ):
        messages.error(request, "Un lien vient déjà d'être envoyé à ce service : réessayez dans une heure.")
    else:
        listing_link_send(service=service)
        messages.success(
            request,
            "Un lien personnel pour mettre à jour cette fiche vient d'être envoyé à l'adresse du service. "
            "Il peut mettre quelques minutes à arriver.",
        )
    return redirect("partners:service_detail", pk=service.pk)


@require_http_methods(["GET", "POST"])
def report_error(request, pk):
    service = get_object_or_404(Service.objects.active().select_related("organisation"), pk=pk)
    form = ErrorReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        error_report_create(service=service, reporter=request.user, **form.cleaned_data)
        messages.success(
            request,
            "Merci : l'erreur est signalée au service et à la coordination de ses réseaux.",
        )
        return redirect("partners:service_detail", pk=service.pk)
    return render(
        request,
        "partners/error_report_form.html",
        {"service": service, "form": form},
        status=400 if form.is_bound else 200,
    )
