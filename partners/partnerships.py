"""Official partners: the one place that says who they are, under which conventions, for which needs.

PRODUCT.md's rule: a service's *official partners* on a day are the **active** services that are
current members of a convention in force that day (status active, valid_from ≤ day ≤ valid_until)
of which the service itself is also a current member (joined_on ≤ day < left_on). A service is not
its own partner.

Every screen asks this read model: the home page, the search badges and its "partners only"
filter, the service page, routing and the classification of referrals. Pages read it through
``Partnerships.for_request``: each process keeps the memberships it loaded, per service and day, with
the names of the members and of their organisations (what the home page lists), until the
partnerships' version token changes (partners.versions, read with the reference lists' in one
query per request). Every write that changes the picture bumps that token: saving or deleting a
convention, a membership or a network, (de)activating, renaming or moving a service to another
organisation, renaming an organisation (the receivers below), and bulk writes (imports, bulk
updates), which call ``partnerships_changed()``. Classification reads the
database (``Partnerships.of``). What only classification needs (the scope of each convention, the
needs partners cover) is loaded on first use, one query each.
"""

import datetime
from functools import cached_property
from typing import NamedTuple

from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from .models import (
    SERVICE_FIELDS_IN_PARTNERSHIPS,
    Convention,
    ConventionMembership,
    Domain,
    Network,
    Organisation,
    Service,
    needs_met_by,
)
from .versions import PARTNERSHIPS, version_changed, version_token

_REQUEST_ATTRIBUTE = "_reseau_partnerships"


class PartnerName(NamedTuple):
    pk: int
    name: str
    organisation_name: str


class Partnerships:
    """The official partnerships of one service on one day."""

    def __init__(self, service_id, on, memberships):
        self.service_id = service_id
        self.on = on
        conventions, conventions_of, members_of, self._names = {}, {}, {}, {}
        # Oldest convention first: classification records the oldest one that fits.
        for membership in sorted(memberships, key=lambda m: (m.convention.valid_from, m.convention_id)):
            convention = conventions.setdefault(membership.convention_id, membership.convention)
            members_of.setdefault(convention.pk, set()).add(membership.service_id)
            self._names[membership.service_id] = (membership.service_name, membership.organisation_name)
            if membership.service_id != service_id and membership.service_is_active:
                conventions_of.setdefault(membership.service_id, []).append(convention)
        self._conventions = list(conventions.values())
        self._conventions_of = {pk: tuple(found) for pk, found in conventions_of.items()}
        self._members_of = members_of

    @classmethod
    def of(cls, service_id, on: datetime.date | None = None) -> "Partnerships":
        """The partnerships of ``service_id`` (a Service or its id; None: no service, no partner)."""
        service_id = getattr(service_id, "pk", service_id)
        on = on or timezone.localdate()
        if not service_id:
            return cls(None, on, [])
        return cls(service_id, on, _memberships(service_id, on))

    @classmethod
    def for_request(cls, request) -> "Partnerships":
        """The signed-in worker's partnerships today, from the process's memory while the token holds."""
        cached = getattr(request, _REQUEST_ATTRIBUTE, None)
        if cached is None:
            service_id = getattr(request.user, "service_id", None)
            on = timezone.localdate()
            memberships = _cached_memberships(service_id, on) if service_id else ()
            cached = cls(service_id, on, memberships)
            setattr(request, _REQUEST_ATTRIBUTE, cached)
        return cached

    # --- Who --------------------------------------------------------------------------------------

    @property
    def partner_ids(self) -> frozenset[int]:
        return frozenset(self._conventions_of)

    def is_partner(self, service_id) -> bool:
        return service_id in self._conventions_of

    @property
    def conventions(self) -> list:
        """The conventions in force the service is a current member of, oldest first."""
        return list(self._conventions)

    def member_count(self, convention) -> int:
        """Current members of one of these conventions, the service itself included."""
        return len(self._members_of.get(convention.pk, ()))

    def conventions_with(self, service_id) -> tuple:
        """The conventions under which ``service_id`` is an official partner (empty: outside)."""
        return self._conventions_of.get(service_id, ())

    def partners(self):
        """The partner services, ordered by organisation then name (pages that only name them: ``partner_list``)."""
        return (
            Service.objects.filter(pk__in=self.partner_ids)
            .select_related("organisation")
            .order_by("organisation__name", "name", "pk")
        )

    def partner_list(self) -> list["PartnerName"]:
        """The partner services as pages name them, ordered like ``partners()``: from memory, no query."""
        rows = [PartnerName(pk, *self._names[pk]) for pk in self._conventions_of]
        return sorted(rows, key=lambda row: (row.organisation_name, row.name, row.pk))

    def organisation_name(self, service_id) -> str | None:
        """The organisation of a member service (None: not a member of these conventions)."""
        names = self._names.get(service_id)
        return names[1] if names else None

    # --- Under which convention, for which needs --------------------------------------------------

    @cached_property
    def _scope_needs(self) -> dict[int, frozenset[int]]:
        """Convention id -> the needs its scope domains meet (one query, on first use)."""
        scope = {convention.pk: set() for convention in self._conventions}
        rows = Domain.objects.filter(conventions__in=self._conventions).values_list(
            "conventions", "pk", "parent_id"
        )
        for convention_id, domain_id, parent_id in rows:
            scope[convention_id].update(needs_met_by(domain_id, parent_id))
        return {pk: frozenset(needs) for pk, needs in scope.items()}

    @cached_property
    def covered_needs(self) -> frozenset[int]:
        """Every need some official partner meets (one query, on first use)."""
        rows = Service.domains.through.objects.filter(service_id__in=self.partner_ids).values_list(
            "domain_id", "domain__parent_id"
        )
        return frozenset(need for domain_id, parent_id in rows for need in needs_met_by(domain_id, parent_id))

    def convention_for(self, service_id, need_ids):
        """The convention a referral to partner ``service_id`` for ``need_ids`` is made under.

        The oldest shared convention whose scope meets one of the needs, else the oldest shared one;
        None when ``service_id`` is not an official partner.
        """
        shared = self.conventions_with(service_id)
        if not shared:
            return None
        need_ids = set(need_ids)
        in_scope = [c for c in shared if need_ids & self._scope_needs.get(c.pk, frozenset())]
        return (in_scope or shared)[0]

    def cover(self, need_ids) -> set[int]:
        """The needs among ``need_ids`` that an official partner meets."""
        return set(need_ids) & self.covered_needs


