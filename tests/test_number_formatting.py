"""Numbers as people read them: the rules of regions.formatting and its template filters."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from regions.formatting import format_figure, format_number, format_quantity


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (22, "22"),
        (450, "450"),
        (4600, "4600"),  # four digits stay together, as the seed page writes them
        (9999, "9999"),
        (10000, "10 000"),  # grouping starts at five digits
        (30000, "30 000"),
        (60000, "60 000"),
        (500000, "500 000"),
        (999999, "999 999"),
    ],
)
def test_whole_numbers_are_grouped_in_thousands_from_five_digits(value, expected):
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("450.00"), "450"),  # the database's two decimal places are not shown when zero
        (Decimal("12.50"), "12.5"),
        (Decimal("12345.67"), "12 345.67"),
        (Decimal("0.05"), "0.05"),
        (12.5, "12.5"),
        ("450.00", "450"),
    ],
)
def test_decimals_are_dropped_when_zero_and_kept_otherwise(value, expected):
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1000000, "1 million"),
        (1500000, "1.5 million"),
        (Decimal("1500000.00"), "1.5 million"),
        (1234567, "1.2 million"),
        (1250000, "1.3 million"),  # half rounds up, not to even
        (12000000, "12 million"),
        (999960000, "1 billion"),  # rounds to 1000.0 million, which is a billion
        (2500000000, "2.5 billion"),
    ],
)
def test_millions_and_more_are_written_in_words_with_one_decimal_at_most(value, expected):
    assert format_number(value) == expected


def test_negative_numbers_keep_their_sign():
    assert format_number(-12345) == "-12 345"
    assert format_number(Decimal("-2500000")) == "-2.5 million"


def test_text_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="not a number"):
        format_number("many")


@pytest.mark.parametrize(
    ("value", "unit", "qualifier", "expected"),
    [
        (500000, "inhabitants", "over", "over 500 000 inhabitants"),
        (450, "km²", "", "450 km²"),
        (1500000, "inhabitants", "about", "about 1.5 million inhabitants"),
        (60000, "", "more than", "more than 60 000"),
        (22, "", "", "22"),
    ],
)
def test_quantities_read_qualifier_number_unit(value, unit, qualifier, expected):
    assert format_quantity(value, unit, qualifier) == expected


def test_a_figure_takes_its_unit_from_its_metric():
    figure = SimpleNamespace(value=Decimal("450.00"), qualifier="", metric=SimpleNamespace(unit="km²"))
    assert format_figure(figure) == "450 km²"


def render(source, **context):
    return Template("{% load region_numbers %}" + source).render(Context(context))


def test_readable_number_filter():
    assert render("{{ n|readable_number }}", n=30000) == "30 000"
    assert render("{{ n|readable_number }}", n=4600) == "4600"
    assert render("{{ n|readable_number }}", n=None) == ""


def test_figure_text_filter_shows_qualifier_number_and_unit():
    figure = SimpleNamespace(value=Decimal("500000"), qualifier="over", metric=SimpleNamespace(unit="inhabitants"))
    assert render("{{ f|figure_text }}", f=figure) == "over 500 000 inhabitants"
    assert render("{{ f|figure_text }}", f=None) == ""


def test_figure_text_filter_output_is_escaped_like_any_text():
    figure = SimpleNamespace(value=Decimal("5"), qualifier="", metric=SimpleNamespace(unit="<b>m</b>"))
    assert render("{{ f|figure_text }}", f=figure) == "5 &lt;b&gt;m&lt;/b&gt;"


def test_figure_list_tag_writes_name_value_and_year_of_each_figure_escaped():
    figures = [
        SimpleNamespace(value=Decimal("500000"), qualifier="over", year=2007, metric=SimpleNamespace(name="Population", unit="inhabitants")),
        SimpleNamespace(value=Decimal("5"), qualifier="", year=2009, metric=SimpleNamespace(name="R&D <i>", unit="<b>m</b>")),
    ]
    assert render("{% figure_list figures %}", figures=figures) == (
        '<dl class="figure-list">'
        '<div><dt>Population</dt><dd><span class="figure-value">over 500 000 inhabitants</span> <span class="muted">(2007)</span></dd></div>'
        '<div><dt>R&amp;D &lt;i&gt;</dt><dd><span class="figure-value">5 &lt;b&gt;m&lt;/b&gt;</span> <span class="muted">(2009)</span></dd></div>'
        "</dl>"
    )
    assert render("{% figure_list figures %}", figures=[]) == '<dl class="figure-list"></dl>'
