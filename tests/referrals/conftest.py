"""Fixtures shared by the referral tests."""

import pytest

from tests.factories import CaseFactory, DomainFactory, ServiceFactory, UserFactory


@pytest.fixture
def gap():
    """A worker's case whose need no official partner covers: any target is ``no_partner``."""
    need = DomainFactory(label="Logement")
    case = CaseFactory(needs=[need])
    worker = UserFactory(service=case.service, email="referente@ccas.fr")
    target = ServiceFactory(name="Agence logement", domains=[need], email="accueil@agence.fr")
    return {"case": case, "worker": worker, "target": target, "need": need}
