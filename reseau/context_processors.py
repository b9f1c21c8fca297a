def csp_nonce(request):
    """Exposes django-csp's per-request nonce as ``csp_nonce`` (read by django-htmx's script tag).

    Lazy: the nonce, and its mention in the CSP header, exist only on pages that use it.
    """
    from django.utils.functional import SimpleLazyObject

    return {
        "csp_nonce": SimpleLazyObject(lambda: str(request.csp_nonce)) if hasattr(request, "csp_nonce") else ""
    }


def navigation(request):
    """``nav.waiting``: referrals waiting for the user's service, counted only if a page shows it."""
    from referrals.attention import Navigation

    return {"nav": Navigation(request)}
