"""Form fields for ids typed into URLs and forms: a bad id is an invalid choice, never a database error.

Django's model choice fields hand any integer to the database: an id beyond 64 bits
("99999999999999999999999") raises OverflowError on SQLite and DataError on PostgreSQL, i.e. a 500.
Every field that takes ids from a request goes through ``parse_id`` first.
"""

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField on every database we run on
_DIGITS = re.compile(r"[0-9]{1,19}")
INVALID_CHOICE = "Choix invalide : « %(value)s » ne fait pas partie des choix proposés."


def parse_id(value):
    """The id meant by ``value`` ("42" or 42), or None if it cannot be one (negative, too big, "1e5", "abc")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _shown(value):
    text = str(value)
    return text if len(text) <= 30 else text[:29] + "…"


def validate_id(value):
    """Raises the French "choix invalide" error unless ``value`` is a possible id."""
    if parse_id(value) is None:
        raise ValidationError(INVALID_CHOICE, code="invalid_choice", params={"value": _shown(value)})


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField keyed by id that checks the id before asking the database."""

    default_error_messages = {"invalid_choice": INVALID_CHOICE}

    def to_python(self, value):
        if value in self.empty_values or isinstance(value, self.queryset.model):
            return super().to_python(value)
        validate_id(value)
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField keyed by id that checks each id before asking the database."""

    default_error_messages = {
        "invalid_choice": INVALID_CHOICE,
        "invalid_pk_value": INVALID_CHOICE.replace("%(value)s", "%(pk)s"),
        "invalid_list": "Choix invalide : envoyez une liste de valeurs.",
    }

    def _check_values(self, value):
        if isinstance(value, (list, tuple)):
            for item in value:
                if not isinstance(item, self.queryset.model):
                    validate_id(item)
        return super()._check_values(value)


# django-filter's fields add its null-value handling on top of Django's; ours check ids first.


class FilterIdChoiceField(IdChoiceField, django_filters.fields.ModelChoiceField):
    pass


class FilterIdMultipleChoiceField(IdMultipleChoiceField, django_filters.fields.ModelMultipleChoiceField):
    pass


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = FilterIdChoiceField


class IdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = FilterIdMultipleChoiceField
