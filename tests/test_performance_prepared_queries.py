"""baltmet.prepared: a query built and compiled once, run with each call's time, reading the
database afresh every time."""

from datetime import timedelta

import pytest
from django.db.models.functions import JSONObject
from django.utils import timezone

from baltmet.prepared import prepared
from news.models import Article
from tests.news_factories import make_article

pytestmark = pytest.mark.django_db


@prepared(now_uses=1)
def _published_titles(now):
    return Article.objects.filter(publish_at__lte=now).order_by("publish_at").values_list("title")


def test_each_call_runs_with_its_own_time():
    now = timezone.now()
    make_article("Last week", publish_at=now - timedelta(days=7))
    make_article("Yesterday", publish_at=now - timedelta(days=1))
    assert _published_titles.rows(now) == [("Last week",), ("Yesterday",)]
    assert _published_titles.rows(now - timedelta(days=3)) == [("Last week",)]
    assert _published_titles.first(now - timedelta(days=30)) is None


def test_rows_are_read_afresh_on_every_call():
    now = timezone.now()
    assert _published_titles.rows(now) == []
    make_article("Just in", publish_at=now - timedelta(minutes=1))
    assert _published_titles.rows(now) == [("Just in",)]


def test_values_come_converted_as_the_orm_gives_them():
    make_article("Dated")

    @prepared(now_uses=1)
    def as_json(now):
        # The driver gives JSON as text; the ORM's converter decodes it.
        return Article.objects.filter(publish_at__lte=now).values_list(JSONObject(title="title"))

    assert as_json.first(timezone.now()) == ({"title": "Dated"},)


def test_a_query_using_the_time_otherwise_than_declared_is_refused():
    @prepared(now_uses=2)
    def uses_it_once(now):
        return Article.objects.filter(publish_at__lte=now).values_list("pk")

    with pytest.raises(RuntimeError, match="expected 2 uses of now"):
        uses_it_once.rows(timezone.now())
