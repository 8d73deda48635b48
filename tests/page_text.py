"""What a visitor reads on a page: its text without markup, and the outline of its headings."""

import re
from html import unescape
from html.parser import HTMLParser


def text_of(html):
    """The text of `html` with tags removed, entities decoded and whitespace collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", html)
    text = " ".join(unescape(without_tags).split())
    # "<strong>Oslo</strong>, Norway" reads "Oslo, Norway", not "Oslo , Norway".
    return re.sub(r" ([,;.:])", r"\1", text)


def main_of(html):
    """The <main> element of a page, so that navigation and footer text do not count."""
    return html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]


class _Headings(HTMLParser):
    def __init__(self):
        super().__init__()
        self.levels = []

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))


def heading_levels(html):
    parser = _Headings()
    parser.feed(html)
    return parser.levels


def assert_headings_in_order(html):
    """One h1, first; no level skipped on the way down (h2 → h4)."""
    levels = heading_levels(html)
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    for previous, current in zip(levels, levels[1:]):
        assert current <= previous + 1, f"heading level jumps from h{previous} to h{current}: {levels}"
