"""The search's result cards: what each card of a results page shows, built for the whole page at once.

A card is a plain dict of values ready to print (texts formatted, badges decided), for one template
loop (``components/service_cards.html``). Rendering 20 cards as before (an include per card and three
per card for the badges, each value looked up on a model instance and formatted by a filter) cost
more than the page's search SQL. A dict is what Django's templates look up fastest: ``card.name``
is ``card["name"]`` at the first try, where a model instance is tried as a mapping, fails, then read
as an attribute.
"""

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import formats, timezone

from .enums import CapacityStatus
from .models import Service

CAPACITY_LABELS = dict(CapacityStatus.choices)


def _detail_url_of():
    """service id -> its page's URL, from one reverse() for the whole page (the id ends the URL)."""
    marker = 987654321
    url = reverse("partners:service_detail", kwargs={"pk": marker})
    head, tail = url.split(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _display_rows(ids):
    """{service id: (phone, organisation name, commune name, [thématique labels])}: one query, a row
    per thématique (or one row without), thématiques in label order."""
    rows = (
        Service.objects.filter(pk__in=ids)
        .order_by("pk", "domains__label")
        .values_list("pk", "phone", "organisation__name", "commune__name", "domains__label")
    )
    found = {}
    for pk, phone, organisation, commune, domain in rows:
        entry = found.get(pk)
        if entry is None:
            entry = found[pk] = (phone, organisation, commune or "", [])
        if domain is not None:
            entry[3].append(domain)
    return found


def service_cards(services, partnerships, today=None) -> list[dict]:
    """The cards of a results page, in the order of ``services`` (the search's page of Service rows,
    with ``distance_km`` when the search has a place): one query, whatever their number."""
    today = today or timezone.localdate()
    detail_url = _detail_url_of()
    rows = _display_rows([service.pk for service in services])
    dates = {}  # a page's services often share their verification day: formatted once each
    cards = []
    for service in services:
        phone, organisation, commune, domains = rows[service.pk]
        distance = getattr(service, "distance_km", None)
        verified_on = service.verified_on
        if verified_on is not None and verified_on not in dates:
            dates[verified_on] = formats.date_format(verified_on, "j F Y")  # as the |date filter
        cards.append(
            {
                "pk": service.pk,
                "url": detail_url(service.pk),
                "name": service.name,
                "organisation": organisation,
                "commune": commune,
                "distance": floatformat(distance, 1) if distance is not None else "",
                "phone": phone,
                "tel": phone.replace(" ", ""),
                # Titles of the conventions that make it an official partner; empty: outside them.
                "conventions": ", ".join(c.title for c in partnerships.conventions_with(service.pk)),
                "capacity": service.capacity_status,
                "capacity_label": CAPACITY_LABELS.get(service.capacity_status, service.capacity_status),
                "stale": service.is_stale(today),
                "verified": dates.get(verified_on, ""),
                "domains": domains,
            }
        )
    return cards
