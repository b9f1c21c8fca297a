"""Services without an account answer from the personal link e-mailed to them."""

import datetime
import re
import smtplib

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from referrals.enums import ReferralStatus
from referrals.models import Referral
from referrals.services import ReferralRequest, referrals_create
from reseau.links.models import AccessLink
from reseau.mail.models import MailStatus, OutgoingMail
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    PublicFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/reponse/([A-Za-z0-9_-]+)/")


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("le serveur a raccroché")


@pytest.fixture
def world():
    need = DomainFactory(label="Aide alimentaire")
    sender_service = ServiceFactory(name="CCAS de Rennes", phone="02 99 00 00 00", email="ccas@rennes.fr")
    worker = UserFactory(service=sender_service, email="referente@ccas.fr")
    outside = ServiceFactory(name="Épicerie du quartier", email="Contact@Epicerie.fr", domains=[need])
    case = CaseFactory(
        service=sender_service,
        needs=[need],
        commune=CommuneFactory(insee_code="35238", name="Rennes"),
        notes="Notes internes à ne jamais envoyer",
    )
    case.publics.set([PublicFactory(label="Familles")])
    return {"need": need, "worker": worker, "outside": outside, "case": case}


def send(world, capture, **extra):
    with capture(execute=True):
        (referral,) = referrals_create(
            case=world["case"],
            requests=[ReferralRequest(world["outside"].pk, reason="closer")],
            user=world["worker"],
            message="Personne disponible le matin.",
            contact_phone="02 99 00 00 00",
            contact_email="ccas@rennes.fr",
            **extra,
        )
    return referral


def token_in(message):
    return LINK.search(message.body).group(1)


def test_sending_mails_each_receiver_address_its_own_link_without_case_detail(
    world, django_capture_on_commit_callbacks
):
    UserFactory(service=world["outside"], email="accueil@epicerie.fr")
    referral = send(world, django_capture_on_commit_callbacks)

    assert sorted(m.to[0] for m in mail.outbox) == ["accueil@epicerie.fr", "contact@epicerie.fr"]
    tokens = {token_in(m) for m in mail.outbox}
    assert len(tokens) == 2
    assert AccessLink.objects.filter(referral=referral).count() == 2
    body = mail.outbox[0].body
    assert "CCAS de Rennes" in body and "Aide alimentaire" in body and "Rennes" in body
    assert "À répondre avant le" in body
    assert "Notes internes" not in body and "Personne disponible" not in body
    for token in tokens:
        assert token not in str(list(AccessLink.objects.values()))  # only hashes are stored


def test_the_link_opens_what_the_receiver_needs_without_login(
    world, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    send(world, django_capture_on_commit_callbacks)
    url = reverse("referrals:answer_link", args=[token_in(mail.outbox[0])])

    with django_assert_max_num_queries(12):
        response = Client().get(url)

    assert response.status_code == 200
    content = response.content.decode()
    for expected in (
        "Aide alimentaire",
        "Rennes",
        "Familles",
        "Personne disponible le matin.",
        "02 99 00 00 00",
        "ccas@rennes.fr",
        "Envoyée le",
        "À répondre avant le",
        "Accepter l'orientation",
    ):
        assert expected in content, expected
    assert "Notes internes" not in content
    assert content.count('name="csrfmiddlewaretoken"') == 3  # accept, refuse, under review
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_receiver_refuses_by_link_then_the_link_cannot_answer_again(
    world, django_capture_on_commit_callbacks
):
    referral = send(world, django_capture_on_commit_callbacks)
    token = token_in(mail.outbox[0])
    mail.outbox.clear()
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("referrals:answer_link_action", args=[token, "refuser"]),
            {"status": "sent", "reason": "full", "details": "Liste d'attente de trois mois"},
        )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REFUSED
    event = referral.events.get(to_status=ReferralStatus.REFUSED)
    assert (event.actor, event.via_link_email) == (None, "contact@epicerie.fr")
    (told,) = mail.outbox
    assert told.to == ["referente@ccas.fr"] and "Motif : Plus de place disponible." in told.body

    page = client.get(reverse("referrals:answer_link", args=[token]))
    assert "Accepter l'orientation" not in page.content.decode()
    again = client.post(
        reverse("referrals:answer_link_action", args=[token, "accepter"]), {"status": "refused"}
    )
    assert again.status_code == 409
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REFUSED


def test_under_review_then_accepted_with_the_same_link_once_per_state(
    world, django_capture_on_commit_callbacks
):
    referral = send(world, django_capture_on_commit_callbacks)
    token = token_in(mail.outbox[0])
    client = Client()

    assert (
        client.post(
            reverse("referrals:answer_link_action", args=[token, "etudier"]), {"status": "sent"}
        ).status_code
        == 302
    )
    # A second click on the same page (still saying "sent") does nothing more.
    stale = client.post(reverse("referrals:answer_link_action", args=[token, "accepter"]), {"status": "sent"})
    assert stale.status_code == 409
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.UNDER_REVIEW
    assert referral.answer_deadline() == referral.sent_at + datetime.timedelta(days=60)

    ok = client.post(
        reverse("referrals:answer_link_action", args=[token, "accepter"]), {"status": "under_review"}
    )
    assert ok.status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("refuser", {"status": "sent"}, "Ce champ est obligatoire"),
        ("refuser", {"status": "sent", "reason": "nope"}, "Sélectionnez un choix valide"),
        ("accepter", {"status": "sent", "comment": "x" * 2001}, "2000 caractères"),
        ("inconnue", {"status": "sent"}, "Action inconnue"),
    ],
)
def test_bad_answers_by_link_get_a_french_message_and_change_nothing(
    world, django_capture_on_commit_callbacks, action, data, message
):
    referral = send(world, django_capture_on_commit_callbacks)
    token = token_in(mail.outbox[0])
    response = Client().post(reverse("referrals:answer_link_action", args=[token, action]), data)
    assert 400 <= response.status_code < 500
    assert message in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 44, "%0A" + "A" * 40, "../../admin"])
