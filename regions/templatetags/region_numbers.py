"""Template filters that write numbers for people; the rules live in regions.formatting."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from regions.formatting import format_figure, format_number

register = template.Library()


@register.filter
def readable_number(value):
    """{{ institution.students|readable_number }} → "30 000"; empty for a missing value."""
    if value is None or value == "":
        return ""
    return format_number(value)


@register.filter
def figure_text(figure):
    """{{ figure|figure_text }} → "over 500 000 inhabitants"."""
    if figure is None:
        return ""
    return format_figure(figure)


@register.simple_tag
def figure_list(figures):
    """{% figure_list figures %}: regions.Figure objects as a <dl class="figure-list">, each its
    metric's name, its value and its year.

    Written here rather than by an included template: the region list shows one per region,
    and resolving each figure's variables through an include was about half of that page's
    rendering.
    """
    items = "".join(
        f'<div><dt>{escape(figure.metric.name)}</dt><dd><span class="figure-value">{escape(format_figure(figure))}</span>'
        f' <span class="muted">({figure.year})</span></dd></div>'
        for figure in figures
    )
    # Safe: the metric's name and the figure's text are escaped above; the year is an int.
    return mark_safe(f'<dl class="figure-list">{items}</dl>')
