"""Search without PostgreSQL (`make run` on SQLite): simpler, same function, same pages."""

from urllib.parse import urlencode

import pytest

from baltmet.search import SimpleSearch
from tests.news_factories import make_article, make_draft_article
from tests.regions_factories import make_region
from tests.subprocess_env import pages_on_sqlite

pytestmark = pytest.mark.django_db


def test_simple_search_matches_every_word_excludes_minus_words_and_puts_title_hits_first():
    make_article("Harbour news", lead="Energy in the harbour.")
    make_article("Energy harbour", lead="Ships.")
    make_article("Harbour energy pirates", lead="")
    make_draft_article("Draft harbour energy", lead="")
    make_region("oslo", country="Norway", lead="Harbour and energy clusters.")
    found = SimpleSearch("energy harbour -pirates")
    titles = [result.title for result in found[0:10]]
    assert found.count() == 3
    assert titles[0] == "Energy harbour"
    assert sorted(titles) == ["Energy harbour", "Harbour news", "Oslo"]
    assert "<mark>Energy</mark>" in found[0:10][1].excerpt or "<mark>energy</mark>" in found[0:10][1].excerpt


def test_simple_search_escapes_content_and_highlights_case_insensitively():
    make_article("Tags", lead='<b>Bold</b> 5 < 6 CLUSTER & "co"')
    [result] = SimpleSearch("cluster")[0:10]
    assert result.excerpt == "Bold 5 &lt; 6 <mark>CLUSTER</mark> &amp; &quot;co&quot;"


QUERIES = ["oslo", "Clusters", "life sciences", "brussels -seminar", "\x00", "' OR 1=1 --", ".*(", "%_",
           "кластер", "x" * 10000, '"unbalanced', "-zeppelin"]


def test_on_sqlite_migrations_seed_fixtures_and_search_work(tmp_path):
    url = {query: "/search/?" + urlencode({"q": query}) for query in QUERIES}
    pages = pages_on_sqlite(tmp_path, ["regions_seed", "news_seed"], url.values())
    answers = {query: pages[url[query]] for query in QUERIES}
    assert all(status == 200 for status, _ in answers.values()), {q: status for q, (status, _) in answers.items()}
    assert 'href="/regions/oslo/"' in answers["oslo"][1]
    assert "<mark>Oslo</mark>" in answers["oslo"][1] or "<mark>oslo</mark>" in answers["oslo"][1]
    assert 'href="/regions/oslo/"' in answers["life sciences"][1]
    assert "0 results for" in answers["-zeppelin"][1] and "Add a word to look for" in answers["-zeppelin"][1]
