"""The admin's delete confirmation counts the many-to-many rows a deletion takes with it (an
article's links to topics and regions) instead of loading and listing each one
(baltmet.admin_delete_summary); everything else on the page is as Django makes it.
"""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import get_deleted_objects as djangos_get_deleted_objects
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from baltmet.admin_delete_summary import get_deleted_objects
from news.models import Article, Topic
from regions.models import Metric, Region
from tests.news_factories import make_article, make_topic
from tests.regions_factories import add_figure, make_cluster, make_metric, make_region

pytestmark = pytest.mark.django_db


def _summary(html):
    return dict(re.findall(r"<li>([^<:]+): (\d+)</li>", html))


def test_deleting_a_topic_counts_its_article_links_without_loading_them(staff_client):
    topic = make_topic("Hydrogen")
    articles = [make_article(f"Hydrogen {n}", topics=[topic]) for n in range(5)]

    with CaptureQueriesContext(connection) as queries:
        html = staff_client.get(f"/admin/news/topic/{topic.pk}/delete/").content.decode()

    assert _summary(html) == {"Topics": "1", "Article-topic relationships": "5"}
    assert "Article_topics object" not in html and "Article-topic relationship:" not in html
    loaded = [q["sql"] for q in queries if q["sql"].startswith('SELECT "news_article_topics"."id"')]
    assert not loaded, "the links were loaded"
    assert "Are you sure" in html and ">Hydrogen</a>" in html

    staff_client.post(f"/admin/news/topic/{topic.pk}/delete/", {"post": "yes"})
    assert not Topic.objects.exists() and not Article.topics.through.objects.exists()
    assert Article.objects.count() == len(articles)


def test_delete_selected_articles_lists_them_and_counts_their_links(staff_client):
    topic, region = make_topic("Wind"), make_region("tallinn", name="Tallinn")
    for n in range(2):
        make_article(f"Offshore {n}", topics=[topic], regions=[region])
    html = staff_client.post(
        "/admin/news/article/", {"action": "delete_selected", "select_across": 1, "index": 0,
                                 "_selected_action": [Article.objects.first().pk]},
    ).content.decode()
    assert _summary(html) == {"Articles": "2", "Article-topic relationships": "2", "Article-region relationships": "2"}
    assert len(re.findall(r'Article: <a href="/admin/news/article/\d+/change/">Offshore \d</a>', html)) == 2
    assert "relationship:" not in html, "a link was listed"


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_page_is_djangos_but_for_the_links(staff_user):
    region = make_region("oslo", name="Oslo")
    add_figure(region, make_metric("population"), 1_000_000)
    make_cluster(region, "oslo-cancer-cluster")
    make_article("Oslo news", regions=[region])
    regions = Region.objects.filter(pk=region.pk)

    ours = get_deleted_objects(regions, _request(staff_user), admin.site)
    django = djangos_get_deleted_objects(regions, _request(staff_user), admin.site)

    def without_links(nested):
        return [
            without_links(item) if isinstance(item, list) else item
            for item in nested
            if isinstance(item, list) or "relationship:" not in str(item)
        ]

    assert ours[0] == [entry for entry in without_links(django[0]) if entry != []]
    assert ours[1] == django[1]  # the counts: the links counted, as Django counts them by loading them
    assert ours[2:] == django[2:]


def test_protected_rows_still_stop_a_deletion(staff_user):
    metric = make_metric("population")
    add_figure(make_region("riga"), metric, 600_000)
    _, _, _, protected = get_deleted_objects(Metric.objects.all(), _request(staff_user), admin.site)
    assert len(protected) == 1 and protected[0].startswith("Figure:")
