def csp_nonce(request):
    """Exposes django-csp's per-request nonce as ``csp_nonce`` (read by django-htmx's script tag).

    Lazy: the nonce, and its mention in the CSP header, exist only on pages that use it.
    """
    from django.utils.functional import SimpleLazyObject

    return {
        "csp_nonce": SimpleLazyObject(lambda: str(request.csp_nonce)) if hasattr(request, "csp_nonce") else ""
    }


def navigation(request):
    """``nav.waiting``: referrals waiting for the user's service, counted only if a page shows it;
    ``nav_urls``: the navigation's links."""
    from referrals.attention import Navigation

    return {"nav": Navigation(request), "nav_urls": _navigation_urls()}


# The navigation's links on every page: reversed once per process (per URL configuration and script
# prefix, what reverse() depends on), not seven reverse() calls a page.
_NAVIGATION_LINKS = {
    "home": "home",
    "search": "partners:search",
    "cases": "referrals:case_list",
    "inbox": "referrals:inbox",
    "admin": "admin:index",
    "emails": "accounts:notification_settings",
    "logout": "logout",
}
_navigation_urls_by_prefix = {}


def _navigation_urls():
    from django.urls import get_script_prefix, get_urlconf, reverse

    configuration = (get_urlconf(), get_script_prefix())
    urls = _navigation_urls_by_prefix.get(configuration)
    if urls is None:
        urls = _navigation_urls_by_prefix[configuration] = {
            link: reverse(name) for link, name in _NAVIGATION_LINKS.items()
        }
    return urls
