"""/search/: ranked full-text search across published articles, events and regions."""

import re
import sys
import threading
import unicodedata
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Cast
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baltmet import search as search_module
from baltmet.search import SimpleSearch, _in_a_word, search
from baltmet.views import SearchView
from news.models import Article
from tests.news_factories import make_article, make_draft_article, make_event, make_scheduled_article
from tests.page_text import assert_headings_in_order, main_of, text_of
from tests.regions_factories import make_cluster, make_region

pytestmark = pytest.mark.django_db

RESULT = re.compile(r'<li class="result">(.*?)</li>', re.S)


def results(client, query, **params):
    """[(kind label, title)] of a results page, in order."""
    response = client.get("/search/", {"q": query, **params})
    assert response.status_code == 200
    found = []
    for item in RESULT.findall(response.content.decode()):
        title = unescape(re.search(r"<h3><a [^>]*>(.*?)</a></h3>", item).group(1))
        kind = re.search(r'<span class="kind">(.*?)</span>', item).group(1)
        found.append((kind, title))
    return found


def titles(client, query, **params):
    return [title for _, title in results(client, query, **params)]


def test_a_title_hit_outranks_a_lead_hit_and_a_lead_hit_a_body_hit(client):
    # Created body first, so that neither creation order nor date explains the order.
    make_article("Annual report", lead="Figures of the year.", body="<p>Our hydrogen work grew.</p>",
                 publish_at=timezone.now() - timedelta(hours=1))
    make_article("Partners met", lead="Talks on hydrogen in Riga.", publish_at=timezone.now() - timedelta(hours=2))
    make_article("Hydrogen valley", lead="A new network.", publish_at=timezone.now() - timedelta(days=300))
    assert titles(client, "hydrogen") == ["Hydrogen valley", "Partners met", "Annual report"]


def test_a_title_hit_outranks_a_body_that_repeats_the_word(client):
    make_article("Newsletter", lead="", body="<p>" + "Cluster news. " * 40 + "</p>")
    make_article("Cluster award", lead="", publish_at=timezone.now() - timedelta(days=3000))
    assert titles(client, "cluster") == ["Cluster award", "Newsletter"]


def test_articles_events_and_regions_are_ranked_together_each_with_its_kind(client):
    make_article("Maritime news", lead="Ships.")
    make_event("Maritime day", lead="Harbour tours.")
    region = make_region("oslo", country="Norway", lead="A capital by the fjord.")
    make_cluster(region, "oslo-maritime", name="Maritime and shipping")
    found = results(client, "maritime")
    assert sorted(found) == [("Event", "Maritime day"), ("News", "Maritime news"), ("Region", "Oslo")]
    assert found[-1] == ("Region", "Oslo"), "a cluster name (C) ranks below titles (A)"


def test_english_stemming_finds_other_forms_of_a_word(client):
    make_article("Regional clustering", lead="")
    make_article("Cluster policy", lead="")
    make_article("Innovation", lead="", body="<p>The clusters of the region.</p>")
    assert sorted(titles(client, "clusters")) == ["Cluster policy", "Innovation", "Regional clustering"]


def test_quoted_phrase_finds_the_words_together_only(client):
    make_article("Life sciences in Oslo", lead="")
    make_article("Sciences of life", lead="")
    assert titles(client, '"life sciences"') == ["Life sciences in Oslo"]
    assert sorted(titles(client, "life sciences")) == ["Life sciences in Oslo", "Sciences of life"]


def test_a_minus_excludes_a_word_and_or_finds_either(client):
    make_article("Brussels seminar", lead="")
    make_article("Brussels open days", lead="")
    make_article("Riga workshop", lead="")
    assert titles(client, "brussels -seminar") == ["Brussels open days"]
    assert sorted(titles(client, "seminar or workshop")) == ["Brussels seminar", "Riga workshop"]
    assert titles(client, "seminar workshop") == [], "without or, every word must match"


def test_drafts_and_scheduled_items_are_never_found(client):
    make_article("Published photonics", lead="")
    make_draft_article("Draft photonics", lead="")
    make_scheduled_article("Scheduled photonics", lead="")
    make_event("Published photonics fair")
    make_event("Draft photonics fair", status="draft")
    make_event("Scheduled photonics fair", publish_at=timezone.now() + timedelta(days=2))
    assert sorted(titles(client, "photonics")) == ["Published photonics", "Published photonics fair"]
    page = client.get("/search/", {"q": "photonics"}).content.decode()
    assert "Draft" not in page and "Scheduled" not in page
    assert "2 results" in text_of(page)


