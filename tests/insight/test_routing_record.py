"""Routing records the needs it found no service for: once per case, need and day; nothing identifying."""

import pytest
from django.urls import reverse

from referrals.models import UncoveredNeed
from tests.factories import CaseFactory, DomainFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_proposals_record_the_needs_no_service_covers_once_a_day(client_for):
    covered, orphan = DomainFactory(label="Alimentation"), DomainFactory(label="Garde d'animaux")
    ServiceFactory(domains=[covered])
    worker = UserFactory(worker=True)
    case = CaseFactory(service=worker.service, needs=[covered, orphan], notes="Ne rien noter d'identifiant.")
    client = client_for(worker)
    url = reverse("referrals:case_routing", args=[case.pk])
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    recorded = list(UncoveredNeed.objects.values("need", "commune", "sender_service", "case_digest"))
    assert len(recorded) == 1
    assert recorded[0]["need"] == orphan.pk
    assert recorded[0]["commune"] == case.commune_id
    assert recorded[0]["sender_service"] == worker.service_id
    assert case.reference not in recorded[0]["case_digest"]


def test_proposals_covering_every_need_record_nothing(client_for):
    need = DomainFactory()
    ServiceFactory(domains=[need])
    worker = UserFactory(worker=True)
    case = CaseFactory(service=worker.service, needs=[need])
    assert client_for(worker).get(reverse("referrals:case_routing", args=[case.pk])).status_code == 200
    assert not UncoveredNeed.objects.exists()
