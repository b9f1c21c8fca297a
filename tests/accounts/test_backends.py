"""The signed-in user is loaded with what pages read of their service and its commune, in one query."""

import pytest

from partners.communes import worker_point
from reseau.accounts.backends import UserBackend
from tests.factories import CommuneFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_comes_with_what_pages_read_of_their_service(django_assert_num_queries):
    commune = CommuneFactory(insee_code="35238", name="Rennes", latitude=48.11, longitude=-1.68)
    worker = UserFactory(service=ServiceFactory(name="Accueil de jour", commune=commune, latitude=None))
    with django_assert_num_queries(1):
        user = UserBackend().get_user(worker.pk)
        # The home page (name, organisation, commune), the search's centre and the worker's point.
        seen = (user.service.name, user.service.organisation_id, user.service.commune.name)
        centre, point = user.service_commune, worker_point(user)
    assert seen == ("Accueil de jour", worker.service.organisation_id, "Rennes")
    assert centre == commune and point == (48.11, -1.68)
    # The service's long texts and the rest stay in the database.
    assert {"description", "search_vector", "address", "phone"} <= user.service.get_deferred_fields()


def test_an_inactive_user_is_not_signed_in():
    assert UserBackend().get_user(UserFactory(is_active=False).pk) is None
