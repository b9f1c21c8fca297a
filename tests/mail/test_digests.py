"""Each user chooses one e-mail per event or one daily summary."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from reseau.accounts.enums import NotificationFrequency
from reseau.mail.models import DigestEntry, OutgoingMail
from reseau.mail.services import mail_queue, mail_send_digests
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_changes_their_frequency_on_their_settings_page(client_for):
    user = UserFactory(worker=True)
    client = client_for(user)
    page = client.get(reverse("accounts:notification_settings"))
    assert page.status_code == 200
    assert "Un récapitulatif par jour" in page.content.decode()

    response = client.post(reverse("accounts:notification_settings"), {"notification_frequency": "daily"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.notification_frequency == NotificationFrequency.DAILY


@pytest.mark.parametrize("value", ["", "weekly", "daily\n", "x" * 500])
def test_an_unknown_frequency_is_refused_in_french_and_nothing_changes(client_for, value):
    user = UserFactory(worker=True)
    response = client_for(user).post(
        reverse("accounts:notification_settings"), {"notification_frequency": value}
    )
    assert response.status_code == 400
    assert (
        "Sélectionnez un choix valide" in response.content.decode()
        or "obligatoire" in response.content.decode()
    )
    user.refresh_from_db()
    assert user.notification_frequency == NotificationFrequency.EACH_EVENT


def test_the_settings_page_only_changes_one_s_own_account(client_for):
    user, other = UserFactory(), UserFactory()
    client_for(user).post(
        reverse("accounts:notification_settings"), {"notification_frequency": "daily", "email": other.email}
    )
    user.refresh_from_db()
    other.refresh_from_db()
    assert user.notification_frequency == NotificationFrequency.DAILY
    assert other.notification_frequency == NotificationFrequency.EACH_EVENT
    assert user.email != other.email


def test_follow_up_mails_wait_for_the_daily_summary_of_those_who_chose_it(django_capture_on_commit_callbacks):
    daily = UserFactory(email="quotidien@exemple.fr", notification_frequency=NotificationFrequency.DAILY)
    each = UserFactory(email="chaque@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        for subject in ("Orientation acceptée (S-1)", "Orientation refusée (S-2)"):
            mail_queue(
                subject=subject,
                body="Détails",
                recipients=[daily.email, each.email, "service@exemple.fr"],
                digestible=True,
            )
        # Not a follow-up (e.g. a new referral for a receiving service): always right away.
        mail_queue(subject="Nouvelle orientation reçue", body="…", recipients=[daily.email])

    assert sorted(tuple(m.to) for m in mail.outbox) == [
        ("chaque@exemple.fr", "service@exemple.fr"),
        ("chaque@exemple.fr", "service@exemple.fr"),
        ("quotidien@exemple.fr",),
    ]
    assert DigestEntry.objects.filter(email=daily.email).count() == 2

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert mail_send_digests() == 1
    assert [m.to for m in mail.outbox] == [["quotidien@exemple.fr"]]
    assert "2 événements" in mail.outbox[0].subject
    assert "Orientation acceptée (S-1)" in mail.outbox[0].body
    assert "Orientation refusée (S-2)" in mail.outbox[0].body
    assert not DigestEntry.objects.exists()

    # Nothing new: nothing sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert mail_send_digests() == 0
    assert OutgoingMail.objects.count() == 4


def test_send_daily_digests_command(capsys):
    DigestEntry.objects.create(email="a@exemple.fr", subject="s", body="b")
    call_command("send_daily_digests")
    assert "récapitulatifs envoyés : 1" in capsys.readouterr().out
