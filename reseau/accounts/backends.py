from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserBackend(ModelBackend):
    """Django's ModelBackend, whose signed-in user comes with their service and its commune.

    Pages read them on most requests (the search centres on the service's commune when no place is
    given): one join on primary keys in the query that loads the user anyway, instead of a query more.
    The service's long texts stay out of it.
    """

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("service__commune")
        try:
            user = users.defer("service__description", "service__search_vector").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
