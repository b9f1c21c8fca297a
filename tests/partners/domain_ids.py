"""Whether PostgreSQL's ``partners_service.domain_ids`` (migration 0020) copies the link table."""

from django.db import connection


def domain_ids_out_of_step():
    """{service id: (its domain_ids, its link rows)} for every service whose array differs from its
    thématiques in ``partners_service_domains`` (both in order); always {} on SQLite (no such column)."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, s.domain_ids, links.ids FROM partners_service AS s
            CROSS JOIN LATERAL (
                SELECT ARRAY(
                    SELECT sd.domain_id FROM partners_service_domains AS sd
                    WHERE sd.service_id = s.id ORDER BY sd.domain_id
                ) AS ids
            ) AS links
            WHERE s.domain_ids IS DISTINCT FROM links.ids
            """
        )
        return {pk: (array, links) for pk, array, links in cursor.fetchall()}