def test_unpublishing_takes_an_article_out_of_the_results(client):
    article = make_article("Biotech week", lead="")
    assert titles(client, "biotech") == ["Biotech week"]
    article.status = Article.Status.DRAFT
    article.save()
    assert titles(client, "biotech") == []


def test_each_result_shows_its_date(client):
    make_article("Battery news", lead="", publish_at=timezone.make_aware(timezone.datetime(2024, 3, 5, 12)))
    make_event("Battery fair", all_day=True, starts=timezone.make_aware(timezone.datetime(2031, 6, 2, 9)),
               ends=timezone.make_aware(timezone.datetime(2031, 6, 3, 17)), city="Warsaw")
    page = main_of(client.get("/search/", {"q": "battery"}).content.decode())
    assert '<time datetime="2024-03-05T12:00:00+01:00">5 March 2024</time>' in page
    assert '<time datetime="2031-06-02">2 June 2031</time>' in page and "Warsaw" in page


def test_excerpt_highlights_the_matches_in_the_text_without_its_markup(client):
    make_article("Quarterly", lead="News from the network.",
                 body="<p>The <strong>robotics</strong> centre &amp; its partners opened.</p>")
    page = main_of(client.get("/search/", {"q": "robotics"}).content.decode())
    excerpt = re.search(r'<p class="excerpt">(.*?)</p>', page, re.S).group(1)
    assert "<mark>robotics</mark>" in excerpt
    assert "<strong>" not in excerpt and "centre &amp; its partners" in excerpt
    assert excerpt.startswith("News from the network.")


def test_excerpt_marks_stemmed_forms(client):
    make_article("Update", lead="Two new clusters were founded.")
    page = client.get("/search/", {"q": "cluster"}).content.decode()
    assert "<mark>clusters</mark>" in page


def test_matches_are_ranked_and_marked_by_their_words_joined_by_or(client):
    # With a phrase or "and", ts_rank scores every pair of positions of every two words (the
    # square of how often they occur: seconds a page on news-length articles) and ts_headline
    # tries every stretch of text that holds a phrase, keeping its memory (a 1 MB article
    # exhausted the database server's memory). The match itself still needs the phrase.
    make_article("Pilot project report", lead="", body="<p>The pilot project met its partners.</p>")
    make_article("Project pilots", lead="", body="<p>A project about a pilot.</p>")
    with CaptureQueriesContext(connection) as queries:
        page = main_of(client.get("/search/", {"q": '"pilot project" -budget partners'}).content.decode())
    ranked_and_marked = [
        call for sql in (query["sql"] for query in queries) for call in re.findall(r"ts_(?:rank|headline)\(.*", sql)
    ]

    assert titles(client, '"pilot project" -budget partners') == ["Pilot project report"]
    excerpt = re.search(r'<p class="excerpt">(.*?)</p>', page, re.S).group(1)
    assert "<mark>pilot</mark> <mark>project</mark>" in excerpt and "<mark>partners</mark>" in excerpt
    assert len(ranked_and_marked) == 2
    # Each given the query's indexable part with its phrases and "and"s made "or"s.
    assert all("regexp_replace(querytree(websearch_to_tsquery(" in call for call in ranked_and_marked)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT regexp_replace(querytree(websearch_to_tsquery('english', %s)), '<[0-9]*-?>|&', '|', 'g')::tsquery",
            ['"pilot project" -budget partners'],
        )
        assert cursor.fetchone()[0] == "'pilot' | 'project' | 'partner'"


def test_results_are_paged_ten_at_a_time_with_links_that_keep_the_query(client):
    now = timezone.now()
    for n in range(23):
        make_article(f"Wind report {n:02d}", lead="", publish_at=now - timedelta(days=n + 1))
    first = client.get("/search/", {"q": "wind"}).content.decode()
    assert len(RESULT.findall(first)) == 10
    assert "23 results" in text_of(first)
    assert 'href="?q=wind&amp;page=2"' in first
    assert titles(client, "wind")[0] == "Wind report 00", "equal ranks: the newest first"
    third = titles(client, "wind", page=3)
    assert third == ["Wind report 20", "Wind report 21", "Wind report 22"]
    all_pages = titles(client, "wind") + titles(client, "wind", page=2) + third
    assert len(set(all_pages)) == 23
    second_page = client.get("/search/", {"q": "wind", "page": 2}).content.decode()
    assert '<ol class="results" start="11">' in second_page
    assert 'href="?q=wind"' in second_page, "the link back to page 1 has no page number"


