"""The two database views insight reads (``referrals.models.InsightReferral`` and ``InsightReferralNeed``).

They union the live referrals with the archived ones (``ArchivedReferral``, written by ``purge_cases``).
A view would block later migrations of the tables it reads (SQLite rebuilds a table to alter it;
PostgreSQL refuses to change the type of a column a view uses), so the views never exist while
migrations run: ``migrate`` drops them first (``pre_migrate``) and creates them again once every
migration has run (``post_migrate``), whatever the plan. Connected in ``ReferralsConfig.ready``.
"""

# Whole days from sending to the answer, per database.
_ANSWER_DAYS = {
    "sqlite": "CAST(julianday({t}.answered_at) - julianday({t}.sent_at) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(DAY FROM {t}.answered_at - {t}.sent_at) AS INTEGER)",
}
_REFERRAL_VIEW = """
CREATE VIEW referrals_insight_referral AS
SELECT r.id AS id, c.service_id AS sender_service_id, r.service_id AS target_service_id, r.status,
       r.classification, r.off_convention_reason, r.refusal_reason, r.sent_at, r.answered_at,
       {live_days} AS answer_days, c.commune_id AS commune_id, COALESCE(co.department, '') AS department
FROM referrals_referral r
JOIN referrals_case c ON c.id = r.case_id
LEFT JOIN partners_commune co ON co.insee_code = c.commune_id
WHERE r.sent_at IS NOT NULL
UNION ALL
SELECT a.id, a.sender_service_id, a.target_service_id, a.status, a.classification, a.off_convention_reason,
       a.refusal_reason, a.sent_at, a.answered_at, {archived_days}, a.commune_id, a.department
FROM referrals_archivedreferral a
"""
# Even ids for live rows, odd for archived ones: the view's key stays unique.
_NEED_VIEW = """
CREATE VIEW referrals_insight_referral_need AS
SELECT 2 * n.id AS id, n.referral_id AS referral_id, n.domain_id AS domain_id FROM referrals_referral_needs n
UNION ALL
SELECT 2 * a.id + 1, a.archivedreferral_id, a.domain_id FROM referrals_archivedreferral_needs a
"""
VIEWS = ("referrals_insight_referral_need", "referrals_insight_referral")
REQUIRED_TABLES = {
    "referrals_referral",
    "referrals_case",
    "referrals_referral_needs",
    "referrals_archivedreferral",
    "referrals_archivedreferral_needs",
    "partners_commune",
}


def views_drop(connection):
    with connection.cursor() as cursor:
        for view in VIEWS:
            cursor.execute(f"DROP VIEW IF EXISTS {view}")


def views_create(connection):
    """(Re)create the views, when the tables they read exist (not after migrating back past them)."""
    if not set(connection.introspection.table_names()) >= REQUIRED_TABLES:
        return
    views_drop(connection)
    days = _ANSWER_DAYS[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(_REFERRAL_VIEW.format(live_days=days.format(t="r"), archived_days=days.format(t="a")))
        cursor.execute(_NEED_VIEW)


def drop_views_before_migrate(sender, using, **kwargs):
    from django.db import connections

    views_drop(connections[using])


def create_views_after_migrate(sender, using, **kwargs):
    from django.db import connections

    views_create(connections[using])
