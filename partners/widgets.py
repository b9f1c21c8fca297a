"""Form widgets written in one string: Django renders each widget, and each <option> of a select, through
its own template (a few hundred Python calls a widget). Same markup as Django's templates (attributes in
the same order, ``id``, ``required``, ``aria-*`` and ``checked``/``selected`` included), compared with
Django's own rendering in tests/partners/test_widgets.py. For fields shown on every search page.
"""

from django import forms
from django.utils.html import format_html, format_html_join


def _attrs(attrs) -> str:
    """Like django/forms/widgets/attrs.html: ``False`` left out, ``True`` as a bare attribute."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class _InputMixin:
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
        return format_html(
            '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], shown, _attrs(widget["attrs"])
        )


class TextInput(_InputMixin, forms.TextInput):
    pass


class CheckboxInput(_InputMixin, forms.CheckboxInput):
    pass


class Select(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group_name for group_name, _, _ in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)  # <optgroup>s: Django's templates
        options = format_html_join(
            "",
            '\n  <option value="{}"{}>{}</option>',
            (
                (option["value"], _attrs(option["attrs"]), option["label"])
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}\n</select>', widget["name"], _attrs(widget["attrs"]), options
        )
