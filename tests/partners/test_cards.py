"""The search's result cards (partners.cards): what each card shows, read for the whole page at once."""

import datetime
import re

import pytest
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import formats, timezone
from hypothesis import example, given
from hypothesis import strategies as st

from partners.cards import ServiceCards, _km, service_cards
from partners.enums import CapacityStatus
from partners.models import Service
from partners.partnerships import Partnerships
from tests.factories import (
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def page_of(*services):
    """The services as the search's page has them: the listed fields only, in the page's order."""
    by_pk = Service.objects.only("id", "name", "capacity_status", "verified_on").in_bulk(
        [s.pk for s in services]
    )
    return [by_pk[s.pk] for s in services]


def test_a_card_shows_its_service_in_the_page_order(django_assert_num_queries):
    commune = CommuneFactory(insee_code="35238", name="Rennes")
    first = ServiceFactory(
        name="Épicerie <solidaire>",
        organisation=OrganisationFactory(name="Asso Partage"),
        commune=commune,
        phone="02 99 12 34 56",
        capacity_status=CapacityStatus.WAITING_LIST,
        verified_on=datetime.date(2026, 3, 1),
        domains=[DomainFactory(label="Santé"), DomainFactory(label="Alimentation")],
    )
    second = ServiceFactory(name="Sans commune ni thématique", verified_on=None)
    page = page_of(second, first)
    page[1].distance_km = 2.25
    with django_assert_num_queries(1):
        cards = service_cards(page, Partnerships.of(None), today=datetime.date(2026, 6, 1))
    assert [card["pk"] for card in cards] == [second.pk, first.pk]
    never, card = cards
    assert card["url"] == reverse("partners:service_detail", args=[first.pk])
    assert (card["name"], card["organisation"], card["commune"]) == (
        "Épicerie <solidaire>",
        "Asso Partage",
        "Rennes",
    )
    assert card["distance"] == "2,3"  # |floatformat:1, in French
    assert (card["phone"], card["tel"]) == ("02 99 12 34 56", "0299123456")
    assert (card["capacity"], card["capacity_label"]) == ("waiting_list", "Liste d'attente")
    assert (card["stale"], card["verified"]) == (False, "1 mars 2026")
    assert card["domains"] == ["Alimentation", "Santé"]  # by label
    assert (never["commune"], never["distance"], never["phone"], never["domains"]) == ("", "", "", [])
    assert (never["stale"], never["verified"]) == (True, "")


def test_a_card_is_stale_by_the_staleness_rule():
    today = timezone.localdate()
    old = ServiceFactory(stale=True)
    fresh = ServiceFactory()
    cards = service_cards(page_of(old, fresh), Partnerships.of(None))
    assert [card["stale"] for card in cards] == [old.is_stale(today), fresh.is_stale(today)] == [True, False]


def test_a_card_names_the_conventions_of_an_official_partner():
    worker = UserFactory(worker=True)
    partner, outsider = ServiceFactory(), ServiceFactory()
    for title in ("Convention A", "Convention B"):
        convention = ConventionFactory(title=title)
        MembershipFactory(convention=convention, service=worker.service)
        MembershipFactory(convention=convention, service=partner)
    cards = service_cards(page_of(partner, outsider), Partnerships.of(worker.service_id))
    assert [card["conventions"] for card in cards] == ["Convention A, Convention B", ""]


def test_the_results_page_prints_the_cards(client_for):
    worker = UserFactory(worker=True)
    convention = ConventionFactory(title="Convention précarité")
    MembershipFactory(convention=convention, service=worker.service)
    partner = ServiceFactory(
        name="Épicerie & partage",
        description="Aide alimentaire",
        organisation=OrganisationFactory(name="Asso"),
        phone="02 99 00 00 00",
        full=True,
        domains=[DomainFactory(label="Alimentation")],
    )
    MembershipFactory(convention=convention, service=partner)
    ServiceFactory(name="Épicerie jamais vérifiée", description="Aide alimentaire", verified_on=None)
    content = client_for(worker).get("/recherche/", {"q": "alimentaire"}).content.decode()
    url = reverse("partners:service_detail", args=[partner.pk])
    assert f'<a href="{url}">Épicerie &amp; partage</a>' in content
    assert '<a class="service-card__phone" href="tel:0299000000">Appeler le 02 99 00 00 00</a>' in content
    assert '<span class="badge__detail">Convention précarité</span>' in content
    assert '<span class="badge badge--capacity-full">Complet</span>' in content
    assert '<span class="badge badge--stale">À revérifier (jamais vérifié)</span>' in content
    assert '<span class="tag">Alimentation</span>' in content
    assert content.count('<li class="service-card">') == 2


# (Under a millionth of a km, floatformat gives up and prints the float as it is: "5e-324".)
@given(st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=20_000)))
@example(2.25)
@example(0.05)
@example(9.95)
@example(1234.56)
def test_a_distance_is_written_as_the_floatformat_filter_writes_it(distance):
    assert _km(distance, formats.get_format("DECIMAL_SEPARATOR")) == floatformat(distance, 1)