@pytest.mark.parametrize("page", ["4", "0", "-1", "two", "9" * 30])
def test_a_page_that_does_not_exist_is_a_404_as_on_the_news_list(client, page):
    for n in range(23):
        make_article(f"Solar report {n}", lead="")
    assert client.get("/search/", {"q": "solar", "page": page}).status_code == 404
    assert client.get("/news/", {"page": page}).status_code == 404


def test_an_empty_query_shows_the_form_and_no_results(client):
    make_article("Anything", lead="")
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "\x00"}):
        response = client.get("/search/", params)
        assert response.status_code == 200
        html = response.content.decode()
        assert '<form class="search-form" role="search"' in html
        assert '<label for="search-q">' in html and 'id="search-q"' in html
        assert "result" not in text_of(main_of(html)).lower()
        assert 'name="robots"' not in html


def test_a_query_with_nothing_found_says_so(client):
    make_article("Anything", lead="")
    text = text_of(client.get("/search/", {"q": "zeppelin"}).content.decode())
    assert "0 results for “zeppelin”" in text and "Nothing matched" in text


ONLY_LEAVING_OUT = ["-zeppelin", "-cluster or -green", "cluster or -zeppelin", '-"green hydrogen"']


@pytest.mark.parametrize("query", ONLY_LEAVING_OUT)
def test_a_query_that_only_leaves_words_out_finds_nothing_and_says_to_add_a_word(client, query):
    make_article("Cluster news", lead="Partners met.")
    make_article("Harbour news", lead="Ships.")
    make_region("oslo", country="Norway", lead="Clusters.")
    text = text_of(client.get("/search/", {"q": query}).content.decode())
    assert "0 results for" in text
    assert "Add a word to look for" in text and "Nothing matched" not in text


@pytest.mark.parametrize("query", ONLY_LEAVING_OUT)
def test_a_query_that_only_leaves_words_out_reads_no_rows(query):
    make_article("Harbour news", lead="Ships.")
    plan = search(query)._hits().explain()
    assert "One-Time Filter: false" in plan and "Scan" not in plan, plan


@pytest.mark.parametrize("query", ["--oslo", "-- oslo", "- -oslo", "cluster or --oslo", "(--oslo)", "-(-oslo)", "!--oslo"])
def test_two_minus_signs_before_a_word_cancel_out(client, query):
    make_article("Oslo news", lead="Partners met.")
    make_article("Harbour news", lead="Ships.")
    assert titles(client, query) == ["Oslo news"]


@pytest.mark.parametrize("query", ["---oslo", "----", "- - -"])
def test_an_odd_number_of_minus_signs_leaves_a_word_out_and_only_minus_signs_find_nothing(client, query):
    make_article("Oslo news", lead="Partners met.")
    make_article("Harbour news", lead="Ships.")
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert "0 results for" in text_of(response.content.decode())


def test_a_left_out_word_keeps_the_ranking_of_the_words_looked_for(client):
    make_article("Cluster news", lead="Partners met.", publish_at=timezone.now() - timedelta(days=30))
    make_article("Harbour news", lead="Ships.", body="<p>A cluster of ships.</p>", publish_at=timezone.now() - timedelta(days=1))
    assert titles(client, "cluster") == ["Cluster news", "Harbour news"]
    assert titles(client, "cluster -zeppelin") == ["Cluster news", "Harbour news"]


def test_a_query_is_cut_to_its_first_twelve_words(client):
    make_article("Harbour news", lead="Ships.")
    assert titles(client, " or ".join(["zeppelin"] * 5 + ["harbour"])) == ["Harbour news"]  # 11 words
    text = text_of(client.get("/search/", {"q": " or ".join(["zeppelin"] * 6 + ["harbour"])}).content.decode())
    assert "0 results for “zeppelin or zeppelin or zeppelin or zeppelin or zeppelin or zeppelin or”" in text


