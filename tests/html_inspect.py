"""Small HTML inspection helpers for tests, on the standard library's parser."""

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html):
    """Every start tag in `html` as (tag, attributes)."""
    collector = _Collector()
    collector.feed(html)
    return collector.elements


def asset_urls(html):
    """URLs the browser would fetch by itself: scripts, stylesheets, images, media, frames."""
    urls = []
    for tag, attrs in elements(html):
        if tag in {"script", "img", "iframe", "source", "audio", "video", "embed"} and attrs.get("src"):
            urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in {"stylesheet", "icon", "preload", "manifest"}:
            urls.append(attrs["href"])
    return urls
