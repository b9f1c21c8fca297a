"""The reference lists, held in process memory: thématiques, publics, modes d'accueil, frais, types de
service, langues. They change a few times a year; every search and case form reads them.

``reference_lists()`` returns an immutable snapshot of the active rows of each list (in each model's
order, a thématique's catégorie loaded) and every thématique's catégorie (active or not: the needs
rule). Read-only: never save one of its instances.

**Invalidation.** Every write to a list (``post_save`` / ``post_delete`` below; bulk writes, such as
``load_referentials``, call ``lists_changed()``) stores a new random token in row ``REFERENCE_LISTS`` of
``ReferenceListsVersion``, in the writer's transaction (partners.versions). A process compares its
snapshot's token with the database's once per request, in the query that also reads the partnerships'
token: every process sees a change at its next request, without memcached or Redis.

Forms read the snapshot through ``ReferenceMultipleChoiceField`` / ``ReferenceChoiceField`` (and their
django-filter twins): same contract as Django's model choice fields (ids checked by
``partners.fields.parse_id``, French "choix invalide"), without a query to render or to validate.
"""

from dataclasses import dataclass

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .fields import (
    FilterIdChoiceField,
    FilterIdMultipleChoiceField,
    IdChoiceField,
    IdMultipleChoiceField,
    parse_id,
    validate_id,
)
from .models import AccessMode, Domain, Fee, Language, Public, ServiceType
from .versions import REFERENCE_LISTS, version_changed, version_token

LIST_MODELS = (Domain, Public, AccessMode, Fee, ServiceType, Language)


@dataclass(frozen=True)
class ReferenceLists:
    token: str | None
    rows: dict  # model -> tuple of its active rows, in the model's order
    by_id: dict  # model -> {pk: active row}
    domain_parents: dict  # every thématique's catégorie id (None for a catégorie), active or not

    def active(self, model) -> tuple:
        return self.rows[model]

    def get(self, model, pk):
        return self.by_id[model].get(pk)


_snapshot: ReferenceLists | None = None


def _load(token) -> ReferenceLists:
    rows = {
        model: tuple(
            model.objects.active().select_related("parent") if model is Domain else model.objects.active()
        )
        for model in LIST_MODELS
    }
    return ReferenceLists(
        token=token,
        rows=rows,
        by_id={model: {row.pk: row for row in model_rows} for model, model_rows in rows.items()},
        domain_parents=dict(Domain.objects.values_list("pk", "parent_id")),
    )


def reference_lists() -> ReferenceLists:
    """The current snapshot: from memory when the database's token has not changed."""
    global _snapshot
    snapshot = _snapshot
    token = version_token(REFERENCE_LISTS)
    if snapshot is None or token is None or snapshot.token != token:
        snapshot = _load(token)
        # No token (a flushed test database): never trusted, read again next time.
        _snapshot = snapshot if token is not None else None
    return snapshot


class SnapshotCache:
    """What depends only on the reference lists (and a key), built once per snapshot of the lists (their
    token) and kept in this process: rendered forms and pickers with nothing chosen. A new snapshot
    forgets the older one's values; without a token (a flushed test database) nothing is kept."""

    def __init__(self):
        self._token = None
        self._values = {}

    def get(self, key, build):
        token = reference_lists().token
        if token is None:
            return build()
        if token != self._token:
            self._token, self._values = token, {}
        values = self._values
        if key not in values:
            values[key] = build()
        return values[key]


def lists_changed() -> None:
    """A reference list was written: a new token for every process, and this one forgets its snapshot."""
    global _snapshot
    version_changed(REFERENCE_LISTS)
    _snapshot = None


def _list_written(sender, **kwargs):
    lists_changed()


for _model in LIST_MODELS:
    post_save.connect(_list_written, sender=_model, dispatch_uid=f"reference_lists_{_model.__name__}_saved")
    post_delete.connect(
        _list_written, sender=_model, dispatch_uid=f"reference_lists_{_model.__name__}_deleted"
    )


# --- Form fields --------------------------------------------------------------------------------------


class _ReferenceChoiceIterator(ModelChoiceIterator):
    """The choices from the snapshot: rendering a select or checkboxes runs no query."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for row in self.field.reference_rows():
            yield self.choice(row)

    def __len__(self):
        return len(self.field.reference_rows()) + (self.field.empty_label is not None)

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.field.reference_rows())


class _ReferenceFieldMixin:
    """For a model choice field whose choices are the model's active rows (``Model.objects.active()``)."""

    iterator = _ReferenceChoiceIterator

    def reference_rows(self) -> tuple:
        return reference_lists().active(self.queryset.model)

    def _reference_row(self, value):
        """The active row with id ``value``, or the French "choix invalide" error."""
        model = self.queryset.model
        if isinstance(value, model):
            value = value.pk
        validate_id(value)
        row = reference_lists().get(model, parse_id(value))
        if row is None:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return row


class ReferenceMultipleChoiceField(_ReferenceFieldMixin, IdMultipleChoiceField):
    def clean(self, value):
        if not self.required and not value:
            # A list, like the chosen rows below. Django returns ``queryset.none()``, and each test of it
            # (``data.get(name) or []``) runs the query compiler (~900 Python calls), without a query.
            return []
        return super().clean(value)

    def _check_values(self, value):
        if not isinstance(value, (list, tuple)):
            raise ValidationError(self.error_messages["invalid_list"], code="invalid_list")
        chosen = {self._reference_row(item).pk for item in value}
        return [row for row in self.reference_rows() if row.pk in chosen]  # the list's order, like Django


class ReferenceSelect(forms.Select):
    """A <select> written in one string: Django's renders each <option> through a template (~1 ms for
    the 20 languages); same markup, attributes and selected option."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        attrs = self.build_attrs(self.attrs, attrs)
        options = []
        for option_value, label in self.choices:
            option_value = "" if option_value is None else str(option_value)
            mark = " selected" if option_value in selected else ""
            options.append(f'<option value="{escape(option_value)}"{mark}>{escape(label)}</option>')
        return mark_safe(f'<select name="{escape(name)}"{flatatt(attrs)}>{"".join(options)}</select>')


class ReferenceChoiceField(_ReferenceFieldMixin, IdChoiceField):
    widget = ReferenceSelect

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return self._reference_row(value)


class _FilterReferenceMultipleChoiceField(ReferenceMultipleChoiceField, FilterIdMultipleChoiceField):
    pass


class _FilterReferenceChoiceField(ReferenceChoiceField, FilterIdChoiceField):
    pass


class ReferenceMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = _FilterReferenceMultipleChoiceField


class ReferenceChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = _FilterReferenceChoiceField
