from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("compte/notifications/", views.notification_settings, name="notification_settings"),
]
