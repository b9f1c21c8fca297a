from django.urls import path

from . import insight_views

app_name = "insight"

urlpatterns = [
    path("reseaux/<int:network_id>/analyse/", insight_views.insight_index, name="index"),
    path("reseaux/<int:network_id>/analyse/<slug:slug>/", insight_views.insight_page, name="page"),
    path(
        "reseaux/<int:network_id>/analyse/<slug:slug>/graphique.svg",
        insight_views.insight_chart,
        name="chart",
    ),
]
