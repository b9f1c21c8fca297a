"""Insight's database views never block a migration of the tables they read."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models
from django.db.models.signals import post_migrate, pre_migrate

from referrals.insight_schema import VIEWS
from referrals.models import InsightReferral, Referral

pytestmark = pytest.mark.django_db(transaction=True)


def existing_views():
    with connection.cursor() as cursor:
        listed = connection.introspection.get_table_list(cursor)
    return {table.name for table in listed if table.type == "v"}


def migrate_signal(signal):
    config = apps.get_app_config("referrals")
    signal.send(sender=config, app_config=config, verbosity=0, interactive=False, using="default", apps=apps)


def test_a_migration_can_alter_a_column_the_views_read():
    """SQLite rebuilds the table, PostgreSQL changes the column's type: both fail while a view reads it."""
    migrate_signal(pre_migrate)
    assert existing_views() == set()
    old = Referral._meta.get_field("refusal_reason")
    wider = models.CharField(max_length=40, blank=True)
    wider.set_attributes_from_name("refusal_reason")
    wider.model = Referral
    with connection.schema_editor() as editor:
        editor.alter_field(Referral, old, wider)
        editor.alter_field(Referral, wider, old)
    migrate_signal(post_migrate)
    assert existing_views() == set(VIEWS)
    assert InsightReferral.objects.count() == 0


def test_migrate_leaves_the_views_in_place():
    call_command("migrate", verbosity=0)
    assert existing_views() == set(VIEWS)
