from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

# What pages read of the signed-in worker's service and its commune (home page, search centre, worker's
# point: partners.views.home, partners.communes.worker_point, User.service_commune). Every page loads the
# user: the service's 26 columns and the commune's 7, built into instances, cost ~0.35 ms of CPU a page
# more than these (interleaved runs of User.objects.get on the bench copy). Another column read on
# ``request.user.service`` is one more query, which the pages' query-count tests catch.
SERVICE_SHOWN = ("name", "organisation_id", "commune_id", "latitude", "longitude")
COMMUNE_SHOWN = ("name", "latitude", "longitude")


class UserBackend(ModelBackend):
    """Django's ModelBackend, whose signed-in user comes with their service and its commune.

    Pages read them on most requests (the search centres on the service's commune when no place is
    given): one join on primary keys in the query that loads the user anyway, instead of a query more.
    Only the columns pages show are read (``SERVICE_SHOWN``, ``COMMUNE_SHOWN``).
    """

    def get_user(self, user_id):
        model = get_user_model()
        users = model._default_manager.select_related("service__commune").only(
            *(field.name for field in model._meta.concrete_fields),
            *(f"service__{name}" for name in SERVICE_SHOWN),
            *(f"service__commune__{name}" for name in COMMUNE_SHOWN),
        )
        try:
            user = users.get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
