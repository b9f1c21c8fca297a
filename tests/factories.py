"""factory_boy factories shared by the test suite, with traits for the usual states."""

import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from partners.enums import CapacityStatus, ConventionStatus, LegalKind
from partners.models import (
    AccessMode,
    Commune,
    Convention,
    ConventionMembership,
    Domain,
    Fee,
    Language,
    Network,
    Organisation,
    Postcode,
    Public,
    Service,
    ServiceType,
)
from reseau.accounts.models import User

DEFAULT_PASSWORD = "mot-de-passe-de-test-2026"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.django.Password(DEFAULT_PASSWORD)

    class Params:
        worker = factory.Trait(service=factory.SubFactory("tests.factories.ServiceFactory"))
        admin = factory.Trait(is_staff=True, is_superuser=True)


class CoordinatorFactory(UserFactory):
    is_staff = True

    class Meta:
        model = User
        skip_postgeneration_save = True

    @factory.post_generation
    def networks(obj, create, extracted, **kwargs):
        if create and extracted:
            for network in extracted:
                network.coordinators.add(obj)


class CommuneFactory(DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ["insee_code"]
        skip_postgeneration_save = True

    insee_code = factory.Sequence(lambda n: f"{35000 + n % 1000:05d}")
    name = factory.Sequence(lambda n: f"Commune {n}")
    department = factory.LazyAttribute(lambda o: o.insee_code[:2])
    population = 1000
    latitude = 48.11
    longitude = -1.68

    @factory.post_generation
    def postcodes(obj, create, extracted, **kwargs):
        if create:
            for code in extracted or []:
                Postcode.objects.get_or_create(commune=obj, code=code)


class DomainFactory(DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"domaine-{n}")
    label = factory.Sequence(lambda n: f"Domaine {n}")
    parent = None

    class Params:
        national = factory.Trait(is_national=True)


class PublicFactory(DjangoModelFactory):
    class Meta:
        model = Public
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"public-{n}")
    label = factory.Sequence(lambda n: f"Public {n}")

    class Params:
        national = factory.Trait(is_national=True)


class AccessModeFactory(DjangoModelFactory):
    class Meta:
        model = AccessMode
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"accueil-{n}")
    label = factory.Sequence(lambda n: f"Accueil {n}")

    class Params:
        national = factory.Trait(is_national=True)


class FeeFactory(DjangoModelFactory):
    class Meta:
        model = Fee
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"frais-{n}")
    label = factory.Sequence(lambda n: f"Frais {n}")

    class Params:
        national = factory.Trait(is_national=True)


class ServiceTypeFactory(DjangoModelFactory):
    class Meta:
        model = ServiceType
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"type-{n}")
    label = factory.Sequence(lambda n: f"Type {n}")

    class Params:
        national = factory.Trait(is_national=True)


class LanguageFactory(DjangoModelFactory):
    class Meta:
        model = Language
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"langue-{n}")
    label = factory.Sequence(lambda n: f"Langue {n}")

    class Params:
        national = factory.Trait(is_national=True)


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Faker("company", locale="fr_FR")
    legal_kind = LegalKind.ASSOCIATION


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "Accompagnement des personnes."
    latitude = 48.11
    longitude = -1.68
    capacity_status = CapacityStatus.OPEN
    verified_on = factory.LazyFunction(timezone.localdate)

    @factory.post_generation
    def domains(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.domains.set(extracted)

    class Params:
        full = factory.Trait(capacity_status=CapacityStatus.FULL)
        stale = factory.Trait(
            verified_on=factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=400))
        )


class NetworkFactory(DjangoModelFactory):
    class Meta:
        model = Network

    name = factory.Sequence(lambda n: f"Réseau {n}")
    territory = "Rennes"


class ConventionFactory(DjangoModelFactory):
    class Meta:
        model = Convention

    network = factory.SubFactory(NetworkFactory)
    title = factory.Sequence(lambda n: f"Convention {n}")
    status = ConventionStatus.ACTIVE
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=365))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))

    class Params:
        draft = factory.Trait(status=ConventionStatus.DRAFT)
        ended = factory.Trait(
            status=ConventionStatus.ENDED,
            valid_from=factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=800)),
            valid_until=factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30)),
        )


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = ConventionMembership

    convention = factory.SubFactory(ConventionFactory)
    service = factory.SubFactory(ServiceFactory)
    joined_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=300))


def partner_ids_seen_by(service_id):
    """The partners of ``service_id`` as a page sees them: from the process's memory while the
    partnerships token holds (partners.partnerships.Partnerships.for_request)."""
    from types import SimpleNamespace

    from partners.partnerships import Partnerships

    request = SimpleNamespace(user=SimpleNamespace(service_id=service_id))
    return Partnerships.for_request(request).partner_ids


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = "referrals.Case"
        skip_postgeneration_save = True

    service = factory.SubFactory(ServiceFactory)
    commune = factory.SubFactory(CommuneFactory)

    @factory.post_generation
    def needs(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.needs.set(extracted)

    class Params:
        closed = factory.Trait(status="closed", closed_at=factory.LazyFunction(timezone.now))


class ReferralFactory(DjangoModelFactory):
    """A referral in the given status, built through the real transitions (the status field is protected)."""

    class Meta:
        model = "referrals.Referral"
        skip_postgeneration_save = True

    case = factory.SubFactory(CaseFactory)
    service = factory.SubFactory(ServiceFactory)
    classification = "no_partner"

    @factory.post_generation
    def needs(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.needs.set(extracted)

    @factory.post_generation
    def to(obj, create, extracted, **kwargs):
        """``ReferralFactory(to="accepted")``: walks the life-cycle up to that status."""
        if not create or not extracted or extracted == "draft":
            return
        paths = {
            "sent": ["send"],
            "under_review": ["send", "review"],
            "accepted": ["send", "accept"],
            "refused": ["send", ("refuse", {"reason": "full"})],
            "completed": ["send", "accept", "complete"],
            "cancelled": ["cancel"],
            "expired": ["send", "expire"],
        }
        for step in paths[extracted]:
            name, extra = step if isinstance(step, tuple) else (step, {})
            getattr(obj, name)(by=None, **extra)


class ErrorReportFactory(DjangoModelFactory):
    class Meta:
        model = "partners.ErrorReport"

    service = factory.SubFactory(ServiceFactory)
    category = "contact"
    text = "Le téléphone ne répond plus."
    reporter = factory.SubFactory(UserFactory, worker=True)

    class Params:
        closed = factory.Trait(status="closed", closed_at=factory.LazyFunction(timezone.now))
