"""
Horizontal bar charts, laid out and drawn as inline SVG in Python.

All geometry is computed here, and the markup is written here too (BarChart.svg) rather than
by a template: a comparison has a chart per metric and a dozen rows per chart, each row
placing some fifteen values, and writing them with string formatting costs a small fraction of
resolving each as a template variable. The charts need no JavaScript. One row per item: its label on a line of its own,
and under it its bar, scaled to the largest value, with its value written after the bar.
Labels above the bars leave the whole width to the bars and values, so that the chart stays
legible when a phone scales it down to its screen. Items without a
value keep their row, saying "no data", so that every chart lists the same regions in the
same order as the table.
"""

from dataclasses import dataclass
from decimal import Decimal
from html import escape  # what django.utils.html.escape() calls, without its lazy-string wrapper
from typing import NamedTuple

from django.utils.safestring import mark_safe

WIDTH = 480
FONT_SIZE = 20  # in the chart's own units: about 14 px on a 375 px phone, 18 px on a desktop
# Labels are shortened on the chart only (the text alternative keeps them whole).
MAX_LABEL_CHARACTERS = 20
VALUE_WIDTH = 260  # the value written after the longest bar, e.g. "about 1.5 million (2007)"
GAP = 8
PADDING = 4
LABEL_HEIGHT = 26  # the label's line, above its bar
BAR_HEIGHT = 22
ROW_GAP = 14
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
# Text sits on a baseline; these put the label at the foot of its line and the value at the
# vertical middle of the bar.
LABEL_BASELINE = LABEL_HEIGHT - 6
VALUE_BASELINE = LABEL_HEIGHT + BAR_HEIGHT / 2 + 7
NO_DATA = "no data"
# "no data" is written in grey italics, so that it does not read as a value.
NO_DATA_STYLE = ' fill="#55606e" font-style="italic"'


# ChartItem and Bar are named tuples rather than frozen dataclasses: as immutable, and a
# comparison makes a dozen of each per chart, which a frozen dataclass's __init__ made slow.
class ChartItem(NamedTuple):
    label: str
    value: Decimal | None
    text: str  # the value written after the bar, e.g. "over 500 000 (2007)"
    description: str = ""  # the value in the text alternative, if it says more than `text`


class Bar(NamedTuple):
    label: str
    text: str
    has_value: bool
    x: float
    y: float
    width: float
    height: float
    label_x: float
    value_x: float
    text_y: float
    label_y: float
    axis_top: float  # the zero axis beside this bar
    axis_bottom: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    bars: list
    axis_x: float
    plot_x: float  # the plot, where bars may be: each row shows it as a light track
    plot_width: float
    font_size: int = FONT_SIZE

    @property
    def title_id(self):
        return f"{self.id}-title"

    @property
    def description_id(self):
        return f"{self.id}-desc"

    def svg(self):
        """The chart as an <svg> element: a role="img" labelled by its <title> and <desc>.

        Every piece of text (ids, title, description, labels, values) goes through escape()
        (html.escape, as Django's escape()); the numbers are ints and floats written with
        _number(), unlocalised, as SVG wants them. Drawn in layers, each one element for every
        row (the rows never overlap): the light tracks as one path, the bars (a <rect> each)
        in one group, the zero axis beside each bar as one path, then the texts. The attributes
        they share are written once, which halves the markup of a dozen rows.
        """
        title_id, description_id = escape(self.title_id), escape(self.description_id)
        plot_x, plot_width, axis_x = _number(self.plot_x), _number(self.plot_width), _number(self.axis_x)
        tracks, rects, axis, texts = [], [], [], []
        for bar in self.bars:
            y, height = _number(bar.y), _number(bar.height)
            tracks.append(f"M{plot_x} {y}h{plot_width}v{height}h-{plot_width}z")
            if bar.has_value:
                value_style = ""
                rects.append(
                    f'<rect x="{_number(bar.x)}" y="{y}" width="{_number(bar.width)}" height="{height}"></rect>'
                )
            else:
                value_style = NO_DATA_STYLE
            axis.append(f"M{axis_x} {_number(bar.axis_top)}V{_number(bar.axis_bottom)}")
            texts.append(
                f'<text x="{_number(bar.label_x)}" y="{_number(bar.label_y)}" font-weight="600">{escape(bar.label)}</text>'
                f'<text x="{_number(bar.value_x)}" y="{_number(bar.text_y)}"{value_style}>{escape(bar.text)}</text>'
            )
        # Safe: every string here that comes from content was escaped where it was inserted.
        return mark_safe(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f'aria-labelledby="{title_id} {description_id}">'
            f'<title id="{title_id}">{escape(self.title)}</title>'
            f'<desc id="{description_id}">{escape(self.description)}</desc>'
            f'<path fill="#e9eef2" d="{"".join(tracks)}"></path>'
            f'<g fill="#0b5c8c">{"".join(rects)}</g>'
            f'<path stroke="#55606e" stroke-width="1.5" d="{"".join(axis)}"></path>'
            f'<g font-size="{self.font_size}" fill="#1b2430">{"".join(texts)}</g></svg>'
        )


