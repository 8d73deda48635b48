"""Template filters that write numbers for people; the rules live in regions.formatting."""

from django import template

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
