"""Insight charts: SVG rendered on the server by pygal, shown through ``<img src>``, no JavaScript.

pygal's SVG carries an inline ``<style>`` (allowed for the chart's own response only, see the view)
and a configuration ``<script>`` for its optional interactivity, which we strip: the chart is a
picture, its data is the table next to it.
"""

import re

import pygal
from pygal.style import Style

_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script>|<script\b[^>]*/>", re.DOTALL)

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1e1e1e",
    foreground_strong="#1e1e1e",
    foreground_subtle="#555555",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    colors=("#18753c", "#b34000", "#1d3f8f", "#6a1b9a", "#555555"),
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
)


def _chart(kind, title, **config):
    options = {
        "js": [],  # no script from a CDN (pygal's default)
        "style": STYLE,
        "title": title,
        "width": 800,
        "height": 400,
        "legend_at_bottom": True,
        "print_values": False,
        "x_label_rotation": 0,
        "truncate_label": 40,
        "disable_xml_declaration": False,
    }
    return kind(**{**options, **config})


def render(chart) -> bytes:
    return _SCRIPT.sub(b"", chart.render())


def stacked_bars(title, labels, series):
    """``series``: [(name, [value per label])]."""
    chart = _chart(pygal.StackedBar, title, x_label_rotation=-30 if len(labels) > 6 else 0)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return render(chart)


def horizontal_bars(title, items, value_label):
    """``items``: [(label, value)], drawn top to bottom in the given order."""
    chart = _chart(
        pygal.HorizontalBar,
        title,
        show_legend=False,
        height=max(240, 40 + 32 * len(items)),
        truncate_label=60,
    )
    items = list(reversed(items))  # pygal draws the first value at the bottom
    chart.x_labels = [label for label, _ in items]
    chart.add(value_label, [value for _, value in items])
    return render(chart)


def lines(title, labels, series, **config):
    chart = _chart(pygal.Line, title, **config)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return render(chart)


def bars(title, labels, series):
    chart = _chart(pygal.Bar, title)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return render(chart)
