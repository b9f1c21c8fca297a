"""The home page shows what needs the worker: answers since their last visit, referrals waiting for their
service, those expiring within 3 days; the navigation shows the number waiting (one query per page)."""

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.attention import waiting_count
from referrals.enums import ReferralStatus
from referrals.models import Referral, ReferralEvent
from reseau.accounts.models import User
from tests.factories import CaseFactory, DomainFactory, ReferralFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 5, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def worker():
    return UserFactory(worker=True)


def sent(days_ago, **kwargs):
    """A referral sent ``days_ago`` days ago (the status path goes through the real transitions)."""
    referral = ReferralFactory(needs=[DomainFactory()], to="sent", **kwargs)
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - datetime.timedelta(days=days_ago))
    return Referral.objects.get(pk=referral.pk)


def home(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


# --- Last visit -----------------------------------------------------------------------------------


def test_first_visit_has_no_previous_visit_and_is_recorded(worker):
    assert worker.note_home_visit(NOW) is None
    worker.refresh_from_db()
    assert worker.last_seen_at == NOW and worker.previous_visit_at is None


def test_views_within_the_gap_are_one_visit_and_keep_its_start(worker):
    worker.note_home_visit(NOW)
    later = NOW + datetime.timedelta(hours=3)
    assert worker.note_home_visit(later) == NOW  # a new visit: the previous one ended at NOW
    assert worker.note_home_visit(later + datetime.timedelta(minutes=30)) == NOW  # same visit, same news
    worker.refresh_from_db()
    assert worker.previous_visit_at == NOW


def test_a_visit_writes_the_row_at_most_every_few_minutes(worker, django_assert_num_queries):
    worker.note_home_visit(NOW)
    with django_assert_num_queries(0):
        worker.note_home_visit(NOW + datetime.timedelta(minutes=2))
    with django_assert_num_queries(1):
        worker.note_home_visit(NOW + datetime.timedelta(minutes=10))


# --- Home page ------------------------------------------------------------------------------------


def test_answers_since_the_last_visit_are_shown_and_older_ones_are_not(client_for, worker):
    old = ReferralFactory(case=CaseFactory(service=worker.service, reference="S-ANCIENNE"), to="accepted")
    ReferralEvent.objects.filter(referral=old).update(at=timezone.now() - datetime.timedelta(days=2))
    User.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - datetime.timedelta(days=1))
    worker.refresh_from_db()
    receiver = ServiceFactory(name="Foyer des Lilas")
    ReferralFactory(
        case=CaseFactory(service=worker.service, reference="S-NOUVELLE"), service=receiver, to="refused"
    )

    response = home(client_for(worker))
    answers = response.context["attention"].answers
    assert [event.referral.case.reference for event in answers] == ["S-NOUVELLE"]
    content = response.content.decode()
    assert "Réponses reçues depuis votre dernière visite" in content
    assert "Foyer des Lilas" in content and "Refusée" in content
    assert "S-ANCIENNE" not in content


def test_answers_stay_on_the_page_during_the_visit(client_for, worker):
    User.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - datetime.timedelta(days=1))
    worker.refresh_from_db()
    ReferralFactory(case=CaseFactory(service=worker.service, reference="S-REPONSE"), to="accepted")
    client = client_for(worker)
    assert "S-REPONSE" in home(client).content.decode()
    assert "S-REPONSE" in home(client).content.decode()  # reloading does not make it vanish


def test_only_answers_to_the_workers_own_service(client_for, worker):
    ReferralFactory(case=CaseFactory(reference="S-AUTRE"), to="accepted")
    assert "S-AUTRE" not in home(client_for(worker)).content.decode()


def test_referrals_waiting_for_the_service_and_the_navigation_count(client_for, worker):
    sent(2, service=worker.service, case=CaseFactory(reference="S-A-REPONDRE"))
    under_review = sent(5, service=worker.service)
    under_review.review()
    ReferralFactory(service=worker.service, to="accepted")  # answered: not waiting
    sent(1)  # another service's
    response = home(client_for(worker))
    attention = response.context["attention"]
    assert attention.waiting_count == 2
    assert len(attention.waiting) == 2
    content = response.content.decode()
    assert "S-A-REPONDRE" in content
    assert (
        '<span class="nav__count">2<span class="visually-hidden"> en attente de réponse</span></span>'
        in content
    )


