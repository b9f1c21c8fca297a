from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from .models import Convention, ConventionMembership, Network, Service


def home(request):
    """The worker's starting point: their service, its conventions in force and its official partners."""
    user = request.user
    own_service = None
    conventions = []
    partners = []
    if user.service_id:
        own_service = Service.objects.select_related("organisation", "commune").get(pk=user.service_id)
        current_members = ConventionMembership.objects.current_on().select_related("service__organisation")
        conventions = list(
            Convention.objects.shared_by(own_service)
            .select_related("network")
            .prefetch_related(
                Prefetch("memberships", queryset=current_members, to_attr="current_memberships")
            )
            .order_by("network__name", "title")
        )
        partners = sorted(
            {m.service for c in conventions for m in c.current_memberships if m.service_id != own_service.pk},
            key=lambda service: (service.organisation.name.lower(), service.name.lower()),
        )
    networks = list(Network.objects.filter(coordinators=user).order_by("name")) if user.is_staff else []
    return render(
        request,
        "partners/home.html",
        {"own_service": own_service, "conventions": conventions, "partners": partners, "networks": networks},
    )


def service_detail(request, pk):
    service = get_object_or_404(
        Service.objects.active()
        .select_related("organisation", "commune")
        .prefetch_related("domains__parent", "publics", "access_modes", "languages", "fees", "service_types"),
        pk=pk,
    )
    shared_conventions = []
    if request.user.service_id and request.user.service_id != service.pk:
        shared_conventions = list(
            Convention.objects.shared_by(request.user.service_id)
            .filter(
                pk__in=ConventionMembership.objects.current_on()
                .filter(service=service)
                .values("convention_id")
            )
            .select_related("network")
        )
    return render(
        request,
        "partners/service_detail.html",
        {"service": service, "shared_conventions": shared_conventions, "is_stale": service.is_stale()},
    )
