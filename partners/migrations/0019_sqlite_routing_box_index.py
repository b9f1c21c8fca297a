"""SQLite only: routing reads the services of its bounding box from one index alone (issue 14).

The routing query (referrals.routing_data._candidate_rows) starts from the active services of the box
and needs their capacity and freshness: on SQLite, which has no INCLUDE, the coordinates index
(``service_active_coordinates_idx``) sent every one of them to the table, 85 of the 200 ms of the
query around Paris at 150 000 services. ``is_active`` is a column too: SQLite 3.40 counts an index as
covering only when it holds every column the query names, the partial index's condition included.

PostgreSQL's ``service_active_coordinates_idx`` already covers these columns (INCLUDE).
"""

import importlib
from functools import partial

from django.db import migrations

# Added and dropped as migration 0016 adds and drops its own.
sqlite = importlib.import_module("partners.migrations.0016_sqlite_search_indexes")

NAME = "service_active_box_routing_sqlite"
SQLITE_INDEXES = {
    NAME: ("partners_service", "latitude, longitude, is_active, capacity_status, verified_on", "is_active"),
}


class Migration(migrations.Migration):
    dependencies = [("partners", "0018_link_covering_indexes_pg")]

    operations = [
        migrations.RunPython(
            partial(sqlite.create_indexes, indexes=SQLITE_INDEXES),
            partial(sqlite.drop_indexes, indexes=SQLITE_INDEXES),
            elidable=False,
        )
    ]
