from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("services/<int:pk>/", views.service_detail, name="service_detail"),
]
