from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save, pre_delete, pre_migrate, pre_save


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

        from .insight_counts import network_days_before_change, network_days_changed

        # Deleting a convention deletes its memberships: theirs do the recount.
        handlers = [
            (Convention, "before_save", pre_save, network_days_before_change),
            (Convention, "saved", post_save, network_days_changed),
            (ConventionMembership, "before_save", pre_save, network_days_before_change),
            (ConventionMembership, "saved", post_save, network_days_changed),
            (ConventionMembership, "before_delete", pre_delete, network_days_before_change),
            (ConventionMembership, "deleted", post_delete, network_days_changed),
        ]
        for model, name, signal, handler in handlers:
            signal.connect(handler, sender=model, dispatch_uid=f"insight_counts_{model.__name__}_{name}")
