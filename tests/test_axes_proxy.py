"""Brute-force lock behind a reverse proxy: the client address comes from the proxy's header, when told so."""

import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # every request reaches Django from the proxy
ATTACKER = "81.250.1.10"
COLLEAGUE = "90.12.34.56"


@pytest.fixture
def behind_a_proxy(settings):
    """What DJANGO_AXES_IP_HEADER=HTTP_X_FORWARDED_FOR (DJANGO_AXES_PROXY_COUNT=0) sets."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_PROXY_ORDER = "left-most"
    settings.IPWARE_STRICT = False


def log_in(client, forwarded_for, password):
    return client.post(
        reverse("login"),
        {"username": "camille@exemple.fr", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_a_proxy_two_clients_are_locked_separately(client, behind_a_proxy):
    UserFactory(email="camille@exemple.fr")
    for _ in range(3):
        log_in(client, ATTACKER, "mauvais")

    assert log_in(client, ATTACKER, DEFAULT_PASSWORD).status_code == 429
    response = log_in(client, COLLEAGUE, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user.email == "camille@exemple.fr"


def test_behind_a_proxy_an_address_written_by_the_client_is_not_trusted(client, behind_a_proxy):
    """The proxy appends the peer address: the attacker cannot pose as someone else by sending a header."""
    UserFactory(email="camille@exemple.fr")
    for n in range(3):
        # Each attempt claims another address; the proxy appended the real one.
        log_in(client, f"{COLLEAGUE}, 1.2.3.{n}, {ATTACKER}", "mauvais")

    assert log_in(client, ATTACKER, DEFAULT_PASSWORD).status_code == 429
    assert log_in(client, COLLEAGUE, DEFAULT_PASSWORD).status_code == 302


def test_by_default_the_header_is_ignored(client, settings):
    """Default (direct connection): a forwarded header is not trusted, the TCP peer is the client."""
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(email="camille@exemple.fr")
    for _ in range(3):
        log_in(client, ATTACKER, "mauvais")

    assert log_in(client, COLLEAGUE, DEFAULT_PASSWORD).status_code == 429
