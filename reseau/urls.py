from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from partners.views import home
from reseau.accounts.forms import EmailAuthenticationForm

urlpatterns = [
    path("", home, name="home"),
    path(
        "connexion/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("partners.urls")),
    path("", include("referrals.urls")),
    path("", include("reseau.accounts.urls")),
    path("admin/", admin.site.urls),
]
