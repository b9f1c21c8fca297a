"""Checkbox lists rendered by hand.

Django renders each option of a ``CheckboxSelectMultiple`` through its own widget template: for the
~170 thématiques of the picker that cost ~40 ms a page (measured by ``make bench``), more than the
search itself. These plain records carry what the template needs (name, value, id, label, checked)
and keep Django's ids (``id_<field>_<index>``), so labels, tests and error links are unchanged. A list
is also written out at once in Python (``CheckboxList.html``, ``CheckboxGroups.html``), and
the unticked thématiques picker is built once per snapshot of the reference lists: the search form
with its picker cost 4.0 ms with a template loop over the 170 boxes, 2.7 ms written at once, 1.9 ms
reused (CPU time, best of 60, on a loaded machine). The rows come from the reference lists in memory
when the field reads them (partners.reference_lists): no query.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from .reference_lists import SnapshotCache

_ESCAPED_LABELS = {}  # text -> escaped: reference labels, field names and ids, a few hundred at most


def _escaped(label) -> str:
    text = _ESCAPED_LABELS.get(label)
    if text is None:
        text = escape(label)
        if len(_ESCAPED_LABELS) < 5000:
            _ESCAPED_LABELS[label] = text
    return text


@dataclass(frozen=True)
class Checkbox:
    name: str
    value: str
    id: str
    label: str
    checked: bool
    instance: object = None

    @property
    def tag(self):
        """The <input>, built here: one template variable instead of five per box."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" id="{}"{}>',
            self.name,
            self.value,
            self.id,
            " checked" if self.checked else "",
        )

    def labelled(self) -> str:
        """``<label><input …> label</label>``, escaped."""
        checked = " checked" if self.checked else ""
        return (
            f'<label><input type="checkbox" name="{_escaped(self.name)}" value="{_escaped(self.value)}" '
            f'id="{_escaped(self.id)}"{checked}> {_escaped(self.label)}</label>'
        )


class CheckboxList(list):
    """Checkboxes, and their labelled inputs written out at once."""

    @cached_property
    def html(self):
        return mark_safe("".join(box.labelled() for box in self))


@dataclass(frozen=True)
class CheckboxGroup:
    category: Checkbox
    children: list[Checkbox] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.category.checked or any(child.checked for child in self.children)

    @cached_property
    def children_html(self):
        return mark_safe("".join(box.labelled() for box in self.children))

    def html(self, all_label=None) -> str:
        """The group's <details>: what components/domain_picker.html showed with a template loop."""
        category = self.category
        label = _escaped(all_label) if all_label else f"{_escaped(category.label)} (en général)"
        return (
            f'<details class="domain-group"{" open" if self.open else ""}>'
            f"<summary>{_escaped(category.label)}</summary>"
            f'<label class="domain-group__all">{category.tag} {label}</label>'
            f"{self.children_html}</details>"
        )


class CheckboxGroups(list):
    """A picker's groups, and all of them written out at once (built once for the unticked picker)."""

    def __init__(self, groups, all_label=None):
        super().__init__(groups)
        self.all_label = all_label

    @cached_property
    def html(self):
        return mark_safe("".join(group.html(self.all_label) for group in self))


def checkboxes(bound_field) -> CheckboxList:
    """One Checkbox per object of a model multiple-choice field, in the queryset's order."""
    model_field = bound_field.field
    selected = {str(value) for value in (bound_field.value() or [])}
    # From memory when the field reads the reference lists, else from the database.
    rows = model_field.reference_rows() if hasattr(model_field, "reference_rows") else model_field.queryset
    return CheckboxList(
        Checkbox(
            name=bound_field.html_name,
            value=str(instance.pk),
            id=f"{bound_field.auto_id}_{index}",
            label=model_field.label_from_instance(instance),
            checked=str(instance.pk) in selected,
            instance=instance,
        )
        for index, instance in enumerate(rows)
    )


# The picker as most pages show it, nothing ticked, per snapshot of the reference lists and field.
_UNTICKED_GROUPS = SnapshotCache()


def domain_groups(bound_field, all_label=None) -> CheckboxGroups:
    """The thématiques of a Domain field under their catégorie, both sorted by label; ``all_label``: the
    label of a catégorie's own box (default: "<catégorie> (en général)")."""
    model_field = bound_field.field

    def build():
        return CheckboxGroups(_domain_groups(bound_field), all_label)

    if bound_field.value() or not hasattr(model_field, "reference_rows"):
        return build()
    key = (type(model_field), bound_field.html_name, bound_field.auto_id, all_label)
    return _UNTICKED_GROUPS.get(key, build)


def _domain_groups(bound_field) -> list[CheckboxGroup]:
    categories, children = {}, {}
    for checkbox in checkboxes(bound_field):
        parent_id = checkbox.instance.parent_id
        if parent_id is None:
            categories[checkbox.instance.pk] = checkbox
        else:
            children.setdefault(parent_id, []).append(checkbox)
    return [
        CheckboxGroup(category, sorted(children.get(pk, []), key=lambda box: box.label))
        for pk, category in sorted(categories.items(), key=lambda item: item[1].label)
    ]
