"""Case and referral pages, tested by trying to break them."""

import pytest
from django.urls import reverse

from referrals.enums import ReferralStatus
from referrals.models import Referral
from tests.factories import CaseFactory, DomainFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral():
    """A referral sent by a case's service to a receiving service."""
    need = DomainFactory()
    case = CaseFactory(needs=[need])
    return ReferralFactory(case=case, needs=[need], to="sent")


def test_colleague_sees_the_case_other_service_gets_404(client_for, referral):
    colleague = UserFactory(service=referral.case.service)
    stranger = UserFactory(worker=True)
    url = reverse("referrals:case_detail", args=[referral.case_id])
    assert client_for(colleague).get(url).status_code == 200
    assert client_for(stranger).get(url).status_code == 404
    assert (
        client_for(stranger).get(reverse("referrals:case_routing", args=[referral.case_id])).status_code
        == 404
    )


def test_other_service_cannot_open_or_answer_a_referral(client_for, referral):
    stranger = client_for(UserFactory(worker=True))
    assert stranger.get(reverse("referrals:referral_detail", args=[referral.pk])).status_code == 404
    response = stranger.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 404
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_sender_cannot_accept_their_own_referral(client_for, referral):
    sender = client_for(UserFactory(service=referral.case.service))
    response = sender.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_receiver_accepts_then_a_second_answer_is_refused_with_409(client_for, referral):
    receiver = client_for(UserFactory(service=referral.service))
    url = reverse("referrals:referral_transition", args=[referral.pk, "accepter"])
    assert receiver.post(url).status_code == 302
    response = receiver.post(
        reverse("referrals:referral_transition", args=[referral.pk, "refuser"]), {"reason": "full"}
    )
    assert response.status_code == 409
    assert "Impossible" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED


def test_refusal_without_reason_is_a_400_and_changes_nothing(client_for, referral):
    receiver = client_for(UserFactory(service=referral.service))
    response = receiver.post(
        reverse("referrals:referral_transition", args=[referral.pk, "refuser"]), {"reason": ""}
    )
    assert response.status_code == 400
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_user_without_service_gets_403_on_cases(client_for):
    assert client_for(UserFactory()).get(reverse("referrals:case_list")).status_code == 403


def test_inbox_query_count_does_not_grow(client_for, referral, django_assert_max_num_queries):
    receiver = client_for(UserFactory(service=referral.service))
    receiver.get(reverse("referrals:inbox"))
    with django_assert_max_num_queries(8) as few:
        receiver.get(reverse("referrals:inbox"))
    for _ in range(5):
        ReferralFactory(service=referral.service, needs=[DomainFactory()], to="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = receiver.get(reverse("referrals:inbox"))
    assert len(response.context["referrals"]) == 6


def test_case_page_query_count_does_not_grow(client_for, referral, django_assert_max_num_queries):
    worker = client_for(UserFactory(service=referral.case.service))
    url = reverse("referrals:case_detail", args=[referral.case_id])
    worker.get(url)
    with django_assert_max_num_queries(12) as few:
        worker.get(url)
    for _ in range(5):
        ReferralFactory(case=referral.case, needs=[DomainFactory()], to="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert worker.get(url).status_code == 200
