"""The search's result cards: what each card of a results page shows, built for the whole page at once.

A card is a plain dict of values ready to print (texts formatted, badges decided). Rendering 20 cards
as before (an include per card and three per card for the badges, each value looked up on a model
instance and formatted by a filter) cost more than the page's search SQL; one template loop over the
dicts still cost ~2.1 ms a page (best of 7 × 200 renders on the bench machine), written out here at
once (``ServiceCards.html``, as partners.checkboxes does for the filters) ~0.2 ms. The markup is the
one the template loop wrote (tests/partners/test_cards.py compares them), and its badges have the
markup of components/convention_badge.html, capacity_badge.html and freshness.html (the service page's).
"""

import functools
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.safestring import mark_safe
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


def _card_html(card) -> str:
    """One card's <li>, every value escaped. Lines end where the template loop had white space."""
    place = f" · {escape(card['commune'])}" if card["commune"] else ""
    lines = [
        '<li class="service-card">',
        f'<h2 class="service-card__title"><a href="{escape(card["url"])}">{escape(card["name"])}</a></h2>',
        f'<p class="service-card__org">{escape(card["organisation"])}{place}</p>',
    ]
    if card["distance"] or card["phone"]:
        lines.append('<p class="service-card__reach">')
        if card["distance"]:
            lines.append(f'<span class="distance">à {escape(card["distance"])} km</span>')
        if card["phone"]:
            lines.append(
                f'<a class="service-card__phone" href="tel:{escape(card["tel"])}">'
                f"Appeler le {escape(card['phone'])}</a>"
            )
        lines.append("</p>")
    lines.append('<p class="badges">')
    if card["conventions"]:
        lines.append(
            '<span class="badge badge--partner">Partenaire conventionné<span class="visually-hidden"> :</span> '
            f'<span class="badge__detail">{escape(card["conventions"])}</span></span>'
        )
    else:
        lines.append('<span class="badge badge--outside">Hors convention</span>')
    lines.append(
        f'<span class="badge badge--capacity-{escape(card["capacity"])}">{escape(card["capacity_label"])}</span>'
    )
    if card["stale"]:
        verified = f"vérifié le {escape(card['verified'])}" if card["verified"] else "jamais vérifié"
        lines.append(f'<span class="badge badge--stale">À revérifier ({verified})</span>')
    else:
        lines.append(f'<span class="freshness">Vérifié le {escape(card["verified"])}</span>')
    lines.append("</p>")
    if card["domains"]:
        tags = "".join(f'<span class="tag">{escape(label)}</span>' for label in card["domains"])
        lines.append(f'<p class="service-card__domains">{tags}</p>')
    lines.append("</li>")
    return "\n".join(lines)


class ServiceCards(list):
    """The cards of a page, and their <li>s written out at once (``html``, for the results' <ol>)."""

    @cached_property
    def html(self):
        return mark_safe("\n" + "\n".join(_card_html(card) for card in self) + "\n")


def service_cards(services, partnerships, today=None) -> ServiceCards:
    """The cards of a results page, in the order of ``services`` (the search's page of Service rows,
    with ``distance_km`` when the search has a place): one query, whatever their number."""
    today = today or timezone.localdate()
    detail_url = detail_url_of()
    rows = _display_rows([service.pk for service in services])
    language = get_language()
    separator = formats.get_format("DECIMAL_SEPARATOR")
    cards = ServiceCards()
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
