"""The proposals page leads somewhere: notes to act on, one proposal then alternatives per need,
services already referred marked, a confirm page where a service can be unticked, routing again
after a refusal."""

import datetime

import pytest
from django.urls import reverse

from partners.enums import CapacityStatus
from referrals import services as referral_services
from referrals.enums import ReferralStatus
from referrals.models import Referral
from referrals.routing_data import routing_for_case
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    PublicFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RENNES = (48.1119, -1.6809)
KM = 1 / 111.2  # one kilometre of latitude, in degrees


def at(km):
    return {"latitude": RENNES[0] + km * KM, "longitude": RENNES[1]}


@pytest.fixture
def world():
    """A worker's case in Rennes with two needs; a partner far away, outside services nearby."""
    rennes = CommuneFactory(insee_code="35238", name="Rennes", latitude=RENNES[0], longitude=RENNES[1])
    food = DomainFactory(label="Aide alimentaire")
    debts = DomainFactory(label="Surendettement")
    worker = UserFactory(worker=True)
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=worker.service)
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food], **at(40))
    MembershipFactory(convention=convention, service=partner)
    near = ServiceFactory(name="Épicerie voisine", domains=[food], **at(0.5))
    budget = ServiceFactory(name="Point conseil budget", domains=[debts], **at(3))
    families = PublicFactory(code="familles", label="Familles")
    budget.publics.set([families])
    case = CaseFactory(service=worker.service, commune=rennes, needs=[food, debts], radius_km=50)
    return {
        "case": case,
        "worker": worker,
        "food": food,
        "debts": debts,
        "partner": partner,
        "near": near,
        "budget": budget,
        "convention": convention,
    }


def routing_page(client, case, **params):
    return client.get(reverse("referrals:case_routing", args=[case.pk]), params)


def checkboxes(content, service):
    """The ``<input>`` tags of the page's boxes for ``service``."""
    import re

    return re.findall(rf'<input type="checkbox" name="services" value="{service.pk}"[^>]*>', content)


# --- Notes and alternatives -------------------------------------------------------------------------


def test_a_notes_service_can_be_ticked_and_its_page_opened(client_for, world):
    response = routing_page(client_for(world["worker"]), world["case"])
    assert response.status_code == 200
    (note,) = response.context["notes"]
    assert note["service"] == world["near"]
    assert note["advantage"].sentence() == "Hors convention mais plus proche : 0,5 km contre 40 km"
    content = response.content.decode()
    # Under the partner it is compared with, in the best proposal.
    (partner_row, _) = response.context["best"]["rows"]
    assert [(note["service"], sentences) for note, sentences in partner_row["notes"]] == [
        (world["near"], ["Hors convention mais plus proche : 0,5 km contre 40 km"])
    ]
    box = f'id="n{world["partner"].pk}-s{world["near"].pk}"'
    assert any(box in tag for tag in checkboxes(content, world["near"]))
    assert reverse("partners:service_detail", args=[world["near"].pk]) in content


def test_the_best_proposal_in_full_then_alternatives_per_need_with_publics(client_for, world):
    response = routing_page(client_for(world["worker"]), world["case"])
    best = response.context["best"]
    assert [row["service"] for row in best["rows"]] == [world["partner"], world["budget"]]
    assert [row["publics"] for row in best["rows"]] == ["Tous publics", "Familles"]
    # Pre-selected: every service of the best proposal.
    content = response.content.decode()
    assert all("checked" in tag for tag in checkboxes(content, world["partner"]))
    groups = {
        group["need"]: [row["service"] for row in group["rows"]] for group in response.context["alternatives"]
    }
    assert groups == {world["food"]: [world["near"]], world["debts"]: []}
    # Alternatives are never pre-selected.
    assert not any("checked" in tag for tag in checkboxes(content, world["near"]))
    assert "Pour : Familles" in content and "Pour : Tous publics" in content


def test_alternatives_put_available_services_first_then_official_partners(client_for, world):
    food = world["food"]
    full_near = ServiceFactory(name="Épicerie complète", domains=[food], full=True, **at(0.2))
    full_partner = ServiceFactory(name="Partenaire complet", domains=[food], full=True, **at(1))
    MembershipFactory(convention=world["convention"], service=full_partner)
    waiting_partner = ServiceFactory(
        name="Partenaire en liste d'attente",
        domains=[food],
        capacity_status=CapacityStatus.WAITING_LIST,
        **at(45),
    )
    MembershipFactory(convention=world["convention"], service=waiting_partner)
    response = routing_page(client_for(world["worker"]), world["case"])
    assert response.context["best"]["rows"][0]["service"] == world["partner"]
    (food_group,) = [g for g in response.context["alternatives"] if g["need"] == food]
    assert [row["service"] for row in food_group["rows"]] == [
        waiting_partner,
        world["near"],
        full_partner,
        full_near,
    ]


