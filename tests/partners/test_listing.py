"""Services keep their own listing: staff from their account, services without one from a personal
link (issue 10). Every change is in the service's history with its author or link."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import Service
from partners.services import listing_update
from reseau.links.models import AccessLink, LinkPurpose
from reseau.links.services import link_create
from reseau.mail.models import OutgoingMail
from tests.factories import (
    ConventionFactory,
    CoordinatorFactory,
    DomainFactory,
    ErrorReportFactory,
    MembershipFactory,
    NetworkFactory,
    ServiceFactory,
    UserFactory,
)
from tests.partners.domain_ids import domain_ids_out_of_step

pytestmark = pytest.mark.django_db
LISTING_LINK = re.compile(r"https?://\S+/fiche/([A-Za-z0-9_-]+)/")
TODAY = datetime.date.today


def payload(**overrides):
    data = {
        "capacity_status": "waiting_list",
        "phone": "02 99 11 22 33",
        "email": "accueil@epicerie.fr",
        "website": "https://epicerie.fr",
        "opening_hours": "Du lundi au vendredi, 9 h – 12 h",
        "description": "Épicerie solidaire du quartier.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def service():
    return ServiceFactory(
        name="Épicerie du quartier",
        email="accueil@epicerie.fr",
        phone="02 99 00 00 00",
        capacity_status="open",
        verified_on=timezone.localdate() - datetime.timedelta(days=400),
        capacity_updated_on=timezone.localdate() - datetime.timedelta(days=400),
    )


def link_to(service, email=None, **kwargs):
    _, token = link_create(
        purpose=LinkPurpose.SERVICE_LISTING, service=service, email=email or service.email, **kwargs
    )
    return token


def mails_to(address):
    return [mail for mail in OutgoingMail.objects.order_by("pk") if address in mail.recipients]


def last_history(service):
    return service.history.order_by("-history_date", "-history_id").first()


# --- Staff, from their account -------------------------------------------------------------------


def test_staff_update_their_listing_and_the_history_keeps_who(service, client_for):
    staff = UserFactory(service=service, email="salariee@epicerie.fr")
    client = client_for(staff)

    page = client.get(reverse("partners:listing_edit"))
    assert page.status_code == 200
    assert "02 99 00 00 00" in page.content.decode()

    response = client.post(reverse("partners:listing_edit"), payload())

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.capacity_status == "waiting_list"
    assert service.phone == "02 99 11 22 33"
    assert service.website == "https://epicerie.fr"
    assert service.opening_hours == "Du lundi au vendredi, 9 h – 12 h"
    assert service.description == "Épicerie solidaire du quartier."
    assert service.verified_on == timezone.localdate()
    assert service.capacity_updated_on == timezone.localdate()
    version = last_history(service)
    assert version.history_user == staff
    assert "salariee@epicerie.fr" in version.history_change_reason
    assert version.capacity_status == "waiting_list"
    assert "la fiche est à jour" in client.get(response["Location"]).content.decode()


def test_staff_confirm_the_listing_is_right(service, client_for):
    staff = UserFactory(service=service)

    response = client_for(staff).post(reverse("partners:listing_confirm"))

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.verified_on == timezone.localdate()
    assert service.capacity_status == "open"
    version = last_history(service)
    assert version.history_user == staff
    assert version.history_change_reason.startswith("Fiche confirmée à jour par")


def test_staff_only_ever_edit_their_own_service(service, client_for):
    other = ServiceFactory(name="Autre service", phone="01 00 00 00 00")
    staff = UserFactory(service=service)

    # No service id in the URL: whatever is posted, the user's own service changes, never another one.
    client_for(staff).post(
        reverse("partners:listing_edit") + f"?pk={other.pk}", {**payload(), "pk": other.pk}
    )

    other.refresh_from_db()
    assert other.phone == "01 00 00 00 00"
    assert other.history.count() == 1


def test_users_without_a_service_have_no_listing_to_edit(client_for):
    coordinator = CoordinatorFactory(networks=[NetworkFactory()])

    response = client_for(coordinator).get(reverse("partners:listing_edit"))

    assert response.status_code == 403
    assert "aucun service" in response.content.decode()


def test_bad_listing_input_is_refused_in_french_and_nothing_changes(service, client_for):
    staff = UserFactory(service=service)

    response = client_for(staff).post(
        reverse("partners:listing_edit"),
        payload(
            capacity_status="pirate",
            phone="appelez-moi",
            email="pas-une-adresse",
            website="javascript:alert(1)",
        ),
    )

    assert response.status_code == 400
    body = response.content.decode().replace("&#x27;", "'")
    assert "Disponibilité inconnue" in body
    assert "Numéro de téléphone invalide" in body
    assert "Adresse électronique invalide" in body
    assert "Adresse de site invalide" in body
    service.refresh_from_db()
    assert service.phone == "02 99 00 00 00"
    assert service.history.count() == 1


# --- Without an account, from a personal link ------------------------------------------------------


def test_a_link_updates_its_service_and_the_history_keeps_which_link(service):
    service.domains.add(DomainFactory())
    token = link_to(service)

    page = Client().get(reverse("partners:listing_link", args=[token]))
    assert page.status_code == 200
    assert "Épicerie du quartier" in page.content.decode()

    response = Client().post(reverse("partners:listing_link", args=[token]), payload(capacity_status="full"))

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.capacity_status == "full"
    assert service.verified_on == timezone.localdate()
    version = last_history(service)
    assert version.history_user is None
    assert version.history_change_reason == "Fiche mise à jour par lien envoyé à accueil@epicerie.fr"
    assert AccessLink.objects.get(service=service).last_used_at is not None
    assert domain_ids_out_of_step() == {}  # routing's copy of the thématiques (PostgreSQL)


def test_a_link_confirms_the_listing(service):
    token = link_to(service)

    response = Client().post(reverse("partners:listing_link_confirm", args=[token]))

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.verified_on == timezone.localdate()
    assert last_history(service).history_change_reason == (
        "Fiche confirmée à jour par lien envoyé à accueil@epicerie.fr"
    )


def test_a_link_for_service_a_cannot_edit_service_b(service):
    other = ServiceFactory(name="Service B", phone="01 00 00 00 00", email="b@exemple.fr")
    token_a = link_to(service)

    # Nothing in the request names a service: posting B's id anywhere still edits A only.
    response = Client().post(
        reverse("partners:listing_link", args=[token_a]) + f"?service={other.pk}",
        {**payload(phone="06 66 66 66 66"), "service": other.pk, "pk": other.pk},
    )
    Client().post(reverse("partners:listing_link_confirm", args=[token_a]), {"service": other.pk})

    assert response.status_code == 302
    other.refresh_from_db()
    assert other.phone == "01 00 00 00 00"
    assert other.history.count() == 1
    service.refresh_from_db()
    assert service.phone == "06 66 66 66 66"
    page = Client().get(reverse("partners:listing_link", args=[token_a])).content.decode()
    assert "Service B" not in page


def test_a_referral_answer_link_does_not_open_a_listing(service):
    from tests.factories import ReferralFactory

    referral = ReferralFactory(service=service, to="sent")
    _, answer_token = link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER, service=service, referral=referral, email=service.email
    )

    response = Client().get(reverse("partners:listing_link", args=[answer_token]))
    posted = Client().post(
        reverse("partners:listing_link", args=[answer_token]), payload(phone="06 00 00 00 00")
    )

    assert response.status_code == 404
    assert posted.status_code == 404
    service.refresh_from_db()
    assert service.phone == "02 99 00 00 00"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
        lambda t: t[:-2],  # cut
        lambda t: t + "x",  # too long
        lambda t: "A" * 43,  # made up
    ],
    ids=["changed", "cut", "too-long", "made-up"],
)
def test_tampered_links_get_a_french_404_and_change_nothing(service, tamper):
    token = link_to(service)

    response = Client().get(reverse("partners:listing_link", args=[tamper(token)]))
    posted = Client().post(
        reverse("partners:listing_link", args=[tamper(token)]), payload(phone="06 00 00 00 00")
    )

    assert response.status_code == 404
    assert "Ce lien n'est pas valide" in response.content.decode().replace("&#x27;", "'")
    assert posted.status_code == 404
    service.refresh_from_db()
    assert service.phone == "02 99 00 00 00"


def test_an_expired_link_changes_nothing_and_sends_a_fresh_one_to_the_same_address(service):
    token = link_to(service, email="ancienne@epicerie.fr", now=timezone.now() - datetime.timedelta(days=8))

    page = Client().get(reverse("partners:listing_link", args=[token]))
    posted = Client().post(reverse("partners:listing_link", args=[token]), payload(phone="06 00 00 00 00"))
    confirmed = Client().post(reverse("partners:listing_link_confirm", args=[token]))

    assert page.status_code == posted.status_code == confirmed.status_code == 410
    assert "Ce lien a expiré" in page.content.decode()
    service.refresh_from_db()
    assert service.phone == "02 99 00 00 00"
    assert service.verified_on != timezone.localdate()

    renewed = Client().post(reverse("partners:listing_link_renew", args=[token]))

    assert renewed.status_code == 200
    assert "ancienne@epicerie.fr" not in renewed.content.decode()  # never shown on screen
    (mail,) = mails_to("ancienne@epicerie.fr")
    fresh = LISTING_LINK.search(mail.body).group(1)
    assert Client().get(reverse("partners:listing_link", args=[fresh])).status_code == 200


def test_link_pages_are_rate_limited(service, settings):
    settings.LINK_RATE_LIMIT_PER_HOUR = 3
    token = link_to(service)
    client = Client()

    statuses = [client.get(reverse("partners:listing_link", args=[token])).status_code for _ in range(3)]
    limited = client.post(reverse("partners:listing_link", args=[token]), payload(phone="06 00 00 00 00"))

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    service.refresh_from_db()
    assert service.phone == "02 99 00 00 00"
    assert client.post(reverse("partners:listing_link_renew", args=[token])).status_code == 429


def test_bad_input_through_a_link_is_refused_in_french(service):
    token = link_to(service)

    response = Client().post(
        reverse("partners:listing_link", args=[token]),
        payload(description="d" * 10001, opening_hours="9h\x00"),
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "au plus 10000 caractères" in body
    assert "caractère nul" in body
    service.refresh_from_db()
    assert service.description != "d" * 10001
    assert service.history.count() == 1


# --- E-mail address changes: never silent --------------------------------------------------------


def test_changing_the_address_by_link_tells_the_old_address_and_the_coordinators(service):
    network = NetworkFactory()
    MembershipFactory(convention=ConventionFactory(network=network), service=service)
    coordinator = CoordinatorFactory(email="coordination@reseau.fr", networks=[network])
    CoordinatorFactory(email="ailleurs@reseau.fr", networks=[NetworkFactory()])
    token = link_to(service)

    Client().post(reverse("partners:listing_link", args=[token]), payload(email="pirate@exemple.fr"))

    service.refresh_from_db()
    assert service.email == "pirate@exemple.fr"
    (notice,) = mails_to("accueil@epicerie.fr")
    assert "pirate@exemple.fr" in notice.body
    assert "par lien envoyé à accueil@epicerie.fr" in notice.body
    # The old address gets its own fresh link to put its address back.
    restore = LISTING_LINK.search(notice.body).group(1)
    assert AccessLink.objects.filter(email="accueil@epicerie.fr").count() == 2
    Client().post(reverse("partners:listing_link", args=[restore]), payload(email="accueil@epicerie.fr"))
    service.refresh_from_db()
    assert service.email == "accueil@epicerie.fr"
    assert len(mails_to(coordinator.email)) == 2  # one per change by link
    assert mails_to("ailleurs@reseau.fr") == []
    assert mails_to("pirate@exemple.fr")  # told in turn when the address was put back


def test_changing_the_address_as_staff_tells_the_old_address(service, client_for):
    staff = UserFactory(service=service, email="salariee@epicerie.fr")

    client_for(staff).post(reverse("partners:listing_edit"), payload(email="nouvelle@epicerie.fr"))

    (notice,) = mails_to("accueil@epicerie.fr")
    assert "nouvelle@epicerie.fr" in notice.body
    assert "salariee@epicerie.fr" in notice.body


def test_an_unchanged_address_sends_nothing(service):
    listing_update(service=service, data=payload(), link=AccessLink.objects.get(pk=_link_id(service)))

    assert OutgoingMail.objects.count() == 0


def _link_id(service):
    link, _ = link_create(purpose=LinkPurpose.SERVICE_LISTING, service=service, email=service.email)
    return link.pk


# --- A link on request, from the service page ---------------------------------------------------


def test_a_worker_has_a_link_sent_to_the_service_address_never_shown(service, client_for):
    worker = UserFactory(worker=True)
    client = client_for(worker)

    page = client.get(reverse("partners:service_detail", args=[service.pk])).content.decode()
    assert "Recevoir un lien pour mettre à jour cette fiche" in page
    assert "Signaler une erreur" in page

    response = client.post(reverse("partners:listing_link_request", args=[service.pk]), follow=True)

    assert response.status_code == 200
    body = response.content.decode()
    assert "vient d'être envoyé" in body.replace("&#x27;", "'")
    (mail,) = mails_to("accueil@epicerie.fr")
    token = LISTING_LINK.search(mail.body).group(1)
    assert token not in body
    assert "/fiche/" not in body
    assert Client().get(reverse("partners:listing_link", args=[token])).status_code == 200


def test_link_requests_for_one_service_are_limited(service, client_for):
    client = client_for(UserFactory(worker=True))

    for _ in range(5):
        response = client.post(reverse("partners:listing_link_request", args=[service.pk]), follow=True)

    assert len(mails_to("accueil@epicerie.fr")) == 3
    assert "réessayez dans une heure" in response.content.decode()


def test_a_service_without_an_address_gets_no_link(client_for):
    service = ServiceFactory(email="")
    client = client_for(UserFactory(worker=True))

    page = client.get(reverse("partners:service_detail", args=[service.pk])).content.decode()
    response = client.post(reverse("partners:listing_link_request", args=[service.pk]), follow=True)

    assert "Recevoir un lien" not in page
    assert "aucun lien ne peut lui être envoyé" in response.content.decode()
    assert AccessLink.objects.count() == 0


def test_staff_see_their_edit_page_instead_of_the_link_button(service, client_for):
    page = client_for(UserFactory(service=service)).get(reverse("partners:service_detail", args=[service.pk]))

    body = page.content.decode()
    assert reverse("partners:listing_edit") in body
    assert "Recevoir un lien" not in body


# --- Query counts ----------------------------------------------------------------------------------


def test_listing_pages_query_counts_stay_flat(service, client_for):
    staff = UserFactory(service=service)
    client = client_for(staff)
    token = link_to(service)
    pages = {
        "staff page": lambda: client.get(reverse("partners:listing_edit")),
        "link page": lambda: Client().get(reverse("partners:listing_link", args=[token])),
        "report page": lambda: client.get(reverse("partners:error_report_create", args=[service.pk])),
    }
    for load in pages.values():
        load()  # warm the session and the rate counter

    def count(load):
        with CaptureQueriesContext(connection) as queries:
            assert load().status_code == 200
        return len(queries)

    few = {name: count(load) for name, load in pages.items()}
    for _ in range(10):
        UserFactory(service=service)
        link_to(service)
        ErrorReportFactory(service=service)
        service.save()  # more history rows
    many = {name: count(load) for name, load in pages.items()}

    assert few == many
    assert few["staff page"] <= 6  # session, user, service with organisation, open reports
    # Rate counter (savepoint, update, read, release), the link with its service, touch, open reports.
    assert few["link page"] <= 7
    assert few["report page"] <= 5


def test_service_page_query_count_is_unchanged_by_the_new_actions(
    service, client_for, django_assert_max_num_queries
):
    client = client_for(UserFactory(worker=True))
    client.get(reverse("partners:service_detail", args=[service.pk]))

    with django_assert_max_num_queries(12):
        assert client.get(reverse("partners:service_detail", args=[service.pk])).status_code == 200


def test_the_listing_pages_show_the_open_errors_reported_on_this_service(service, client_for):
    ErrorReportFactory(service=service, category="opening_hours", text="Fermé le mardi.")
    ErrorReportFactory(service=service, text="Déjà corrigé.", closed=True)
    ErrorReportFactory(service=ServiceFactory(), text="Sur un autre service.")
    token = link_to(service)

    for page in (
        client_for(UserFactory(service=service)).get(reverse("partners:listing_edit")),
        Client().get(reverse("partners:listing_link", args=[token])),
    ):
        body = page.content.decode()
        assert "Erreurs signalées sur cette fiche" in body
        assert "Fermé le mardi." in body
        assert "Déjà corrigé." not in body
        assert "Sur un autre service." not in body


def test_no_open_report_no_notice(service, client_for):
    page = client_for(UserFactory(service=service)).get(reverse("partners:listing_edit"))

    assert "Erreurs signalées" not in page.content.decode()


def test_all_listing_fields_exist_on_the_service():
    from partners.services import LISTING_FIELDS

    assert set(LISTING_FIELDS) <= {field.name for field in Service._meta.fields}
