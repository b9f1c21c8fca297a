from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save, pre_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "situations et orientations"

    def ready(self):
        # Insight's database views never exist while migrations run (see referrals.insight_schema).
        from .insight_schema import create_views_after_migrate, drop_views_before_migrate

        pre_migrate.connect(drop_views_before_migrate, sender=self, dispatch_uid="insight_views_drop")
        post_migrate.connect(create_views_after_migrate, sender=self, dispatch_uid="insight_views_create")

        # A network's counts follow its conventions' and memberships' dates (see referrals.insight_counts).
        from partners.models import Convention, ConventionMembership

        from .insight_counts import network_history_changed

        for model in (Convention, ConventionMembership):
            for name, signal in (("saved", post_save), ("deleted", post_delete)):
                uid = f"insight_counts_{model.__name__}_{name}"
                signal.connect(network_history_changed, sender=model, dispatch_uid=uid)