def test_a_full_service_never_comes_first_when_an_open_one_covers_the_same_needs(world):
    """At the routing level: a full official partner close by loses to an open outside service."""
    world["partner"].capacity_status = CapacityStatus.FULL
    world["partner"].save()
    waiting = ServiceFactory(domains=[world["food"]], capacity_status=CapacityStatus.WAITING_LIST, **at(30))
    result = routing_for_case(
        world["case"], radius_km=50, official_ids={world["partner"].pk}, limit=5, need_ids={world["food"].pk}
    )
    assert [c.id for c in result.proposals[0].services] == [world["near"].pk]
    assert [c.id for p in result.proposals for c in p.services] == [
        world["near"].pk,
        waiting.pk,
        world["partner"].pk,
    ]


# --- Services already referred ----------------------------------------------------------------------


def test_services_already_referred_are_marked_left_out_of_the_proposal_and_never_ticked(client_for, world):
    case = world["case"]
    refused = ReferralFactory(case=case, service=world["partner"], needs=[world["food"]], to="refused")
    Referral.objects.filter(pk=refused.pk).update(
        answered_at=datetime.datetime(2026, 6, 3, 10, tzinfo=datetime.UTC)
    )
    ReferralFactory(case=case, service=world["budget"], needs=[world["debts"]], to="sent")

    response = routing_page(client_for(world["worker"]), case)
    content = response.content.decode()
    best = response.context["best"]["rows"]
    # Neither referred service is proposed again; the other food service is, ticked.
    assert [row["service"] for row in best] == [world["near"]]
    assert all("checked" in tag for tag in checkboxes(content, world["near"]))
    rows = {row["service"]: row for group in response.context["alternatives"] for row in group["rows"]}
    assert rows[world["partner"]]["referral"].status == ReferralStatus.REFUSED
    assert "A refusé le 3 juin 2026" in content
    assert [tag for tag in checkboxes(content, world["partner"]) if "checked" in tag] == []
    # A referral still open: marked, and no box at all (it cannot be sent twice).
    assert "Orientation en cours depuis le" in content
    assert checkboxes(content, world["budget"]) == []


def test_a_need_already_referred_elsewhere_is_proposed_unticked(client_for, world):
    case = world["case"]
    other = ServiceFactory(domains=[world["debts"]], **at(60))  # outside the radius
    ReferralFactory(case=case, service=other, needs=[world["debts"]], to="accepted")
    response = routing_page(client_for(world["worker"]), case)
    rows = {row["service"]: row for row in response.context["best"]["rows"]}
    assert rows[world["budget"]]["already_handled"] and not rows[world["partner"]]["already_handled"]
    content = response.content.decode()
    assert not any("checked" in tag for tag in checkboxes(content, world["budget"]))
    assert all("checked" in tag for tag in checkboxes(content, world["partner"]))


# --- Confirm page ---------------------------------------------------------------------------------


def refer(client, case, data):
    return client.post(reverse("referrals:case_refer", args=[case.pk]), data)


def test_the_worker_unticks_a_service_on_the_confirm_page_and_only_the_others_are_sent(client_for, world):
    client = client_for(world["worker"])
    case = world["case"]
    review = refer(client, case, {"services": [world["partner"].pk, world["budget"].pk]})
    assert review.status_code == 200
    assert [row["ticked"] for row in review.context["rows"]] == [True, True]
    listed = [world["partner"].pk, world["budget"].pk]
    response = refer(client, case, {"listed": listed, "services": [world["partner"].pk], "confirm": "1"})
    assert response.status_code == 302
    assert list(Referral.objects.values_list("service_id", flat=True)) == [world["partner"].pk]


def test_unticking_every_service_sends_nothing_and_says_so(client_for, world):
    response = refer(
        client_for(world["worker"]), world["case"], {"listed": [world["partner"].pk], "confirm": "1"}
    )
    assert response.status_code == 400
    assert response.context["general_error"] == "Cochez au moins un service à orienter."
    assert [row["ticked"] for row in response.context["rows"]] == [False]
    assert not Referral.objects.exists()


def test_a_duplicate_is_said_next_to_its_service_and_unticking_it_sends_the_rest(client_for, world):
    client = client_for(world["worker"])
    case = world["case"]
    ReferralFactory(case=case, service=world["budget"], needs=[world["debts"]], to="sent")
    # Reviewing: the service with a referral still open comes unticked, with the reason.
    review = refer(client, case, {"services": [world["partner"].pk, world["budget"].pk]})
    assert {row["service"]: row["ticked"] for row in review.context["rows"]} == {
        world["partner"]: True,
        world["budget"]: False,
    }
    assert "déjà en cours vers ce service pour cette situation" in review.content.decode()

    # Ticked anyway: nothing is sent, the error sits next to that service only.
    listed = [world["partner"].pk, world["budget"].pk]
    blocked = refer(client, case, {"listed": listed, "services": listed, "confirm": "1"})
    assert blocked.status_code == 400
    errors = {row["service"]: row["error"] for row in blocked.context["rows"]}
    assert errors == {world["partner"]: "", world["budget"]: referral_services.PENDING_REFERRAL_MESSAGE}
    content = blocked.content.decode()
    assert f'aria-describedby="erreur-{world["budget"].pk}"' in content
    assert Referral.objects.count() == 1

    sent = refer(client, case, {"listed": listed, "services": [world["partner"].pk], "confirm": "1"})
    assert sent.status_code == 302
    assert Referral.objects.filter(service=world["partner"]).exists()


