"""The navigation's links are reversed once per process, per script prefix (what reverse() depends on)."""

from django.urls import get_script_prefix, reverse, set_script_prefix

from reseau.context_processors import _NAVIGATION_LINKS, _navigation_urls


def test_the_links_are_the_reversed_urls_under_each_script_prefix():
    before = get_script_prefix()
    try:
        for prefix in ("/", "/reseau/"):
            set_script_prefix(prefix)
            assert _navigation_urls() == {key: reverse(name) for key, name in _NAVIGATION_LINKS.items()}
            assert _navigation_urls()["home"] == prefix
    finally:
        set_script_prefix(before)
