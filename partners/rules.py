"""Object permissions for the admin, as `rules` predicates.

"My networks" is a relationship, not a grant row: a coordinator may manage a convention
because they coordinate its network. Loaded by rules' autodiscovery.
"""

import rules

from .models import Organisation, SearchSynonym, Service


@rules.predicate
def is_coordinator(user):
    return user.is_authenticated and user.is_coordinator


@rules.predicate
def coordinates_network(user, network):
    # Without an object (changelist, "add" button) the queryset scoping decides what is shown.
    if network is None:
        return True
    return network.coordinators.filter(pk=user.pk).exists()


@rules.predicate
def coordinates_convention(user, convention):
    if convention is None:
        return True
    return coordinates_network(user, convention.network)


@rules.predicate
def coordinates_membership(user, obj):
    # Inlines are asked with their parent convention, the membership admin with a membership.
    if obj is None:
        return True
    convention = getattr(obj, "convention", obj)
    return coordinates_network(user, convention.network)


@rules.predicate
def edits_service(user, service):
    # The rule itself lives in Service.objects.editable_by (also used to scope lists); without an object
    # (changelist) each row's change page decides.
    if service is None:
        return True
    return Service.objects.editable_by(user).filter(pk=service.pk).exists()


@rules.predicate
def edits_organisation(user, organisation):
    if organisation is None:
        return True
    return Organisation.objects.editable_by(user).filter(pk=organisation.pk).exists()


@rules.predicate
def edits_synonym(user, synonym):
    if synonym is None:
        return True
    return SearchSynonym.objects.editable_by(user).filter(pk=synonym.pk).exists()


coordinator_of_network = is_coordinator & coordinates_network
coordinator_of_convention = is_coordinator & coordinates_convention
coordinator_of_membership = is_coordinator & coordinates_membership

# Entry in the admin index for the app.
rules.add_perm("partners", is_coordinator)

# Directory: coordinators read the whole directory, add services and organisations, and change only those
# of their networks' conventions (current or past members) or that they created; the rest is read-only.
# Deletion stays with administrators.
for model in ("organisation", "service"):
    for action in ("view", "add"):
        rules.add_perm(f"partners.{action}_{model}", is_coordinator)
rules.add_perm("partners.change_service", is_coordinator & edits_service)
rules.add_perm("partners.change_organisation", is_coordinator & edits_organisation)

# Reference lists: coordinators may read them and add local entries.
for model in ("domain", "public", "accessmode", "fee", "servicetype", "language", "commune"):
    rules.add_perm(f"partners.view_{model}", is_coordinator)
for model in ("domain", "public"):
    rules.add_perm(f"partners.add_{model}", is_coordinator)

# Search synonyms serve every network: coordinators add them and change or delete their own.
for action in ("view", "add"):
    rules.add_perm(f"partners.{action}_searchsynonym", is_coordinator)
for action in ("change", "delete"):
    rules.add_perm(f"partners.{action}_searchsynonym", is_coordinator & edits_synonym)

rules.add_perm("partners.view_network", coordinator_of_network)
rules.add_perm("partners.change_network", coordinator_of_network)

for action in ("view", "add", "change", "delete"):
    rules.add_perm(f"partners.{action}_convention", coordinator_of_convention)
    rules.add_perm(f"partners.{action}_conventionmembership", coordinator_of_membership)