@pytest.mark.parametrize(
    "query",
    [
        '"'.join(["co"] * 67)[:200],
        ",".join(["part"] * 40)[:200],
        " ".join(["part,part,part"] * 12),
        # Word characters to Python, not to PostgreSQL: subscripts, superscripts, fractions, circled numbers.
        "co₂" * 66,
        "co²" * 66,
        "co½" * 66,
        "sea① " * 10 + "sea①" * 30,
    ],
)
def test_a_query_is_cut_to_twelve_words_whatever_separates_them(query):
    found = search(query)
    with connection.cursor() as cursor:
        cursor.execute("SELECT websearch_to_tsquery('english', %s)::text", [found.text])
        assert cursor.fetchone()[0].count("'") // 2 == 12
    assert len(SimpleSearch(found.text).required) <= 12


@pytest.mark.parametrize(
    "query",
    [
        "cluster --or riga",
        "cluster - - or riga",
        "cluster --OR riga",
        "cluster --or, riga",
        'cluster --or"riga"',
        "cluster - - or(riga)",
        "cluster --(or riga)",
        "cluster --!or riga",
        "cluster -- |or riga",
    ],
)
def test_minus_signs_before_or_do_not_make_it_the_operator(client, query):
    make_article("Cluster news", lead="Partners met.")
    make_article("Riga news", lead="Ships.")
    make_article("Cluster day in Riga", lead="Talks.")
    assert titles(client, query) == titles(client, "cluster riga") == ["Cluster day in Riga"]


def test_a_query_with_a_word_to_look_for_and_words_left_out_is_not_told_to_add_one(client):
    make_article("Cluster news", lead="")
    text = text_of(client.get("/search/", {"q": "harbour -cluster"}).content.decode())
    assert "Nothing matched" in text and "Add a word to look for" not in text
    assert titles(client, "cluster -harbour") == ["Cluster news"]


def test_two_minus_signs_before_a_word_that_begins_with_or_keep_the_word(client):
    make_article("Oslo ca", lead="Ships.")
    assert titles(client, "--or.ca oslo") == []  # 'or.ca' & 'oslo', as PostgreSQL reads it


def test_minus_signs_and_or_inside_quotes_keep_the_phrase(client):
    make_article("Ferries: Oslo or Riga", lead="Ships.")
    assert titles(client, '"oslo -- or riga"') == ["Ferries: Oslo or Riga"]


DEVANAGARI = "हाइड्रोजन क्लस्टर रीगा ओस्लो नवाचार"


def test_a_query_in_a_script_with_combining_marks_is_not_cut_inside_a_word(client):
    make_article(DEVANAGARI, slug="devanagari", lead="")
    assert titles(client, DEVANAGARI) == [DEVANAGARI]


