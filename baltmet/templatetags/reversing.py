"""{% fixed_url "news:list" %}: {% url %} for a URL name without arguments, reversed once per
process instead of on every page (baltmet.reversing). Escaped like {% url %}'s output."""

from django import template

from baltmet.reversing import fixed_url as _fixed_url

register = template.Library()


@register.simple_tag(name="fixed_url")
def fixed_url(name):
    return _fixed_url(name)
