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

from django.utils.html import escape
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


@dataclass(frozen=True)
class ChartItem:
    label: str
    value: Decimal | None
    text: str  # the value written after the bar, e.g. "over 500 000 (2007)"
    description: str = ""  # the value in the text alternative, if it says more than `text`


@dataclass(frozen=True)
class Bar:
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

        Every piece of text (ids, title, description, labels, values) goes through escape();
        the numbers are ints and floats written with str(), unlocalised, as SVG wants them.
        """
        title_id, description_id = escape(self.title_id), escape(self.description_id)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f'aria-labelledby="{title_id} {description_id}">'
            f'<title id="{title_id}">{escape(self.title)}</title>'
            f'<desc id="{description_id}">{escape(self.description)}</desc>'
            f'<g font-size="{self.font_size}" fill="#1b2430">'
        ]
        for bar in self.bars:
            parts.append(
                f'<text x="{bar.label_x}" y="{bar.label_y}" font-weight="600">{escape(bar.label)}</text>'
                f'<path d="M{self.plot_x} {bar.y}h{self.plot_width}v{bar.height}h-{self.plot_width}z" fill="#e9eef2"></path>'
            )
            if bar.has_value:
                parts.append(
                    f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" fill="#0b5c8c"></rect>'
                )
            value_style = "" if bar.has_value else NO_DATA_STYLE
            parts.append(
                f'<line x1="{self.axis_x}" y1="{bar.axis_top}" x2="{self.axis_x}" y2="{bar.axis_bottom}" '
                f'stroke="#55606e" stroke-width="1.5"></line>'
                f'<text x="{bar.value_x}" y="{bar.text_y}"{value_style}>{escape(bar.text)}</text>'
            )
        parts.append("</g></svg>")
        # Safe: every string above that comes from content was escaped where it was inserted.
        return mark_safe("".join(parts))


def _fitted(label):
    return label if len(label) <= MAX_LABEL_CHARACTERS else label[: MAX_LABEL_CHARACTERS - 1].rstrip() + "…"


def _rounded(number):
    return round(float(number), 1)


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
        return plot_left + (float((value - low) / span) * plot_width if span else 0)

    zero_x = x_of(Decimal(0))
    bars = []
    for row, item in enumerate(items):
        top = PADDING + row * ROW_HEIGHT
        has_value = item.value is not None
        end_x = x_of(item.value) if has_value else zero_x
        bar_left, bar_right = sorted((zero_x, end_x))
        bars.append(
            Bar(
                label=_fitted(item.label),
                text=item.text if has_value else NO_DATA,
                has_value=has_value,
                x=_rounded(bar_left),
                # The row's own positions are whole units (VALUE_BASELINE too, as a float):
                # they need no rounding, only to be floats like the rest.
                y=float(top + LABEL_HEIGHT),
                width=_rounded(bar_right - bar_left),
                height=BAR_HEIGHT,
                label_x=plot_left,
                value_x=_rounded(max(bar_right, zero_x) + GAP),
                text_y=float(top + VALUE_BASELINE),
                label_y=float(top + LABEL_BASELINE),
                axis_top=float(top + LABEL_HEIGHT - 3),
                axis_bottom=float(top + LABEL_HEIGHT + BAR_HEIGHT + 3),
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
        axis_x=_rounded(zero_x),
        plot_x=plot_left,
        plot_width=plot_width,
    )
