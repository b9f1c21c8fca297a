"""Tasks of the referrals app (django-tasks; the worker is ``manage.py db_worker``)."""

from django_tasks import task

from .insight_counts import counts_rebuild


@task()
def rebuild_network_counts(network_id: int) -> int:
    """A network's insight counts again, after its conventions or memberships changed."""
    return counts_rebuild([network_id])