# --- In process memory ------------------------------------------------------------------------------

# Services whose memberships one process keeps at most: a token change or this bound empties it.
CACHED_SERVICES_MAX = 10_000


def _memberships(service_id, on) -> tuple:
    # The current memberships of the conventions in force that the service shares, its own included
    # (a convention of which it is the only member still counts as one of its conventions).
    return tuple(
        ConventionMembership.objects.current_on(on)
        .filter(convention__in=Convention.objects.shared_by(service_id, on=on))
        .select_related("convention__network")
        .annotate(
            service_is_active=F("service__is_active"),
            # What the home page shows of the partners (and of the service itself).
            service_name=F("service__name"),
            organisation_name=F("service__organisation__name"),
        )
    )


class _Memory:
    def __init__(self, token):
        self.token = token
        self.memberships = {}  # (service id, day) -> its memberships (read-only instances)


_memory = _Memory(None)


def _cached_memberships(service_id, on) -> tuple:
    global _memory
    token = version_token(PARTNERSHIPS)
    if token is None:  # no row (a flushed test database): never trusted
        return _memberships(service_id, on)
    memory = _memory
    if memory.token != token:
        memory = _memory = _Memory(token)
    key = (service_id, on)
    found = memory.memberships.get(key)
    if found is None:
        found = _memberships(service_id, on)
        if len(memory.memberships) >= CACHED_SERVICES_MAX:
            memory.memberships.clear()
        memory.memberships[key] = found
    return found


def partnerships_changed() -> None:
    """The partnership picture changed (bulk writes call this): every process reloads at its next request."""
    global _memory
    version_changed(PARTNERSHIPS)
    _memory = _Memory(None)


def _written(sender, **kwargs):
    partnerships_changed()


def _members_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        partnerships_changed()


def _saved_with_changes(fields):
    """A post_save receiver: the partnerships changed if one of ``fields`` did (models.from_db keeps them as
    loaded). A new row is a member of nothing yet."""

    def receiver(sender, instance, created, **kwargs):
        saved = tuple(instance.__dict__.get(name) for name in fields)
        if not created and getattr(instance, "_loaded_for_partnerships", None) != saved:
            partnerships_changed()
        instance._loaded_for_partnerships = saved

    return receiver


_service_saved = _saved_with_changes(SERVICE_FIELDS_IN_PARTNERSHIPS)
_organisation_saved = _saved_with_changes(("name",))


for _model in (Convention, ConventionMembership, Network):
    post_save.connect(_written, sender=_model, dispatch_uid=f"partnerships_{_model.__name__}_saved")
    post_delete.connect(_written, sender=_model, dispatch_uid=f"partnerships_{_model.__name__}_deleted")
# convention.members.add(...) writes memberships without post_save.
m2m_changed.connect(
    _members_changed, sender=Convention.members.through, dispatch_uid="partnerships_members_changed"
)
post_save.connect(_service_saved, sender=Service, dispatch_uid="partnerships_service_saved")
post_save.connect(_organisation_saved, sender=Organisation, dispatch_uid="partnerships_organisation_saved")
post_delete.connect(_written, sender=Service, dispatch_uid="partnerships_service_deleted")
