from django.contrib.auth import views as auth_views
from django.shortcuts import render


def csrf_failure(request, reason=""):
    """A refused form (missing or stale CSRF token) gets a French 403 page in the site's layout.

    ``reason`` is Django's technical explanation: logged by Django, never shown.
    """
    return render(request, "403_csrf.html", status=403)


class LogoutView(auth_views.LogoutView):
    """GET shows a page with the logout button (a POST form); POST logs out, as Django's view does."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "registration/logout_confirm.html")
