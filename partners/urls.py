from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("recherche/", views.search, name="search"),
    path("annuaire/services/<int:pk>/", views.service_detail, name="service_detail"),
    path("annuaire/communes/", views.commune_suggestions, name="commune_suggestions"),
]
