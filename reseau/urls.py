from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from partners.views import home
from reseau.accounts.forms import EmailAuthenticationForm
from reseau.views import LogoutView

# Errors: Django's own handlers render templates/400.html, 403.html, 404.html and 500.html (the last one
# without the database, a user or any context processor); 405 and CSRF failures: see reseau/settings.py.

urlpatterns = [
    path("", home, name="home"),
    path(
        "connexion/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("deconnexion/", LogoutView.as_view(), name="logout"),
    path("", include("partners.urls")),
    path("", include("referrals.urls")),
    path("", include("referrals.insight_urls")),
    path("", include("reseau.accounts.urls")),
    path("admin/", admin.site.urls),
]