def test_the_characters_counted_inside_words_are_those_of_the_databases_parser():
    categories = {"Mn", "Mc", "Me", "Nl", "No", "So"}
    candidates = [code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in categories]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code FROM unnest(%s::int[]) AS code WHERE (SELECT count(*) FROM ts_parse('default', "
            "'a' || chr(code) || 'a') WHERE tokid <> 12) = 1",
            [candidates],
        )
        inside_words = {code for (code,) in cursor.fetchall()}
    counted = {code for code in candidates if _in_a_word(chr(code))}
    assert counted <= inside_words, "a separator counted inside a word: the 12-word cut would come late"
    not_symbols = {code for code in candidates if unicodedata.category(chr(code)) != "So"}
    assert counted & not_symbols == inside_words & not_symbols


def _passes_over_the_matches(query, page):
    with CaptureQueriesContext(connection) as queries:
        response = _render_search(query, page)
    return response, [q["sql"] for q in queries if "@@" in q["sql"] and "ts_headline" not in q["sql"]]


@pytest.mark.parametrize("matches, on_the_last_page", [(23, 3), (20, 10)])
def test_the_last_page_is_read_with_the_number_of_matches_in_one_pass(matches, on_the_last_page):
    when = timezone.now() - timedelta(days=1)
    for n in range(matches):  # half of them published at the same moment: ordered by id then
        make_article(f"Energy news {n}", lead="Energy storage.", publish_at=when - timedelta(minutes=n % 2 * n))
    third, passes = _passes_over_the_matches("energy", "3" if matches > 20 else "2")
    last, passes_for_last = _passes_over_the_matches("energy", "last")
    assert len(passes) == len(passes_for_last) == 1, passes_for_last
    assert last.context_data["page_obj"].number == third.context_data["page_obj"].number
    assert [r.title for r in last.context_data["results"]] == [r.title for r in third.context_data["results"]]
    assert len(last.context_data["results"]) == on_the_last_page


def test_the_last_page_of_nothing_found_is_the_empty_first_page():
    response, passes = _passes_over_the_matches("zeppelin", "last")
    assert response.status_code == 200 and len(passes) == 1
    assert response.context_data["page_obj"].number == 1 and response.context_data["results"] == []


def test_a_page_past_the_last_is_a_404_without_counting_the_matches_again(django_assert_max_num_queries):
    make_article("Energy news", lead="Energy storage.")
    for page in ("2", "9999", str(10**7)):
        with django_assert_max_num_queries(1), pytest.raises(Http404):
            _render_search("energy", page)


def test_results_page_has_ordered_headings_and_is_not_indexed(client):
    make_article("Fjord news", lead="")
    html = client.get("/search/", {"q": "fjord"}).content.decode()
    assert_headings_in_order(html)
    assert '<meta name="robots" content="noindex, follow">' in html


def _render_search(query, page=None):
    params = {"q": query} if page is None else {"q": query, "page": page}
    request = RequestFactory().get("/search/", params)
    request.user = AnonymousUser()
    response = SearchView.as_view()(request)
    response.render()
    return response


def _make_content(n):
    region = make_region(f"region-{n}", country="Testland", lead="Energy and shipping")
    for i in range(n):
        make_article(f"Energy article {n}-{i}", lead="Energy storage", body="<p>Energy.</p>")
        make_event(f"Energy event {n}-{i}", lead="Energy fair", region=region)


@pytest.mark.parametrize("articles", [1, 30])
def test_a_results_page_takes_the_same_two_queries_however_many_matches(django_assert_num_queries, articles):
    _make_content(articles)
    # One query for the ranked page and the number of matches, one for the page's objects.
    with django_assert_num_queries(2):
        response = _render_search("energy")
    assert response.status_code == 200
    assert min(10, 2 * articles + 1) == len(RESULT.findall(response.content.decode()))
    assert f"{2 * articles + 1} result" in response.content.decode()
    with django_assert_num_queries(2):
        _render_search("energy", page="last")


@pytest.mark.parametrize(
    "query, kinds",
    [
        ("tidal -fair -fjord", {"News"}),
        ("tidal fjord", {"Region"}),
        ("tidal -fjord", {"News", "Event"}),
        ("tidal -storage", {"Event", "Region"}),
        ("tidal", {"News", "Event", "Region"}),
    ],
)
def test_a_results_page_takes_as_many_queries_whichever_kinds_it_shows(django_assert_num_queries, query, kinds):
    # Review r30c: a query per kind on the page made its count depend on what it showed.
    region = make_region("bergen", name="Bergen", country="Norway", lead="Tidal power by the fjord.")
    make_article("Tidal storage", lead="Tidal storage in Tallinn.")
    event = make_event("Tidal fair", lead="A tidal fair.", region=region, city="Tallinn",
                       starts=timezone.now() + timedelta(days=3))
    with django_assert_num_queries(2):
        response = _render_search(query)
    html = response.content.decode()
    shown = {re.search(r'<span class="kind">(.*?)</span>', item).group(1) for item in RESULT.findall(html)}
    assert shown == kinds
    if "Event" in kinds:
        # What the page shows of each kind, read in that one query.
        assert "Tallinn" in html and f'href="{event.get_absolute_url()}"' in html
    if "Region" in kinds:
        assert "Norway · updated" in html and 'href="/regions/bergen/"' in html


@pytest.mark.parametrize(
    "query, kinds",
    [
        ("tidal -fair -fjord", {"article"}),
        ("tidal -fjord", {"article", "event"}),
        ("tidal", {"article", "event", "region"}),
        ("zeppelin", set()),
    ],
)
def test_a_results_page_builds_its_objects_query_only_for_the_kinds_it_shows(monkeypatch, query, kinds):
    # Each kind's part of the objects' query took ~1 ms to build and compile, and one for a
    # kind with nothing on the page as long, for nothing (Django leaves it out of the UNION).
    region = make_region("bergen", name="Bergen", country="Norway", lead="Tidal power by the fjord.")
    make_article("Tidal storage", lead="Tidal storage in Tallinn.")
    make_event("Tidal fair", lead="A tidal fair.", region=region, starts=timezone.now() + timedelta(days=3))
    built = []
    headline = search_module.RankedSearch._headline
    monkeypatch.setattr(search_module.RankedSearch, "_headline", lambda self, model: built.append(model) or headline(self, model))
    results, _ = search(query).page(0, 10)
    assert {result.kind for result in results} == kinds
    assert sorted(model._meta.model_name for model in built) == sorted(
        search_module.SHOWN[kind][0]._meta.model_name for kind in kinds
    )


def test_the_matches_query_is_compiled_once_and_run_with_each_search_s_words_and_time(monkeypatch):
    # Building and compiling its three parts took ~1.7 ms a results page (baltmet.prepared).
    make_article("Tidal storage", lead="Tidal storage.")
    make_article("Wind farm", lead="Offshore wind.")
    scheduled = make_scheduled_article("Tidal future", lead="Tidal power, later.")
    monkeypatch.setattr(search_module._hits_query, "_compiled", threading.local())
    built = []
    hits = search_module.RankedSearch._hits
    monkeypatch.setattr(search_module.RankedSearch, "_hits", lambda self, now=None: built.append(now) or hits(self, now))
    assert [result.object.title for result in search("tidal").page(0, 10)[0]] == ["Tidal storage"]
    assert [result.object.title for result in search("wind").page(0, 10)[0]] == ["Wind farm"]
    Article.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert {result.object.title for result in search("tidal").page(0, 10)[0]} == {"Tidal storage", "Tidal future"}
    # Twice, with each of the two stand-in times, when first compiled; never with a search's own.
    assert built == list(search_module._hits_query.stand_ins["now"])


@pytest.mark.parametrize("order", [("region", "article", "event"), ("article", "region", "event")])
def test_the_results_of_every_kind_are_read_whatever_the_order_of_the_kinds_in_the_query(monkeypatch, order):
    # Review r33: NULLs without a type in the parts before an event's made its end a text
    # column, which PostgreSQL cannot match with a time (a server error on the page).
    monkeypatch.setattr(search_module, "SHOWN", {kind: search_module.SHOWN[kind] for kind in order})
    region = make_region("bergen", name="Bergen", country="Norway", lead="Tidal power.")
    make_article("Tidal storage", lead="Tidal storage.")
    starts = timezone.now() + timedelta(days=3)
    make_event("Tidal fair", lead="A tidal fair.", region=region, all_day=False, starts=starts,
               ends=starts + timedelta(hours=2))
    results, _ = search("tidal").page(0, 10)
    assert {result.kind for result in results} == {"article", "event", "region"}
    [event] = [result.object for result in results if result.kind == "event"]
    assert event.ends - event.starts == timedelta(hours=2) and event.all_day is False


def _read_as(expression):
    """The column's type on this database, and the functions the ORM runs on its values."""
    converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
    return expression.output_field.cast_db_type(connection).split("(")[0], [getattr(each, "__func__", each) for each in converters]


def test_every_kind_s_shown_fields_are_read_as_the_union_s_columns():
    # Review r33: Django converts a UNION's rows with the converters of its first part, so each
    # column is to have one type in every part, that of SHOWN_COLUMNS (its typed NULLs).
    for kind, (model, fields) in search_module.SHOWN.items():
        for name, column in zip(fields, search_module.SHOWN_COLUMNS):
            if name:
                field = model._meta.get_field(name)
                assert _read_as(field.get_col(model._meta.db_table)) == _read_as(Cast(Value(None), output_field=column)), (kind, name)


def test_search_function_returns_results_with_kind_title_url_and_excerpt():
    article = make_article("Smart grid", lead="A smart grid for Vilnius.")
    [result] = search("grid")[0:10]
    assert (result.kind, result.kind_label, result.title, result.url) == (
        "article", "News", "Smart grid", article.get_absolute_url()
    )
    assert result.date == article.publish_at
    assert "<mark>grid</mark>" in result.excerpt
    assert search("grid").count() == 1
    page, total = search("grid").page(0, 10)
    assert total == 1 and [r.object for r in page] == [article]
    assert search("grid").page(10, 10) == ([], None), "past the end the number is unknown"
    assert search("") == []
