"""Search-index maintenance on every write: derived data, not domain logic.

Bulk paths (imports, demo data) disable these with ``search_index_paused()`` and re-index once.
"""

import contextlib
import threading

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import search_index
from .models import Domain, Organisation, SearchSynonym, Service
from .synonyms import forget_synonyms

_state = threading.local()


@contextlib.contextmanager
def search_index_paused():
    previous = getattr(_state, "paused", False)
    _state.paused = True
    try:
        yield
    finally:
        _state.paused = previous


def _active():
    return not getattr(_state, "paused", False)


@receiver(post_save, sender=Service)
def index_saved_service(sender, instance, raw=False, **kwargs):
    if _active() and not raw:
        search_index.index_services([instance.pk])


@receiver(post_delete, sender=Service)
def unindex_deleted_service(sender, instance, **kwargs):
    if _active():
        search_index.unindex_services([instance.pk])


@receiver(m2m_changed, sender=Service.domains.through)
def index_service_domains(sender, instance, action, reverse, pk_set, **kwargs):
    if not _active() or action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:  # domain.services.add(...): the services are in pk_set
        ids = pk_set or Service.objects.filter(domains=instance).values_list("pk", flat=True)
        search_index.index_services(ids)
    else:
        search_index.index_services([instance.pk])


@receiver(post_save, sender=Organisation)
def index_organisation_services(sender, instance, created, raw=False, **kwargs):
    if _active() and not raw and not created:
        search_index.index_services(instance.services.values_list("pk", flat=True))


@receiver(post_save, sender=Domain)
def index_domain_services(sender, instance, created, raw=False, **kwargs):
    if _active() and not raw and not created:
        search_index.index_services(
            Service.objects.filter(domains__in=[instance.pk, *instance.children.values_list("pk", flat=True)])
            .values_list("pk", flat=True)
            .distinct()
        )


@receiver(post_save, sender=SearchSynonym)
@receiver(post_delete, sender=SearchSynonym)
def forget_cached_synonyms(sender, **kwargs):
    # At once in this process, and again at commit: a search between the two would cache the old table.
    forget_synonyms()
    transaction.on_commit(forget_synonyms)
