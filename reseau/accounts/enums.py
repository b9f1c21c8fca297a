from django.db import models


class NotificationFrequency(models.TextChoices):
    EACH_EVENT = "each_event", "Un courriel à chaque événement"
    DAILY = "daily", "Un récapitulatif par jour"
