"""Widgets and pickers written in one string (partners.widgets, partners.checkboxes) give the same HTML as
Django's templates did: same elements, attributes, ids, labels, checked/selected state and aria."""

import pytest
from django import forms
from django.template import Context, Template
from django.test.html import parse_html

from partners import widgets
from partners.checkboxes import domain_groups
from partners.filters import ServiceSearchFilter
from partners.models import Service
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

QUERIES = [
    None,
    {"q": "hébergement <d'urgence>"},
    {"q": "x", "rayon": "50", "tri": "distance", "partenaires": "on", "disponibles": "on", "partout": "1"},
    {"rayon": "7", "tri": "inconnu", "q": "a" * 300},  # invalid: aria-invalid, errors
]
DJANGO_WIDGETS = {
    widgets.TextInput: forms.TextInput,
    widgets.Select: forms.Select,
    widgets.CheckboxInput: forms.CheckboxInput,
}


def _form(data):
    form = ServiceSearchFilter(data, queryset=Service.objects.none()).form
    if data is not None:
        form.is_valid()
    return form


@pytest.mark.parametrize("data", QUERIES)
def test_search_form_widgets_render_as_django_does(data):
    form = _form(data)
    compared = 0
    for bound_field in form:
        widget = bound_field.field.widget
        if type(widget) not in DJANGO_WIDGETS:
            continue
        ours = str(bound_field)
        widget.__class__ = DJANGO_WIDGETS[type(widget)]
        try:
            django = str(bound_field)
        finally:
            widget.__class__ = next(k for k, v in DJANGO_WIDGETS.items() if v is type(widget))
        assert parse_html(ours) == parse_html(django), bound_field.name
        compared += 1
    assert compared == 6  # q, rayon, partout, tri, disponibles, partenaires


def test_invalid_fields_keep_their_aria_attributes():
    html = str(_form({"rayon": "7", "q": "a" * 300})["q"])
    assert 'aria-invalid="true"' in html and 'id="id_q"' in html


# The picker's groups as components/domain_picker.html wrote them with a template loop.
OLD_PICKER_GROUPS = Template(
    """{% for group in groups %}{% with category=group.category %}
      <details class="domain-group"{% if group.open %} open{% endif %}>
        <summary>{{ category.label }}</summary>
        <label class="domain-group__all">{{ category.tag }} {% if all_label %}{{ all_label }}{% else %}{{ category.label }} (en général){% endif %}</label>
        {{ group.children_html }}
      </details>
    {% endwith %}{% endfor %}"""
)


@pytest.mark.parametrize("all_label", [None, "Toute la catégorie"])
@pytest.mark.parametrize("ticked", [False, True])
def test_picker_groups_render_as_the_template_did(all_label, ticked):
    housing = DomainFactory(label="Logement & <abri>")
    shelter = DomainFactory(label="Hébergement", parent=housing)
    DomainFactory(label="Accès au logement", parent=housing)
    DomainFactory(label="Santé")
    form = _form({"thematiques": [str(shelter.pk)]} if ticked else None)
    groups = domain_groups(form["thematiques"], all_label=all_label)
    old = OLD_PICKER_GROUPS.render(Context({"groups": groups, "all_label": all_label}))
    assert parse_html(groups.html) == parse_html(old)
    assert ("checked" in groups.html) is ticked
