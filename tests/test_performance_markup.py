"""baltmet.markup.format_html, written for the teasers' speed, gives what Django's
format_html gives for every kind of value: escaped text, safe strings, lazy ones, numbers."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django import forms
from django.utils import html as django_html
from django.utils import translation
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


# Named, so that every test process collects the same ids (xdist compares them).
VALUES = {
    "empty": "",
    "plain": "plain",
    "markup as text": "<script>alert('x')</script> & \"quoted\"",
    "non-ASCII": "Ålesund – Tallinn’s «cluster» ❤",
    "marked safe": mark_safe("<b>safe & sound</b>"),
    "SafeString": SafeString("<i>x</i>"),
    "lazy": lazystr("<lazy> & 'text'"),
    "lazy marked safe": mark_safe(lazystr("<b>lazy and safe</b>")),
    "translation": gettext_lazy("Enter a valid date."),
    # Made a str before anything else, as conditional_escape() does: gettext keeps a message
    # marked safe; mark_safe() made lazy as a str is written as it is; a lazy SafeString
    # whose function gives a plain str is escaped.
    "translation of a safe message": gettext_lazy(mark_safe("<b>safe message</b>")),
    "translation in a context of a safe message": pgettext_lazy(
        "context", mark_safe("<b>safe message</b>")
    ),
    "mark_safe made lazy as str": lazy(mark_safe, str)("<i>made safe lazily</i>"),
    "lazy SafeString giving a str": lazy(lambda: "<plain>", SafeString)(),
    "markup of its own": _Markup(),
    "a form's field": _Form()["name"],
    "zero": 0,
    "negative": -42,
    "float": 3.5,
    "Decimal": Decimal("1234.50"),
    "None": None,
    "True": True,
    "date": date(2024, 3, 5),
    "datetime": datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc),
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
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