# The template loop that wrote the cards until ServiceCards.html did (components/service_cards.html).
CARDS_TEMPLATE = """{% for card in cards %}
<li class="service-card">
  <h2 class="service-card__title"><a href="{{ card.url }}">{{ card.name }}</a></h2>
  <p class="service-card__org">{{ card.organisation }}{% if card.commune %} · {{ card.commune }}{% endif %}</p>
  {% if card.distance or card.phone %}
    <p class="service-card__reach">
      {% if card.distance %}<span class="distance">à {{ card.distance }} km</span>{% endif %}
      {% if card.phone %}<a class="service-card__phone" href="tel:{{ card.tel }}">Appeler le {{ card.phone }}</a>{% endif %}
    </p>
  {% endif %}
  <p class="badges">
    {% if card.conventions %}
      <span class="badge badge--partner">Partenaire conventionné<span class="visually-hidden"> :</span> <span class="badge__detail">{{ card.conventions }}</span></span>
    {% else %}
      <span class="badge badge--outside">Hors convention</span>
    {% endif %}
    <span class="badge badge--capacity-{{ card.capacity }}">{{ card.capacity_label }}</span>
    {% if card.stale %}
      <span class="badge badge--stale">À revérifier{% if card.verified %} (vérifié le {{ card.verified }}){% else %} (jamais vérifié){% endif %}</span>
    {% else %}
      <span class="freshness">Vérifié le {{ card.verified }}</span>
    {% endif %}
  </p>
  {% if card.domains %}<p class="service-card__domains">{% for label in card.domains %}<span class="tag">{{ label }}</span>{% endfor %}</p>{% endif %}
</li>
{% endfor %}
"""


def _card(**values):
    card = {
        "pk": 1,
        "url": "/services/1/",
        "name": "Épicerie <solidaire> & co",
        "organisation": 'Asso "Partage"',
        "commune": "Saint-Malo",
        "distance": "2,3",
        "phone": "02 99 12 34 56",
        "tel": "0299123456",
        "conventions": "Convention A, Convention <B>",
        "capacity": "waiting_list",
        "capacity_label": "Liste d'attente",
        "stale": False,
        "verified": "1 mars 2026",
        "domains": ["Alimentation", "Santé & soins"],
    }
    return card | values


@pytest.mark.parametrize(
    "cards",
    [
        [_card()],
        [_card(distance="", commune=""), _card(phone="", tel="", conventions="", domains=[])],
        [_card(distance="", phone="", tel="", stale=True), _card(stale=True, verified="", capacity="full")],
        [],
    ],
)
def test_the_cards_html_is_what_the_template_loop_wrote(cards):
    """Same markup, white space aside (a run of spaces and newlines is one space, here as in a browser)."""
    expected = Template(CARDS_TEMPLATE).render(Context({"cards": cards}))
    written = ServiceCards(cards).html
    assert re.sub(r"\s+", " ", written) == re.sub(r"\s+", " ", expected)
