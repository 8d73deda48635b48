"""
No known XSS vector survives saving and rendering rich text.

Every vector of tests/data/xss_vectors.txt is saved as an article body (through the ORM,
which runs the same pre_save sanitiser as the admin and loaddata), and the public page is
parsed: nothing outside the editor's allow-list, no event handlers, no script URLs.
"""

import re
from pathlib import Path

import pytest

from baltmet.sanitize import ALLOWED_TAGS, sanitize_html
from news.models import Event
from regions.models import Region
from tests.html_inspect import elements
from tests.news_factories import make_article, make_event

VECTORS = [
    line
    for line in (Path(__file__).parent / "data" / "xss_vectors.txt").read_text().splitlines()
    if line.strip() and not line.startswith("# ")
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "srcset", "cite", "data", "xlink:href", "poster", "dynsrc", "lowsrc"}
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:")


def _normalised_url(value):
    # Browsers ignore ASCII whitespace and control characters inside a scheme.
    return re.sub(r"[\x00-\x20]", "", value).lower()


def page_shape(html):
    """The tags and image sources a page has of its own, with harmless content."""
    found = elements(html)
    return {tag for tag, _ in found}, {attrs.get("src") for tag, attrs in found if tag == "img"}


def executable_parts(html, baseline):
    """Everything in `html` that could run script or load foreign content."""
    baseline_tags, baseline_img_srcs = baseline
    problems = []
    for tag, attrs in elements(html):
        if tag not in baseline_tags and tag not in ALLOWED_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"{tag}[{name}]")
            if name == "style":
                problems.append(f"{tag}[style]")
            if name in URL_ATTRIBUTES and value and _normalised_url(value).startswith(SCRIPT_SCHEMES):
                problems.append(f"{tag}[{name}={value[:40]}]")
        src = attrs.get("src")
        if tag == "img" and src is not None and not src.startswith("/media/") and src not in baseline_img_srcs:
            problems.append(f"img[src={src[:40]}]")
    return problems


def _shape_of(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return page_shape(response.content.decode())


@pytest.fixture
def article_baseline(client, db):
    return _shape_of(client, make_article("Plain", body="<p>Plain text.</p>").get_absolute_url())


def test_corpus_has_at_least_a_hundred_vectors():
    assert len(VECTORS) >= 100
    assert len(set(VECTORS)) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=range(len(VECTORS)))
def test_vector_in_article_body_is_not_executable_on_the_public_page(client, db, article_baseline, vector):
    article = make_article("Attack", body=f"<p>Before</p>{vector}<p>After</p>")
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert executable_parts(response.content.decode(), article_baseline) == []


def test_whole_corpus_in_event_and_region_pages_is_not_executable(client, db):
    corpus = "\n".join(VECTORS)
    plain_event = make_event("Plain event", body="<p>Plain.</p>")
    plain_region = Region.objects.create(name="Plainholm", slug="plainholm", country="X", body="<p>Plain.</p>")
    event = make_event("Attack event", body=corpus)
    region = Region.objects.create(name="Attackholm", slug="attackholm", country="X", body=corpus, policy=corpus)
    for plain, attacked in ((plain_event, event), (plain_region, region)):
        baseline = _shape_of(client, plain.get_absolute_url())
        response = client.get(attacked.get_absolute_url())
        assert response.status_code == 200
        assert executable_parts(response.content.decode(), baseline) == [], attacked.get_absolute_url()


def test_sanitiser_keeps_what_the_editor_toolbar_produces():
    html = (
        "<h2>Heading</h2><h3>Sub</h3><p><strong>bold</strong> <em>italic</em></p>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote><p>quote</p></blockquote>"
        '<p><a href="/news/">internal</a> <a href="https://example.org/">external</a></p>'
        '<p><img alt="harbour" src="/media/uploads/2024/01/harbour.png" width="300" height="200"></p>'
        "<table><caption>Figures</caption><thead><tr><th scope=\"col\">A</th></tr></thead>"
        "<tbody><tr><td>1</td></tr></tbody></table>"
    )
    cleaned = sanitize_html(html)
    for kept in ("<h2>Heading</h2>", "<h3>Sub</h3>", "<strong>bold</strong>", "<em>italic</em>", "<li>one</li>",
                 "<blockquote>", '<th scope="col">A</th>', "<caption>Figures</caption>",
                 'src="/media/uploads/2024/01/harbour.png"', 'alt="harbour"'):
        assert kept in cleaned
    assert '<a href="https://example.org/" rel="noopener noreferrer">external</a>' in cleaned


def test_event_with_sanitised_body_is_stored_clean(db):
    event = make_event("Stored", body='<p onclick="x()">Hi<script>bad()</script></p>')
    event.refresh_from_db()
    assert Event.objects.get(pk=event.pk).body == "<p>Hi</p>"
