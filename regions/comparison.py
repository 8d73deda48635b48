"""
Regions side by side, metric by metric: what /regions/compare/ shows.

The choice of regions and metrics comes from the query string (?region=oslo&region=riga&
metric=population), so every comparison has an address that can be bookmarked and shared.
Values not naming a region or metric are set aside and reported, never looked up: the
query string is only ever matched against slugs and codes already read from the database.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from itertools import groupby
from typing import NamedTuple
from urllib.parse import urlencode

from html import escape  # what django.utils.html.escape() calls, without its lazy-string wrapper

from django.db import DEFAULT_DB_ALIAS
from django.utils.safestring import mark_safe

from baltmet.prepared import prepared
from baltmet.reversing import slug_url
from regions.charts import ChartItem, bar_chart
from regions.formatting import format_quantity
from regions.models import COMPARISON_METRIC_FIELDS, Figure, Metric, Region

REGION_PARAM = "region"
METRIC_PARAM = "metric"
# Enough for every region and metric; more values in a query string are ignored unread.
MAX_VALUES = 100
# Unknown values are echoed back to the visitor, shortened.
MAX_ECHO_LENGTH = 40


def _for_echo(value):
    """`value` fit to be shown back: printable characters only (no NUL in HTML), and short."""
    value = "".join(character for character in value if character.isprintable())
    return value if len(value) <= MAX_ECHO_LENGTH else value[: MAX_ECHO_LENGTH - 1] + "…"


def _choose(requested, known):
    """`requested` values split into the known objects (in `known`'s order) and unknown values."""
    requested = [value.strip() for value in requested[:MAX_VALUES]]
    wanted = set(requested)
    chosen = [obj for key, obj in known.items() if key in wanted]
    unknown = [_for_echo(value) for value in dict.fromkeys(requested) if value and value not in known]
    return chosen, [value for value in unknown if value]


class ComparedRegion(NamedTuple):
    """A region as the page shows it: a column, a bar of each chart, a checkbox."""

    pk: int
    name: str
    slug: str
    url: str

    def __str__(self):
        return self.name


class Choice(NamedTuple):
    """A checkbox of the selection form."""

    name: str  # the query string parameter, REGION_PARAM or METRIC_PARAM
    value: str
    label: str
    checked: bool

    def checkbox(self):
        """The checkbox in its <label>; written here rather than by a loop in the template, like
        the table's cells, as the form has one for every region and metric."""
        checked = " checked" if self.checked else ""
        return (
            f'<label><input type="checkbox" name="{escape(self.name)}" value="{escape(self.value)}"{checked}> '
            f"{escape(self.label)}</label>"
        )


def _checkboxes(choices):
    # Safe: Choice.checkbox() escapes every text it inserts. A line apart, as the labels are
    # inline boxes that need the space between them.
    return mark_safe("\n".join(choice.checkbox() for choice in choices))


class Cell(NamedTuple):
    """One region's latest figure for one metric, written once for both the table and the chart;
    with no figure, every field is empty. A named tuple: as immutable as a frozen dataclass, and
    quicker to make, as a comparison makes some 130."""

    value: Decimal | None = None
    year: int | None = None
    quantity: str = ""  # the value with its qualifier: "over 500 000"
    text: str = ""  # and with the metric's unit: "over 500 000 inhabitants"

    @property
    def has_figure(self):
        return self.year is not None

    def td(self):
        """The table cell: the figure and its year, or a dash that screen readers read as "no data"."""
        if not self.has_figure:
            return NO_FIGURE_TD
        return f'<td class="num"><span class="figure-value">{escape(self.text)}</span> <span class="muted">({self.year})</span></td>'


NO_FIGURE = Cell()
NO_FIGURE_TD = '<td class="num"><span aria-hidden="true">–</span><span class="visually-hidden">no data</span></td>'


def _cell(metric, value, qualifier, year):
    # format_quantity(value, metric.unit, qualifier), with the number written only once.
    quantity = format_quantity(value, qualifier=qualifier)
    return Cell(value, year, quantity, f"{quantity} {metric.unit}" if metric.unit else quantity)


@dataclass
class Row:
    metric: Metric
    cells: list
    chart: object = None

    @property
    def has_data(self):
        return any(cell.has_figure for cell in self.cells)

    def cells_html(self):
        """The row's <td>s, written here rather than by a loop in the template: a full comparison
        has some 130 cells, and resolving their variables was much of the table's time."""
        # Safe: Cell.td() escapes the only text it inserts; the year is an int.
        return mark_safe("".join(cell.td() for cell in self.cells))


@dataclass
class RowGroup:
    label: str
    rows: list


@dataclass
class Comparison:
    regions: list
    metrics: list
    rows: list
    region_choices: list
    metric_choice_groups: list
    unknown_regions: list = field(default_factory=list)
    unknown_metrics: list = field(default_factory=list)
    chosen_by_visitor: bool = False

    @cached_property
    def row_groups(self):
        return [
            RowGroup(label, list(rows)) for label, rows in groupby(self.rows, key=lambda row: row.metric.group_label)
        ]

    def column_headers(self):
        """The table's column headers, a region's name linked to its page in each."""
        # Safe: the only texts inserted are escaped.
        return mark_safe(
            "".join(
                f'<th scope="col"><a href="{escape(region.url)}">{escape(region.name)}</a></th>'
                for region in self.regions
            )
        )

    def region_checkboxes(self):
        return _checkboxes(self.region_choices)

    def metric_checkbox_groups(self):
        """[(group label, its metrics' checkboxes)]."""
        return [(label, _checkboxes(choices)) for label, choices in self.metric_choice_groups]

    @property
    def query_string(self):
        """The query string that asks for exactly this comparison."""
        pairs = [(REGION_PARAM, region.slug) for region in self.regions]
        pairs += [(METRIC_PARAM, metric.code) for metric in self.metrics]
        return urlencode(pairs)


def _chart(metric, regions, cells):
    unit = f" ({metric.unit})" if metric.unit else ""
    items = [
        ChartItem(
            label=region.name,
            value=cell.value,
            # The unit is in the chart's title; leaving it out of the bars keeps them long.
            text=f"{cell.quantity} ({cell.year})",
            description=f"{cell.text} ({cell.year})",
        )
        if cell.has_figure
        else ChartItem(label=region.name, value=None, text="")
        for region, cell in zip(regions, cells)
    ]
    return bar_chart(f"chart-{metric.code}", f"{metric.name}{unit}", items)


# The page's two queries depend on nothing in the request: built and compiled once per process
# (baltmet.prepared), and run afresh for each request. Compiling was about half their cost.


@prepared
def _regions_query():
    return Region.objects.values_list("pk", "name", "slug")


@prepared
def _latest_figures_query():
    return Figure.objects.latest_for_comparison()


def _latest_figures():
    """The metrics some region has a figure for ({code: Metric}, in Metric's order) and the
    latest figures ({(region id, metric id): (value, qualifier, year)}), from one query.

    The metrics are Metric instances with only the fields the page shows loaded, and their
    group's label as `group_label`; the figures are
    plain values, not model instances: the page shows three fields of each, for as many as
    regions × metrics figures."""
    metrics = {}  # by id, in order
    by_pair = {}
    for region_id, metric_id, code, name, unit, group, value, qualifier, year in _latest_figures_query.rows():
        if metric_id not in metrics:
            metric = Metric.from_db(DEFAULT_DB_ALIAS, COMPARISON_METRIC_FIELDS, (metric_id, code, name, unit, group))
            # Read by the table and the form: get_group_display() builds a dict at every call.
            metric.group_label = metric.get_group_display()
            metrics[metric_id] = metric
        by_pair[region_id, metric_id] = (value, qualifier, year)
    return {metric.code: metric for metric in metrics.values()}, by_pair


def _rows(regions, metrics, by_pair):
    """A Row per metric with a Cell per region, from the latest figures `by_pair`."""
    rows = []
    for metric in metrics:
        cells = []
        metric_id = metric.pk
        for region in regions:
            figure = by_pair.get((region.pk, metric_id))
            cells.append(_cell(metric, *figure) if figure else NO_FIGURE)
        rows.append(Row(metric, cells))
    return rows


def compare(query):
    """The Comparison asked for by `query` (a QueryDict); every region and metric when none is named.

    Two queries, however many regions and metrics there are: the regions, and the latest
    figures with their metrics. The figures are read for every region and metric, whatever the
    choice, as they also say which metrics can be chosen; they are at most regions × metrics.
    """
    all_regions = {
        slug: ComparedRegion(pk, name, slug, slug_url("regions:detail", slug))
        for pk, name, slug in _regions_query.rows()
    }
    all_metrics, by_pair = _latest_figures()
    regions, unknown_regions = _choose(query.getlist(REGION_PARAM), all_regions)
    metrics, unknown_metrics = _choose(query.getlist(METRIC_PARAM), all_metrics)
    metrics_named = bool(metrics)
    regions = regions or list(all_regions.values())
    metrics = metrics or list(all_metrics.values())

    rows = _rows(regions, metrics, by_pair)
    if not metrics_named:
        # Asked for nothing in particular: leave out metrics none of these regions has.
        rows = [row for row in rows if row.has_data]
        metrics = [row.metric for row in rows]
    for row in rows:
        row.chart = _chart(row.metric, regions, row.cells)

    chosen_regions = {region.slug for region in regions}
    chosen_metrics = {metric.code for metric in metrics}
    metric_choice_groups = [
        (label, [Choice(METRIC_PARAM, metric.code, str(metric), metric.code in chosen_metrics) for metric in members])
        for label, members in groupby(all_metrics.values(), key=lambda metric: metric.group_label)
    ]
    return Comparison(
        regions=regions,
        metrics=metrics,
        rows=rows,
        region_choices=[
            Choice(REGION_PARAM, slug, region.name, slug in chosen_regions) for slug, region in all_regions.items()
        ],
        metric_choice_groups=metric_choice_groups,
        unknown_regions=unknown_regions,
        unknown_metrics=unknown_metrics,
        chosen_by_visitor=bool(query.getlist(REGION_PARAM) or query.getlist(METRIC_PARAM)),
    )
