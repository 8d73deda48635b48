"""Whatever is typed into the search box, the answer is a page, never a server error or an injection."""

import re

import pytest

from baltmet.search import MAX_QUERY_LENGTH, clean_query
from tests.news_factories import make_article
from tests.page_text import main_of, text_of
from tests.regions_factories import make_region

pytestmark = pytest.mark.django_db

HOSTILE_QUERIES = {
    "ten thousand characters": "cluster " * 1250,
    "one ten-thousand-character word": "x" * 10_000,
    "NUL bytes": "clu\x00ster\x00",
    "only a NUL byte": "\x00",
    "control characters": "\x01\x07\x1b[31mcluster\x7f",
    "unbalanced double quote": '"cluster',
    "unbalanced quotes everywhere": '"""\'\'"',
    "quote and minus only": '-"',
    "lone minus": "-",
    "minus signs only": "-- - ---",
    "lone or": "or",
    "operators only": "or or - or",
    "tsquery syntax": "cluster & !oslo | (riga:* <-> tallinn)",
    "sql injection": "' OR 1=1 --",
    "sql injection with semicolon": "'; DROP TABLE news_article; --",
    "regex metacharacters": ".*(",
    "more regex": "[a-z]+$^{2,}|\\d",
    "backslashes": "\\\\ \\",
    "like wildcards": "%_",
    "only stop words": "the of and",
    "emoji": "🚀 innovation 🇪🇪",
    "russian": "кластер",
    "latvian": "Rīga inovācijas",
    "estonian": "Tallinna ülikool",
    "polish": "Warszawa współpraca",
    "right-to-left and combining marks": "مرحبا a\u0301\u200f",
    "html": "<script>alert(1)</script>",
    "attribute breakout": '"><img src=x onerror=alert(1)>',
    "private-use characters the highlighter uses": "\ue000cluster\ue001",
}


@pytest.fixture
def content():
    make_article("Cluster news from Riga", lead="Partners met in Rīga.", body="<p>Inovācijas un klasteri.</p>")
    make_article("Кластер в Санкт-Петербурге", slug="klaster", lead="Новости кластера.")
    make_article("Tallinna ülikool joins", lead="Warszawa współpraca na rzecz innowacji.")
    make_region("oslo", country="Norway", lead="Oslo clusters.")


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_hostile_query_gets_a_page(client, content, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_hostile_query_on_a_later_page_is_a_page_or_a_404_never_an_error(client, content, query):
    assert client.get("/search/", {"q": query, "page": "2"}).status_code in {200, 404}


def test_raw_bytes_that_are_not_utf8_get_a_page(client, content):
    response = client.get("/search/?q=%FF%FE%00cluster%C0%AF")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("кластер", "Кластер в Санкт-Петербурге"),
        ("Rīga", "Cluster news from Riga"),
        ("inovācijas", "Cluster news from Riga"),
        ("Tallinna ülikool", "Tallinna ülikool joins"),
        ("Warszawa współpraca", "Tallinna ülikool joins"),
    ],
)
def test_words_in_other_scripts_and_with_diacritics_are_found(client, content, query, expected):
    html = main_of(client.get("/search/", {"q": query}).content.decode())
    assert expected in text_of(html)


def test_a_long_query_is_cut_not_refused(client, content):
    assert len(clean_query("cluster " * 1250)) <= MAX_QUERY_LENGTH
    html = client.get("/search/", {"q": "cluster " * 1250}).content.decode()
    assert "Cluster news from Riga" in text_of(main_of(html))
    field = re.search(r'<input id="search-q"[^>]*value="([^"]*)"', html).group(1)
    assert len(field) <= MAX_QUERY_LENGTH


def test_nul_bytes_are_removed_before_searching(client, content):
    assert clean_query("clu\x00ster") == "clu ster"
    assert clean_query("\x00 cluster \x00") == "cluster"
    html = client.get("/search/", {"q": "\x00cluster\x00"}).content.decode()
    assert "Cluster news from Riga" in text_of(main_of(html))


def test_the_query_is_shown_escaped_everywhere(client, content):
    query = '<script>alert("x")</script>'
    html = client.get("/search/", {"q": query}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in html


def test_markup_in_content_is_escaped_in_titles_and_excerpts(client):
    make_article(
        'Beware <img src=x onerror="alert(1)"> widgets',
        slug="beware",
        lead='Widgets <script>alert(2)</script> cost < 5 € & "more"',
    )
    html = client.get("/search/", {"q": "widgets"}).content.decode()
    assert "<img src=x" not in html and "<script>alert(2)" not in html
    assert "Beware &lt;img src=x onerror=&quot;alert(1)&quot;&gt; <" not in html
    assert '<a href="/news/beware/">Beware &lt;img src=x onerror=&quot;alert(1)&quot;&gt; widgets</a>' in html
    excerpt = re.search(r'<p class="excerpt">(.*?)</p>', html, re.S).group(1)
    assert excerpt.startswith("<mark>Widgets</mark>")
    assert "cost &lt; 5 € &amp; &quot;more" in excerpt


def test_highlighter_delimiters_in_content_cannot_unbalance_the_page(client):
    make_article("Sensors", lead="Odd \ue001text\ue000 about sensors \ue000 here")
    html = client.get("/search/", {"q": "sensors"}).content.decode()
    excerpt = re.search(r'<p class="excerpt">(.*?)</p>', html, re.S).group(1)
    assert excerpt.count("<mark>") == excerpt.count("</mark>") >= 1
    assert "\ue000" not in excerpt and "\ue001" not in excerpt
