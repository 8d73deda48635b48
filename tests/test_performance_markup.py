"""baltmet.markup.format_html, written for the teasers' speed, gives what Django's
format_html gives for every kind of value: escaped text, safe strings, lazy ones, numbers."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django.utils import html as django_html
from django.utils import translation
from django import forms
from django.utils.functional import lazy, lazystr
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy, pgettext_lazy

from baltmet import markup



class _Markup:
    """Something with markup of its own, written differently as text."""

    def __html__(self):
        return "<em>its markup</em>"

    def __str__(self):
        return "<its text>"


class _Form(forms.Form):
    name = forms.CharField(initial="<Tallinn & Helsinki>")


VALUES = [
    "",
    "plain",
    "<script>alert('x')</script> & \"quoted\"",
    "Ålesund – Tallinn’s «cluster» ❤",
    mark_safe("<b>safe & sound</b>"),
    SafeString("<i>x</i>"),
    lazystr("<lazy> & 'text'"),
    mark_safe(lazystr("<b>lazy and safe</b>")),
    gettext_lazy("Enter a valid date."),
    # Made a str before anything else, as conditional_escape() does: gettext keeps a message
    # marked safe; mark_safe() made lazy as a str is written as it is; a lazy SafeString
    # whose function gives a plain str is escaped.
    gettext_lazy(mark_safe("<b>safe message</b>")),
    pgettext_lazy("context", mark_safe("<b>safe message</b>")),
    lazy(mark_safe, str)("<i>made safe lazily</i>"),
    lazy(lambda: "<plain>", SafeString)(),
    _Markup(),
    _Form()["name"],
    0,
    -42,
    3.5,
    Decimal("1234.50"),
    None,
    True,
    date(2024, 3, 5),
    datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_each_kind_of_value_is_written_as_djangos_format_html_writes_it(value):
    template = '<a href="{}" title="{}">{}</a>'
    ours = markup.format_html(template, value, value, value)
    assert ours == django_html.format_html(template, value, value, value)
    assert isinstance(ours, SafeString)


def test_a_lazy_translation_is_written_in_the_language_active_when_the_markup_is_written():
    value = gettext_lazy("Enter a valid date.")
    with translation.override("de"):
        ours = markup.format_html("<p>{}</p>", value)
        assert ours == django_html.format_html("<p>{}</p>", value)
    assert "gültiges Datum" in ours


def test_its_result_is_not_escaped_again_where_it_is_a_value():
    inner = markup.format_html("<b>{}</b>", "<x>")
    assert markup.format_html("<p>{}</p>", inner) == "<p><b>&lt;x&gt;</b></p>"


def test_a_template_without_values_is_refused_as_django_6_refuses_it():
    with pytest.raises(TypeError, match="needs values"):
        markup.format_html("<p>fixed</p>")