def _number(value):
    """A coordinate as SVG takes it: 30.0 as 30, 191.25 as 191.25 (the layout rounds to tenths)."""
    return f"{value:g}"


def _fitted(label):
    return label if len(label) <= MAX_LABEL_CHARACTERS else label[: MAX_LABEL_CHARACTERS - 1].rstrip() + "…"


def bar_chart(chart_id, title, items):
    """A BarChart of `items` (ChartItem), with `title` and a text alternative listing every value.

    Bars start at zero and are scaled so that the largest magnitude fills the plot; negative
    values extend to the left of the zero axis.
    """
    values = [item.value for item in items if item.value is not None]
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    span = high - low
    plot_left = PADDING
    plot_width = WIDTH - plot_left - GAP - VALUE_WIDTH

    def x_of(value):
        # With no data or only zeros there is nothing to scale: every bar has zero length.
        return plot_left + (float((value - low) / span) * plot_width if span else 0.0)

    zero_x = x_of(Decimal(0))
    bars = []
    for row, item in enumerate(items):
        # The row's own positions are whole units (VALUE_BASELINE too, as a float): they need
        # no rounding, only to be floats like the rest. The x positions are floats, rounded.
        top = float(PADDING + row * ROW_HEIGHT)
        has_value = item.value is not None
        end_x = x_of(item.value) if has_value else zero_x
        bar_left, bar_right = (zero_x, end_x) if end_x >= zero_x else (end_x, zero_x)
        bars.append(
            Bar(
                label=_fitted(item.label),
                text=item.text if has_value else NO_DATA,
                has_value=has_value,
                x=round(bar_left, 1),
                y=top + LABEL_HEIGHT,
                width=round(bar_right - bar_left, 1),
                height=BAR_HEIGHT,
                label_x=plot_left,
                value_x=round(bar_right + GAP, 1),  # bar_right is never left of zero_x
                text_y=top + VALUE_BASELINE,
                label_y=top + LABEL_BASELINE,
                axis_top=top + (LABEL_HEIGHT - 3),
                axis_bottom=top + (LABEL_HEIGHT + BAR_HEIGHT + 3),
            )
        )
    height = 2 * PADDING + max(len(items), 1) * ROW_HEIGHT - ROW_GAP
    description = "; ".join(
        f"{item.label}: {(item.description or item.text) if item.value is not None else NO_DATA}" for item in items
    )
    return BarChart(
        id=chart_id,
        title=title,
        description=description or NO_DATA,
        width=WIDTH,
        height=height,
        bars=bars,
        axis_x=round(zero_x, 1),
        plot_x=plot_left,
        plot_width=plot_width,
    )