def test_a_constraint_race_is_an_error_next_to_the_service_and_nothing_is_kept(
    client_for, world, monkeypatch
):
    """Should a referral to the same service be written meanwhile without the case lock, the unique
    constraint catches it: a 400 with the error next to the service, none of the referrals kept."""
    case = world["case"]
    ReferralFactory(case=case, service=world["near"], needs=[world["food"]], to="sent")
    # The pending check does not see it (as if it were written meanwhile).
    monkeypatch.setattr(referral_services.Case, "referrals", property(lambda case: Referral.objects.none()))
    # "Épicerie partenaire" is written first, then "Épicerie voisine" breaks the constraint.
    listed = [world["partner"].pk, world["near"].pk]
    data = {"listed": listed, "services": listed, "confirm": "1", f"reason_{world['near'].pk}": "closer"}
    response = refer(client_for(world["worker"]), case, data)
    assert response.status_code == 400
    errors = {row["service"]: row["error"] for row in response.context["rows"]}
    assert errors == {world["partner"]: "", world["near"]: referral_services.PENDING_REFERRAL_MESSAGE}
    monkeypatch.undo()
    assert list(Referral.objects.values_list("service_id", flat=True)) == [world["near"].pk]


# --- Routing again after a refusal -------------------------------------------------------------------


def test_after_a_refusal_the_case_offers_to_route_that_need_again(client_for, world):
    client = client_for(world["worker"])
    case = world["case"]
    refused = ReferralFactory(case=case, service=world["partner"], needs=[world["food"]], to="refused")
    ReferralFactory(case=case, service=world["budget"], needs=[world["debts"]], to="sent")
    detail = client.get(reverse("referrals:case_detail", args=[case.pk]))
    content = detail.content.decode()
    url = reverse("referrals:case_routing", args=[case.pk]) + f"?besoin={world['food'].pk}"
    assert content.count("Trouver un autre service pour ce besoin") == 1
    assert f'href="{url}"' in content
    assert [r.reroute_url for r in detail.context["referrals"]] == ["", url]  # newest first

    response = routing_page(client, case, besoin=world["food"].pk)
    assert response.status_code == 200
    assert [row["service"] for row in response.context["best"]["rows"]] == [world["near"]]
    assert [group["need"] for group in response.context["alternatives"]] == [world["food"]]
    assert f'name="besoin" value="{world["food"].pk}"' in response.content.decode()  # kept by the radius form
    rows = {row["service"]: row for group in response.context["alternatives"] for row in group["rows"]}
    assert rows[world["partner"]]["referral"] == refused


def test_an_expired_referral_offers_it_too_but_not_on_a_closed_case(client_for, world):
    client = client_for(world["worker"])
    case = world["case"]
    ReferralFactory(case=case, service=world["partner"], needs=[world["food"]], to="expired")
    assert (
        "Trouver un autre service"
        in client.get(reverse("referrals:case_detail", args=[case.pk])).content.decode()
    )
    case.close()
    assert (
        "Trouver un autre service"
        not in client.get(reverse("referrals:case_detail", args=[case.pk])).content.decode()
    )


@pytest.mark.parametrize("value", ["abc", "999999", "-1", ""])
def test_an_unknown_need_is_a_400_in_french(client_for, world, value):
    response = routing_page(client_for(world["worker"]), world["case"], besoin=value)
    assert response.status_code == 400
    assert "Besoin inconnu" in response.content.decode()


# --- Query count ------------------------------------------------------------------------------------


def test_proposals_page_query_count_is_constant(client_for, world, django_assert_num_queries):
    client = client_for(world["worker"])
    case = world["case"]
    routing_page(client, case)  # warm-up (session, insight record)
    # session, user, case, version tokens (the partnerships are in memory), referrals already made for
    # the case (with their needs), the case's needs, the shortlisted candidates, the services shown (with
    # their publics); then the navigation counts the referrals waiting for the worker's service
    with django_assert_num_queries(9):
        routing_page(client, case)
    families = PublicFactory(code="familles")
    for index in range(12):
        service = ServiceFactory(domains=[world["food"], world["debts"]][: 1 + index % 2], **at(index))
        service.publics.set([families, PublicFactory()])
        if index % 3 == 0:
            MembershipFactory(convention=world["convention"], service=service)
        if index % 4 == 0:
            ReferralFactory(
                case=case,
                service=service,
                needs=[world["food"]],
                to=["refused", "sent", "expired"][index % 3],
            )
    with django_assert_num_queries(10):  # the partnerships changed: read again, once
        routing_page(client, case)
    with django_assert_num_queries(9):
        response = routing_page(client, case)
    assert sum(len(group["rows"]) for group in response.context["alternatives"]) >= 5
