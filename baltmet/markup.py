"""format_html() for markup a page writes many times: teasers, dates and image tags.

Django's format_html() escapes each value with conditional_escape(), and the escape() that
calls is wrapped by keep_lazy(), which first looks through the call's arguments for a lazy
string: about a microsecond a value. A region's profile writes some 200 values into its
teasers; in-process, leaving that look out took 4-8% off the page's CPU time, 5-8% off home's
(docs/performance.md).

This one escapes each value as conditional_escape() does, in the same order: a lazy value is
made a str first; then a value with `__html__()` (a SafeString, a form's BoundField) is what
that method gives, and any other is `html.escape(str(value))`, which is all escape() does
(tests/test_performance_markup.py compares the two).
"""

import html

from django.utils.functional import Promise
from django.utils.safestring import SafeString


def _escaped(value):
    if isinstance(value, Promise):
        value = str(value)
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def format_html(template, *values):
    """`template.format(*values)` with every value escaped unless it is marked safe, as safe
    HTML: what django.utils.html.format_html(template, *values) gives. Values are positional
    only, and a template without values is refused (Django 6 refuses it; 5.2 warns)."""
    if not values:
        raise TypeError("format_html() needs values to put into its template; use mark_safe() for fixed markup.")
    return SafeString(template.format(*[_escaped(value) for value in values]))
