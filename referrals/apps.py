from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "situations et orientations"

    def ready(self):
        # Insight's database views never exist while migrations run (see referrals.insight_schema).
        from .insight_schema import create_views_after_migrate, drop_views_before_migrate

        pre_migrate.connect(drop_views_before_migrate, sender=self, dispatch_uid="insight_views_drop")
        post_migrate.connect(create_views_after_migrate, sender=self, dispatch_uid="insight_views_create")
