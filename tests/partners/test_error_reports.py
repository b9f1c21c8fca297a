"""« Signaler une erreur »: any worker reports what is wrong on a service; the report reaches the
service and the coordinators of the networks it belongs to today, who see and close it in the admin."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partners.enums import ErrorReportStatus
from partners.models import ErrorReport
from reseau.mail.models import OutgoingMail
from tests.factories import (
    ConventionFactory,
    CoordinatorFactory,
    ErrorReportFactory,
    MembershipFactory,
    NetworkFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
LISTING_LINK = re.compile(r"https?://\S+/fiche/([A-Za-z0-9_-]+)/")


def mails_to(address):
    return [mail for mail in OutgoingMail.objects.order_by("pk") if address in mail.recipients]


@pytest.fixture
def networks():
    """Service S is a current member of network X's convention in force; also a past member of W's,
    a member of V's ended convention and of U's draft one; network Y has nothing to do with S."""
    today = timezone.localdate()
    service = ServiceFactory(name="Halte de nuit", email="halte@exemple.fr")
    x, y, w, v, u = (NetworkFactory(name=f"Réseau {name}") for name in "XYWVU")
    MembershipFactory(convention=ConventionFactory(network=x), service=service)
    MembershipFactory(
        convention=ConventionFactory(network=w),
        service=service,
        joined_on=today - datetime.timedelta(days=200),
        left_on=today - datetime.timedelta(days=5),
    )
    MembershipFactory(convention=ConventionFactory(network=v, ended=True), service=service)
    MembershipFactory(convention=ConventionFactory(network=u, draft=True), service=service)
    coordinators = {
        name: CoordinatorFactory(email=f"coord-{name.lower()}@exemple.fr", networks=[network])
        for name, network in zip("XYWVU", (x, y, w, v, u), strict=True)
    }
    return {"service": service, "coordinators": coordinators, "x": x, "y": y}


def report(client, service, **data):
    return client.post(
        reverse("partners:error_report_create", args=[service.pk]),
        {"category": "opening_hours", "text": "Fermé le mardi depuis septembre.", **data},
    )


def test_a_worker_reports_an_error_which_reaches_the_service_and_its_network_coordinators(
    networks, client_for
):
    service = networks["service"]
    UserFactory(service=service, email="equipe@halte.fr")
    worker = UserFactory(worker=True, email="referente@ccas.fr")
    client = client_for(worker)
    assert client.get(reverse("partners:error_report_create", args=[service.pk])).status_code == 200

    response = report(client, service)

    assert response.status_code == 302
    saved = ErrorReport.objects.get()
    assert (saved.service, saved.reporter, saved.category, saved.status) == (
        service,
        worker,
        "opening_hours",
        ErrorReportStatus.OPEN,
    )
    assert saved.text == "Fermé le mardi depuis septembre."
    # The service: its own address with a personal link, its staff with their page.
    (to_service,) = mails_to("halte@exemple.fr")
    assert "Fermé le mardi" in to_service.body
    token = LISTING_LINK.search(to_service.body).group(1)
    assert Client().get(reverse("partners:listing_link", args=[token])).status_code == 200
    (to_staff,) = mails_to("equipe@halte.fr")
    assert reverse("partners:listing_edit") in to_staff.body
    assert not LISTING_LINK.search(to_staff.body.replace(reverse("partners:listing_edit"), ""))
    assert "referente@ccas.fr" not in to_service.body  # the reporter is named to coordinators only
    # Coordinators of the networks it belongs to today: X only.
    coordinators = networks["coordinators"]
    (to_x,) = mails_to(coordinators["X"].email)
    assert "referente@ccas.fr" in to_x.body
    assert reverse("admin:partners_errorreport_change", args=[saved.pk]) in to_x.body
    for name in "YWVU":  # another network, a past membership, an ended convention, a draft one
        assert mails_to(coordinators[name].email) == [], name
    assert "erreur est signalée" in client.get(response["Location"]).content.decode()


def test_a_report_on_a_service_without_address_or_network_is_still_saved(client_for):
    service = ServiceFactory(email="")

    response = report(client_for(UserFactory(worker=True)), service)

    assert response.status_code == 302
    assert ErrorReport.objects.filter(service=service).count() == 1
    assert OutgoingMail.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": "pirate"}, "Catégorie inconnue"),
        ({"category": ""}, "Choisissez ce qui est inexact"),
        ({"text": "   "}, "Précisez l'erreur"),
        ({"text": "x" * 2001}, "au plus 2000 caractères"),
        ({"text": "fermé\x00"}, "caractère nul"),
    ],
    ids=["unknown-category", "no-category", "blank-text", "text-over-2000", "nul"],
)
def test_bad_reports_are_refused_in_french_and_nothing_is_written(networks, client_for, data, message):
    response = report(client_for(UserFactory(worker=True)), networks["service"], **data)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert ErrorReport.objects.count() == 0
    assert OutgoingMail.objects.count() == 0


def test_an_inactive_or_unknown_service_cannot_be_reported(client_for):
    client = client_for(UserFactory(worker=True))
    inactive = ServiceFactory(is_active=False)

    assert report(client, inactive).status_code == 404
    assert client.post("/annuaire/services/99999999999999999999/signaler/").status_code == 404
    assert ErrorReport.objects.count() == 0


def test_the_report_page_warns_against_personal_data(networks, client_for):
    page = client_for(UserFactory(worker=True)).get(
        reverse("partners:error_report_create", args=[networks["service"].pk])
    )

    assert "Données personnelles" in page.content.decode()


# --- Admin: scoped to the coordinators of the service's networks ----------------------------------


def test_coordinators_see_only_the_reports_on_their_networks_services(networks, client_for):
    ours = ErrorReportFactory(service=networks["service"], text="Signalement chez nous")
    theirs_service = ServiceFactory()
    MembershipFactory(convention=ConventionFactory(network=networks["y"]), service=theirs_service)
    theirs = ErrorReportFactory(service=theirs_service, text="Signalement chez eux")
    client = client_for(networks["coordinators"]["X"])

    listing = client.get(reverse("admin:partners_errorreport_changelist")).content.decode()

    assert "Halte de nuit" in listing
    assert theirs_service.name not in listing
    assert client.get(reverse("admin:partners_errorreport_change", args=[ours.pk])).status_code == 200
    assert client.get(reverse("admin:partners_errorreport_change", args=[theirs.pk])).status_code == 403
    # A past member's, an ended or a draft convention's coordinators see nothing of it.
    for name in "WVU":
        other = client_for(networks["coordinators"][name])
        assert other.get(reverse("admin:partners_errorreport_change", args=[ours.pk])).status_code == 403
        assert (
            "Halte de nuit"
            not in other.get(reverse("admin:partners_errorreport_changelist")).content.decode()
        )


def test_a_coordinator_closes_a_report_with_who_and_when(networks, client_for):
    coordinator = networks["coordinators"]["X"]
    open_report = ErrorReportFactory(service=networks["service"])
    client = client_for(coordinator)
    url = reverse("admin:partners_errorreport_change", args=[open_report.pk])

    response = client.post(url, {"status": "closed"})

    assert response.status_code == 302
    open_report.refresh_from_db()
    assert open_report.status == ErrorReportStatus.CLOSED
    assert open_report.closed_by == coordinator
    assert open_report.closed_at is not None
    client.post(url, {"status": "open"})
    open_report.refresh_from_db()
    assert (open_report.status, open_report.closed_by, open_report.closed_at) == ("open", None, None)


def test_the_close_action_closes_only_what_the_coordinator_sees(networks, client_for):
    coordinator = networks["coordinators"]["X"]
    ours = ErrorReportFactory(service=networks["service"])
    theirs_service = ServiceFactory()
    MembershipFactory(convention=ConventionFactory(network=networks["y"]), service=theirs_service)
    theirs = ErrorReportFactory(service=theirs_service)

    client_for(coordinator).post(
        reverse("admin:partners_errorreport_changelist"),
        {"action": "close_reports", "_selected_action": [str(ours.pk), str(theirs.pk)]},
    )

    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, ours.closed_by) == ("closed", coordinator)
    assert theirs.status == "open"


def test_administrators_see_every_report_and_workers_none(networks, client_for):
    report_ = ErrorReportFactory(service=networks["service"])
    admin = UserFactory(admin=True)

    assert (
        client_for(admin).get(reverse("admin:partners_errorreport_change", args=[report_.pk])).status_code
        == 200
    )
    assert ErrorReport.objects.visible_to(UserFactory(worker=True)).count() == 0
    assert ErrorReport.objects.visible_to(admin).count() == 1
    assert list(ErrorReport.objects.open()) == [report_]


def test_nobody_adds_a_report_in_the_admin(client_for):
    admin = UserFactory(admin=True)

    assert client_for(admin).get(reverse("admin:partners_errorreport_add")).status_code == 403


def test_the_database_refuses_a_closed_report_without_a_date(networks):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ErrorReportFactory(service=networks["service"], status="closed", closed_at=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ErrorReportFactory(service=networks["service"], category="pirate")


def test_the_admin_lists_open_reports_by_default(networks, client_for):
    ErrorReportFactory(service=networks["service"], text="Signalement ouvert")
    ErrorReportFactory(service=networks["service"], text="Signalement clos", closed=True)
    client = client_for(networks["coordinators"]["X"])
    url = reverse("admin:partners_errorreport_changelist")

    default = client.get(url)
    closed = client.get(url + "?statut=clos")
    everything = client.get(url + "?statut=tous")
    junk = client.get(url + "?statut=n%27importe")

    assert default.context["cl"].result_count == 1
    assert [r.text for r in default.context["cl"].result_list] == ["Signalement ouvert"]
    assert [r.text for r in closed.context["cl"].result_list] == ["Signalement clos"]
    assert everything.context["cl"].result_count == 2
    assert junk.status_code in (200, 302)