def test_referrals_expiring_within_three_days_sent_or_received(client_for, worker):
    sent(28, service=worker.service, case=CaseFactory(reference="S-RECUE-EXPIRE"))  # expires in 2 days
    sent(29, case=CaseFactory(service=worker.service, reference="S-ENVOYEE-EXPIRE"))
    sent(20, service=worker.service, case=CaseFactory(reference="S-PAS-ENCORE"))  # expires in 10 days
    response = home(client_for(worker))
    expiring = {referral.case.reference for referral in response.context["attention"].expiring}
    assert expiring == {"S-RECUE-EXPIRE", "S-ENVOYEE-EXPIRE"}
    content = response.content.decode()
    assert "à répondre, de" in content and "sans réponse de" in content


def test_home_shows_nothing_to_do_plainly(client_for, worker):
    content = home(client_for(worker)).content.decode()
    assert "Aucune orientation n'attend la réponse de votre service." in content
    assert "Aucune nouvelle réponse à vos orientations." in content
    assert "nav__count" not in content


def test_home_query_count_does_not_grow_with_what_needs_the_worker(
    client_for, worker, django_assert_max_num_queries
):
    # One row in each section (waiting, answers, expiring), then many.
    sent(28, service=worker.service)
    ReferralFactory(case=CaseFactory(service=worker.service), to="accepted")
    client = client_for(worker)
    home(client)
    with CaptureQueriesContext(connection) as few:
        home(client)
    for days in (1, 2, 28, 29):
        sent(days, service=worker.service)
        ReferralFactory(case=CaseFactory(service=worker.service), to="accepted")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = home(client)
    attention = response.context["attention"]
    assert (len(attention.waiting), len(attention.answers), len(attention.expiring)) == (5, 5, 3)


def test_empty_sections_are_counted_not_read(client_for, worker):
    client = client_for(worker)
    home(client)
    with CaptureQueriesContext(connection) as nothing:
        home(client)
    sent(28, service=worker.service)  # waiting, and expiring
    with CaptureQueriesContext(connection) as something:
        home(client)
    # The waiting and expiring lists are read only when their count is not zero.
    assert len(something.captured_queries) == len(nothing.captured_queries) + 2


# --- The navigation's count on every page ---------------------------------------------------------


def _waiting_counts(queries):
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "referrals_referral" in q["sql"]]


@pytest.mark.parametrize(
    "url_name", ["partners:search", "referrals:case_list", "accounts:notification_settings"]
)
def test_every_page_counts_waiting_referrals_once(client_for, worker, url_name):
    sent(1, service=worker.service)
    client = client_for(worker)
    with CaptureQueriesContext(connection) as page:
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert len(_waiting_counts(page.captured_queries)) == 1
    assert '<span class="nav__count">1<' in response.content.decode()


def test_a_user_without_service_has_no_count_and_no_query(client_for):
    client = client_for(UserFactory())
    with CaptureQueriesContext(connection) as page:
        response = client.get(reverse("partners:search"))
    assert "nav__count" not in response.content.decode()
    assert _waiting_counts(page.captured_queries) == []


def test_the_count_is_the_awaiting_answer_rule(worker):
    sent(1, service=worker.service)
    ReferralFactory(service=worker.service)  # draft: never seen by the receiver
    ReferralFactory(service=worker.service, to="expired")
    assert Referral.objects.incoming_for(worker).awaiting_answer().count() == 1
    assert set(Referral.objects.incoming_for(worker).awaiting_answer().values_list("status", flat=True)) == {
        ReferralStatus.SENT
    }


def test_the_navigation_counts_what_the_queryset_counts(worker):
    # Its statement is compiled once from the queryset, then run for each service: the same figures.
    other = UserFactory(worker=True)
    for days in (1, 2, 3):
        sent(days, service=worker.service)
    sent(1, service=other.service).review()
    ReferralFactory(service=worker.service)  # draft
    ReferralFactory(service=other.service, to="accepted")
    for user in (worker, other, UserFactory(worker=True)):
        request = SimpleNamespace(user=user)
        assert waiting_count(request) == Referral.objects.incoming_for(user).awaiting_answer().count()
    assert [waiting_count(SimpleNamespace(user=user)) for user in (worker, other)] == [3, 1]
