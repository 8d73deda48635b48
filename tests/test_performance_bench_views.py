"""The views bench/wrk.py measures beside the site's pages (bench/urls.py) are what their names
say: the trivial view runs no query, the region profile's queries alone run its three and
render nothing, and the minimal page is the site's layout around one query's rows."""

import pytest
from django.test import Client

from tests.news_factories import make_topic
from tests.page_text import main_of, text_of
from tests.regions_factories import make_region

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]


def test_trivial_view_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/bench/floor/")
    assert response.content == b"ok"


def test_region_queries_alone_run_the_profiles_three_and_render_nothing(django_assert_num_queries):
    make_region(slug="oslo", name="Oslo")
    with django_assert_num_queries(3):
        response = Client().get("/bench/region-queries/oslo/")
    assert response.content == b"ok"


def test_minimal_page_is_the_layout_around_one_querys_rows(django_assert_num_queries):
    make_topic("Smart cities")
    make_topic("Logistics")
    site_page = Client().get("/news/").content.decode()
    with django_assert_num_queries(1):
        response = Client().get("/bench/minimal-page/")

    page = response.content.decode()
    assert response.status_code == 200
    assert text_of(main_of(page)) == "Topics Logistics Smart cities"
    # Everything outside <main> (head, navigation, footer) comes from base.html, as on the site.
    assert page.split("<main", 1)[0].split("<title>")[0] == site_page.split("<main", 1)[0].split("<title>")[0]
    assert page.split("</main>", 1)[1] == site_page.split("</main>", 1)[1]
