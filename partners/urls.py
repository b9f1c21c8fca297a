from django.urls import path

from . import link_views, views

app_name = "partners"

urlpatterns = [
    path("recherche/", views.search, name="search"),
    path("annuaire/services/<int:pk>/", views.service_detail, name="service_detail"),
    path("annuaire/services/<int:pk>/signaler/", views.report_error, name="error_report_create"),
    path("annuaire/services/<int:pk>/lien-fiche/", views.listing_link_request, name="listing_link_request"),
    path("annuaire/communes/", views.commune_suggestions, name="commune_suggestions"),
    # Staff of a service update its listing (their own service only: no id in the URL).
    path("mon-service/fiche/", views.listing_edit, name="listing_edit"),
    path("mon-service/fiche/confirmer/", views.listing_confirm, name="listing_confirm"),
    # Without an account, from the personal link e-mailed to the service's address.
    path("fiche/<str:token>/", link_views.listing_link, name="listing_link"),
    path("fiche/<str:token>/confirmer/", link_views.listing_link_confirm, name="listing_link_confirm"),
    path("fiche/<str:token>/nouveau-lien/", link_views.listing_link_renew, name="listing_link_renew"),
]
