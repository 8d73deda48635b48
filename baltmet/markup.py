"""format_html() for markup a page writes many times: teasers, dates and image tags.

Django's format_html() escapes each value with conditional_escape(), and the escape() that
calls is wrapped by keep_lazy(), which first looks through the call's arguments for a lazy
string: about a microsecond a value. A region's profile writes some 200 values into its
teasers, and that look cost 4% of the page, home's 6% (in-process, docs/performance.md).

This one gives the same markup: a value with `__html__()` (a SafeString, a lazy one too, a
form's BoundField) as that method gives it, any other as `html.escape(str(value))`, which is
what escape() does, once with the lazy string made a str (tests/test_performance_markup.py).
"""

import html

from django.utils.safestring import SafeString


def format_html(template, *values):
    """`template.format(*values)` with every value escaped unless it is marked safe, as safe
    HTML: what django.utils.html.format_html(template, *values) gives."""
    if not values:
        # A template without values is not markup to format; Django 6 refuses it too.
        raise TypeError("format_html() needs values to put into its template; use mark_safe() for fixed markup.")
    return SafeString(
        template.format(
            *[value.__html__() if hasattr(value, "__html__") else html.escape(str(value)) for value in values]
        )
    )