def test_tampered_or_unknown_links_give_a_french_page(world, django_capture_on_commit_callbacks, token):
    send(world, django_capture_on_commit_callbacks)
    client = Client()
    response = client.get(f"/reponse/{token}/")
    assert response.status_code == 404
    assert (
        "Ce lien n'est pas valide" in response.content.decode()
        or "Page introuvable" in response.content.decode()
    )
    post = client.post(f"/reponse/{token}/accepter/", {"status": "sent"})
    assert post.status_code == 404
    assert Referral.objects.get().status == ReferralStatus.SENT


def test_a_link_opens_its_referral_only(world, django_capture_on_commit_callbacks):
    first = send(world, django_capture_on_commit_callbacks)
    first_token = token_in(mail.outbox[0])
    other_case = CaseFactory(service=world["case"].service, needs=[world["need"]], reference="AUTRE-1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referrals_create(
            case=other_case, requests=[ReferralRequest(world["outside"].pk, reason="closer")], user=None
        )
    page = Client().get(reverse("referrals:answer_link", args=[first_token]))
    assert first.case.reference in page.content.decode()
    assert "AUTRE-1" not in page.content.decode()


def test_an_expired_link_sends_a_fresh_one_to_the_same_address_never_shown(
    world, django_capture_on_commit_callbacks
):
    referral = send(world, django_capture_on_commit_callbacks)
    token = token_in(mail.outbox[0])
    AccessLink.objects.update(
        created_at=timezone.now() - datetime.timedelta(days=8),
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    mail.outbox.clear()
    client = Client()

    expired = client.get(reverse("referrals:answer_link", args=[token]))
    assert expired.status_code == 410
    assert "Ce lien a expiré" in expired.content.decode()
    assert (
        client.post(
            reverse("referrals:answer_link_action", args=[token, "accepter"]), {"status": "sent"}
        ).status_code
        == 410
    )

    with django_capture_on_commit_callbacks(execute=True):
        renewed = client.post(reverse("referrals:answer_link_renew", args=[token]))
    assert renewed.status_code == 200
    assert "contact@epicerie.fr" not in renewed.content.decode()
    (fresh,) = mail.outbox
    assert fresh.to == ["contact@epicerie.fr"]
    assert client.get(reverse("referrals:answer_link", args=[token_in(fresh)])).status_code == 200
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_link_pages_are_rate_limited_per_client(world, django_capture_on_commit_callbacks, settings):
    settings.LINK_RATE_LIMIT_PER_HOUR = 3
    send(world, django_capture_on_commit_callbacks)
    url = reverse("referrals:answer_link", args=[token_in(mail.outbox[0])])
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "Trop de demandes" in client.get(url).content.decode()
    assert Client(REMOTE_ADDR="198.51.100.8").get(url).status_code == 200


def test_a_failing_mail_server_loses_no_referral_and_retries_the_mail(
    world, client_for, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.referrals.test_answer_link.BrokenBackend"
    client = client_for(world["worker"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("referrals:case_refer", args=[world["case"].pk]),
            {"confirm": "1", "services": [world["outside"].pk], f"reason_{world['outside'].pk}": "closer"},
        )
    assert response.status_code == 302
    assert Referral.objects.filter(case=world["case"], status=ReferralStatus.SENT).count() == 1
    pending = OutgoingMail.objects.get()
    assert (pending.status, pending.attempts) == (MailStatus.PENDING, 1)
    assert "SMTPServerDisconnected" in pending.last_error


def test_the_sender_gives_a_message_and_a_contact_defaulting_to_their_service(world, client_for):
    client = client_for(world["worker"])
    review = client.post(
        reverse("referrals:case_refer", args=[world["case"].pk]), {"services": [world["outside"].pk]}
    )
    content = review.content.decode()
    assert 'value="02 99 00 00 00"' in content and 'value="ccas@rennes.fr"' in content
    assert (
        "N&#x27;inscrivez aucune donnée identifiante" in content
        or "N'inscrivez aucune donnée identifiante" in content
    )

    bad = client.post(
        reverse("referrals:case_refer", args=[world["case"].pk]),
        {
            "confirm": "1",
            "services": [world["outside"].pk],
            f"reason_{world['outside'].pk}": "closer",
            "message": "m" * 2001,
            "contact_email": "pas-une-adresse",
        },
    )
    assert bad.status_code == 400
    assert not Referral.objects.exists()
