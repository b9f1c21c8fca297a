import uuid

from django.db import migrations


def create_row(apps, schema_editor):
    # Row 2 of ReferenceListsVersion: the partnerships' token (partners.versions.PARTNERSHIPS).
    apps.get_model("partners", "ReferenceListsVersion").objects.get_or_create(
        pk=2, defaults={"token": uuid.uuid4().hex}
    )


class Migration(migrations.Migration):
    dependencies = [("partners", "0016_sqlite_search_indexes")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
