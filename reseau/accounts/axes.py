def get_login_email(request, credentials):
    """The e-mail axes counts failures against, whether it comes from the form or the backend.

    The login form posts ``username`` while the user model's field is ``email``: read both, so a
    failure and the next attempt are counted under the same key.
    """
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        value = source.get("username") or source.get("email")
        if value:
            return value.strip().lower()
    return None
