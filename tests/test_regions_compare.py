"""/regions/compare/: regions side by side, as a table and as a bar chart per metric."""

import re
from decimal import Decimal

import pytest

from regions.charts import VALUE_WIDTH, ChartItem, bar_chart
from regions.models import Metric
from tests.html_inspect import elements
from tests.page_text import assert_headings_in_order, text_of
from tests.regions_factories import add_figure, make_metric, make_region

pytestmark = pytest.mark.django_db

URL = "/regions/compare/"


def page(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200, query
    return response.content.decode()


def table_of(html):
    return html.split("<table", 1)[1].split("</table>", 1)[0]


def column_headers(html):
    head = table_of(html).split("<thead>", 1)[1].split("</thead>", 1)[0]
    return text_of(head).split(" ")[1:]  # after the "Figure" column


def svg_charts(html):
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


@pytest.fixture
def metrics():
    return {
        "population": make_metric("population", name="Population", unit="inhabitants", position=1),
        "area": make_metric("area", name="Area", unit="km²", position=2),
        "students": make_metric("students", name="Students", group=Metric.Group.EDUCATION),
    }


@pytest.fixture
def oslo(metrics):
    region = make_region("oslo", country="Norway")
    add_figure(region, metrics["population"], 500000, qualifier="over")
    add_figure(region, metrics["area"], 450)
    add_figure(region, metrics["students"], 60000, qualifier="more than")
    return region


@pytest.fixture
def riga(metrics):
    region = make_region("riga", country="Latvia")
    add_figure(region, metrics["population"], 700000, year=2009)
    add_figure(region, metrics["area"], 304, year=2009)
    return region


# How many regions


def test_with_no_regions_the_page_says_there_is_nothing_to_compare(client):
    html = page(client)
    assert "There are no regions to compare yet." in html
    assert "<table" not in html and "<svg" not in html


def test_with_regions_but_no_figures_the_page_says_so(client):
    make_region("riga")
    assert "There are no key figures to compare yet." in page(client)


def test_one_region_gets_a_column_and_a_chart_per_metric(client, oslo):
    html = page(client)
    assert column_headers(html) == ["Oslo"]
    table = text_of(table_of(html))
    assert "Population (inhabitants) over 500 000 inhabitants (2007)" in table
    assert "Area (km²) 450 km² (2007)" in table
    assert "Students more than 60 000 (2007)" in table
    assert len(svg_charts(html)) == 3


def test_two_regions_side_by_side_with_each_figures_year(client, oslo, riga):
    html = page(client)
    assert column_headers(html) == ["Oslo", "Riga"]
    table = text_of(table_of(html))
    assert "Area (km²) 450 km² (2007) 304 km² (2009)" in table
    assert "Population (inhabitants) over 500 000 inhabitants (2007) 700 000 inhabitants (2009)" in table


def test_a_missing_value_is_a_dash_that_screen_readers_read_as_no_data(client, oslo, riga):
    html = page(client)
    students_row = table_of(html).split("Students", 1)[1].split("</tr>", 1)[0]
    assert '<span aria-hidden="true">–</span><span class="visually-hidden">no data</span>' in students_row


def test_table_rows_are_grouped_by_metric_group_in_group_order(client, oslo):
    table = table_of(page(client))
    assert '<th scope="rowgroup" colspan="2">Size</th>' in table
    assert table.index(">Size<") < table.index("Population") < table.index("Area") < table.index(">Education and R&amp;D<")
    assert "<caption>" in table and '<th scope="col">' in table and '<th scope="row">' in table


def test_the_page_is_accessible_in_structure(client, oslo, riga):
    html = page(client)
    assert_headings_in_order(html)
    ids = [attrs["id"] for tag, attrs in elements(html) if "id" in attrs]
    assert len(ids) == len(set(ids)), "every chart's title and description have their own id"
    checkboxes = [attrs for tag, attrs in elements(html) if tag == "input" and attrs.get("type") == "checkbox"]
    legends = re.findall(r"<legend>(.*?)</legend>", html)
    assert len(checkboxes) == 5
    assert legends == ["Regions", "Figures", "Size", "Education and R&amp;D"], "checkboxes grouped in fieldsets"


# Choosing through the query string


def test_regions_and_metrics_are_chosen_through_the_query_string(client, oslo, riga):
    html = page(client, "?region=riga&metric=area")
    assert column_headers(html) == ["Riga"]
    table = text_of(table_of(html))
    assert "Area (km²) 304 km² (2009)" in table
    assert "Population" not in table
    assert len(svg_charts(html)) == 1


def test_the_form_shows_the_choice_and_the_page_links_to_it(client, oslo, riga):
    html = page(client, "?metric=area&region=riga&region=oslo")
    checked = {(attrs["name"], attrs["value"]) for tag, attrs in elements(html) if tag == "input" and "checked" in attrs}
    assert checked == {("region", "oslo"), ("region", "riga"), ("metric", "area")}
    assert 'href="/regions/compare/?region=oslo&amp;region=riga&amp;metric=area"' in html
    form = next(attrs for tag, attrs in elements(html) if tag == "form")
    assert form["method"] == "get" and form["action"] == URL


def test_without_a_choice_every_region_and_metric_is_checked(client, oslo, riga):
    html = page(client)
    checked = {(attrs["name"], attrs["value"]) for tag, attrs in elements(html) if tag == "input" and "checked" in attrs}
    assert checked == {
        ("region", "oslo"),
        ("region", "riga"),
        ("metric", "population"),
        ("metric", "area"),
        ("metric", "students"),
    }


def test_metrics_without_any_figure_are_not_offered(client, oslo):
    make_metric("ports", name="Ports")
    assert 'value="ports"' not in page(client)


def test_every_metric_with_a_figure_is_offered_whichever_regions_are_chosen(client, oslo, riga):
    # Only Oslo has a figure for students; Riga's area gets an older figure besides its latest.
    add_figure(riga, Metric.objects.get(code="area"), 300, year=2001)
    html = page(client, "?region=riga")
    offered = [attrs["value"] for tag, attrs in elements(html) if tag == "input" and attrs.get("name") == "metric"]
    assert offered == ["population", "area", "students"], "in the metrics' order, Students though Riga has none"
    assert "Area (km²) 304 km² (2009)" in text_of(table_of(html)) and "300 km²" not in html, "the latest figure only"


def test_by_default_a_metric_none_of_the_chosen_regions_has_is_left_out(client, oslo, riga):
    html = page(client, "?region=riga")
    assert "Students" not in text_of(table_of(html))


def test_a_metric_asked_for_by_name_is_shown_even_without_data(client, oslo, riga):
    table = text_of(table_of(page(client, "?region=riga&metric=students")))
    assert "Students – no data" in table


# Query strings that do not name anything


def test_an_unknown_region_is_ignored_with_a_note(client, oslo, riga):
    html = page(client, "?region=riga&region=atlantis")
    assert column_headers(html) == ["Riga"]
    assert "No region is called “atlantis”; left out." in text_of(html)


def test_an_unknown_metric_is_ignored_with_a_note(client, oslo):
    html = page(client, "?metric=area&metric=happiness")
    assert "Area" in text_of(table_of(html)) and "Population" not in text_of(table_of(html))
    assert "No figure is called “happiness”; left out." in text_of(html)


def test_only_unknown_names_compare_everything_and_say_what_was_left_out(client, oslo, riga):
    html = page(client, "?region=atlantis&metric=happiness")
    assert column_headers(html) == ["Oslo", "Riga"]
    assert "atlantis" in html and "happiness" in html


@pytest.mark.parametrize(
    "query",
    [
        "?region=%00",
        "?region=oslo%00riga&metric=%00area",
        "?region=" + "x" * 5000,
        "?region=<script>alert(1)</script>",
        "?metric=%FF%FE",
        "?region=&metric=",
        "?region=oslo&region=oslo",
        "?" + "&".join(f"region=r{n}" for n in range(300)),
    ],
)
def test_hostile_or_broken_query_strings_never_break_the_page(client, oslo, query):
    html = page(client, query)
    assert "\x00" not in html
    assert "<script>alert" not in html
    assert column_headers(html) == ["Oslo"]


def test_an_unknown_name_is_echoed_shortened(client, oslo):
    html = page(client, "?region=" + "x" * 5000)
    assert "x" * 39 + "…" in html and "x" * 41 not in html


# Charts


def test_each_chart_has_a_title_and_a_text_alternative_listing_the_values(client, oslo, riga):
    html = page(client, "?metric=area")
    (svg,) = svg_charts(html)
    tags = dict(elements(svg))
    assert tags["svg"]["role"] == "img"
    title_id, desc_id = tags["svg"]["aria-labelledby"].split()
    assert f'<title id="{title_id}">Area (km²)</title>' in svg
    assert f'<desc id="{desc_id}">Oslo: 450 km² (2007); Riga: 304 km² (2009)</desc>' in svg
    assert "<script" not in html


def test_chart_bars_are_scaled_to_the_largest_value(client, oslo, riga):
    (svg,) = svg_charts(page(client, "?metric=area"))
    widths = [float(attrs["width"]) for tag, attrs in elements(svg) if tag == "rect"]
    assert len(widths) == 2
    oslo_width, riga_width = widths
    assert riga_width / oslo_width == pytest.approx(304 / 450, abs=0.01)


def test_a_region_without_the_value_has_no_bar_but_says_no_data(client, oslo, riga):
    (svg,) = svg_charts(page(client, "?metric=students"))
    assert len([tag for tag, _ in elements(svg) if tag == "rect"]) == 1
    assert "Riga: no data" in svg and ">no data</text>" in svg


def test_every_row_has_its_track_axis_label_and_value_and_only_values_a_bar():
    chart = bar_chart(
        "chart-test",
        "Test",
        [ChartItem("A", Decimal(50), "50"), ChartItem("B", None, ""), ChartItem("C", Decimal(25), "25")],
    )
    tags = elements(chart.svg())
    track, axis = [attrs["d"] for tag, attrs in tags if tag == "path"]
    assert track.count("M") == axis.count("M") == 3, "one track and one axis segment a row"
    assert [attrs["y"] for tag, attrs in tags if tag == "rect"] == ["30", "154"], "rows A and C"
    texts = [attrs["y"] for tag, attrs in tags if tag == "text"]
    assert len(texts) == 6, "a label and a value a row"


def test_the_largest_bar_fills_the_plot_and_values_follow_the_bars():
    chart = bar_chart(
        "chart-test",
        "Test",
        [ChartItem("A", Decimal(50), "50"), ChartItem("B", Decimal(200), "200"), ChartItem("C", None, "")],
    )
    a, b, c = chart.bars
    assert b.width == pytest.approx(4 * a.width)
    assert a.x == b.x == chart.axis_x, "bars start at the zero axis"
    assert b.value_x == pytest.approx(chart.width - VALUE_WIDTH), "the longest bar ends where the values' column starts"
    assert a.value_x == pytest.approx(a.x + a.width + (b.value_x - b.x - b.width)), "each value follows its bar"
    assert not c.has_value and c.width == 0 and c.text == "no data"
    assert a.y < b.y < c.y, "one row per item, in order"
    assert chart.description == "A: 50; B: 200; C: no data"


def test_negative_values_extend_left_of_the_zero_axis():
    chart = bar_chart("chart-test", "Growth", [ChartItem("A", Decimal(-1), "-1"), ChartItem("B", Decimal(3), "3")])
    a, b = chart.bars
    assert a.x + a.width == pytest.approx(chart.axis_x) == pytest.approx(b.x)
    assert b.width == pytest.approx(3 * a.width)


def test_long_labels_are_shortened_on_the_chart_but_whole_in_the_text_alternative():
    name = "Berlin-Brandenburg Capital Region"
    chart = bar_chart("chart-test", "Test", [ChartItem(name, Decimal(1), "1")])
    assert chart.bars[0].label == "Berlin-Brandenburg…"
    assert chart.description == f"{name}: 1"


def test_all_zero_values_draw_without_dividing_by_zero():
    chart = bar_chart("chart-test", "Zero", [ChartItem("A", Decimal(0), "0")])
    assert chart.bars[0].width == 0


# Cost


def test_query_count_does_not_grow_with_the_number_of_regions(client, metrics, django_assert_num_queries):
    def add_region(slug):
        region = make_region(slug)
        for value, metric in enumerate(metrics.values(), start=1):
            add_figure(region, metric, value * 1000)

    add_region("oslo")
    with django_assert_num_queries(2):
        client.get(URL)
    for slug in ("riga", "tallinn", "vilnius", "warsaw", "berlin"):
        add_region(slug)
    with django_assert_num_queries(2):
        client.get(URL)
    with django_assert_num_queries(2):
        client.get(URL + "?region=riga&region=oslo&metric=area")



def test_names_and_units_are_escaped_in_the_table_and_the_charts(client):
    metric = make_metric("share", name="Share <R&D>", unit='<b>"%"</b>')
    region = make_region("odd", name="Odd <script>x</script>")
    add_figure(region, metric, 5, qualifier="about")
    html = page(client)
    assert "<script>x" not in html and "<b>" not in html
    (svg,) = svg_charts(html)
    assert "Odd &lt;script&gt;x&lt;/script&gt;" in svg, "the label and the text alternative"
    assert "<title id=\"chart-share-title\">Share &lt;R&amp;D&gt; (&lt;b&gt;&quot;%&quot;&lt;/b&gt;)</title>" in svg
    assert '<span class="figure-value">about 5 &lt;b&gt;&quot;%&quot;&lt;/b&gt;</span>' in table_of(html)
    assert '<a href="/regions/odd/">Odd &lt;script&gt;x&lt;/script&gt;</a></th>' in table_of(html), "the column header"
    assert 'value="odd" checked> Odd &lt;script&gt;x&lt;/script&gt;</label>' in html, "the region's checkbox"
    assert 'value="share" checked> Share &lt;R&amp;D&gt; (&lt;b&gt;&quot;%&quot;&lt;/b&gt;)</label>' in html
