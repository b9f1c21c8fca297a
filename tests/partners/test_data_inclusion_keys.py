"""The stable key of imported records: source and source id, together, unique together."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import OrganisationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("factory", [OrganisationFactory, ServiceFactory])
def test_records_typed_in_reseau_have_no_key_and_never_collide(factory):
    first, second = factory(), factory()
    assert (first.source, first.source_id) == (second.source, second.source_id) == ("", "")


@pytest.mark.parametrize("factory", [OrganisationFactory, ServiceFactory])
def test_the_same_source_key_cannot_be_stored_twice(factory):
    factory(source="dora", source_id="dora--42")
    factory(source="soliguide", source_id="dora--42")  # another source may reuse the id
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(source="dora", source_id="dora--42")


@pytest.mark.parametrize("factory", [OrganisationFactory, ServiceFactory])
@pytest.mark.parametrize("key", [{"source": "dora"}, {"source_id": "dora--42"}])
def test_a_half_key_is_refused_by_the_database(factory, key):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**key)
