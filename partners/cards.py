"""The search's result cards: what each card of a results page shows, built for the whole page at once.

A card is a plain dict of values ready to print (texts formatted, badges decided), for one template
loop (``components/service_cards.html``). Rendering 20 cards as before (an include per card and three
per card for the badges, each value looked up on a model instance and formatted by a filter) cost
more than the page's search SQL. A dict is what Django's templates look up fastest: ``card.name``
is ``card["name"]`` at the first try, where a model instance is tried as a mapping, fails, then read
as an attribute.
"""

import functools
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language

from .enums import CapacityStatus

CAPACITY_LABELS = dict(CapacityStatus.choices)
TENTH = Decimal("0.1")


@functools.lru_cache(maxsize=1024)
def _day(day, language):
    """A verification day as the |date:"j F Y" filter writes it ("3 décembre 2026"), once per day and
    language for the process: there are a few hundred such days, and formatting one costs tens of µs."""
    return formats.date_format(day, "j F Y")


def _km(distance, separator):
    """A distance as |floatformat:1 writes it ("2,3" for 2.25: rounded half up from its decimal
    text), at a tenth of its cost; a test holds the two equal."""
    return str(Decimal(repr(distance)).quantize(TENTH, ROUND_HALF_UP)).replace(".", separator)


def detail_url_of():
    """service id -> its page's URL, from one reverse() for the whole page (not one a card)."""
    marker = 987654321
    url = reverse("partners:service_detail", kwargs={"pk": marker})
    head, tail = url.split(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _display_rows(ids):
    """{service id: (phone, organisation name, commune name, [thématique labels])}: one query, a row
    per thématique (or one row without), thématiques in label order.

    Plain SQL: the ORM took four times the query's own time to build this one and read its rows (1.7 ms
    against 0.4 ms a page on the bench copy), for what is a fixed read of five columns."""
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.phone, o.name, c.name, d.label FROM partners_service s "
            "JOIN partners_organisation o ON o.id = s.organisation_id "
            "LEFT JOIN partners_commune c ON c.insee_code = s.commune_id "
            "LEFT JOIN partners_service_domains sd ON sd.service_id = s.id "
            "LEFT JOIN partners_domain d ON d.id = sd.domain_id "
            f"WHERE s.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY s.id, d.label",
            list(ids),
        )
        rows = cursor.fetchall()
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
    detail_url = detail_url_of()
    rows = _display_rows([service.pk for service in services])
    language = get_language()
    separator = formats.get_format("DECIMAL_SEPARATOR")
    cards = []
    for service in services:
        phone, organisation, commune, domains = rows[service.pk]
        distance = getattr(service, "distance_km", None)
        verified_on = service.verified_on
        cards.append(
            {
                "pk": service.pk,
                "url": detail_url(service.pk),
                "name": service.name,
                "organisation": organisation,
                "commune": commune,
                "distance": _km(distance, separator) if distance is not None else "",
                "phone": phone,
                "tel": phone.replace(" ", ""),
                # Titles of the conventions that make it an official partner; empty: outside them.
                "conventions": ", ".join(c.title for c in partnerships.conventions_with(service.pk)),
                "capacity": service.capacity_status,
                "capacity_label": CAPACITY_LABELS.get(service.capacity_status, service.capacity_status),
                "stale": service.is_stale(today),
                "verified": _day(verified_on, language) if verified_on is not None else "",
                "domains": domains,
            }
        )
    return cards
