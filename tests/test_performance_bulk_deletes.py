"""Deleting many rows: Django's collector deletes a model's rows with one statement unless a
receiver of post_delete wants each row. The page cache's receiver (baltmet.content_version)
is connected for the content models alone, so an article's, a topic's or a region's
many-to-many rows, expired sessions and admin log entries are deleted without being loaded,
and the deletion still shows on the next request.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baltmet.page_cache import HEADER
from news.models import Article
from tests.news_factories import make_article, make_topic
from tests.page_cache_settings import use_local_memory_page_cache
from tests.regions_factories import make_region

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    use_local_memory_page_cache(settings)


def _statements(queries, verb, table):
    return [q["sql"] for q in queries if q["sql"].startswith(verb) and f'"{table}"' in q["sql"].split(" WHERE ")[0]]


def _verbs(queries):
    """The statements' first words, the transaction's BEGIN and COMMIT aside."""
    return [verb for verb in (q["sql"].split()[0] for q in queries) if verb not in ("BEGIN", "COMMIT")]


def _cached(client, url):
    client.get(url)
    response = client.get(url)
    assert response[HEADER] == "hit"
    return response


def test_an_articles_topic_and_region_rows_are_deleted_without_being_loaded(client):
    topic, region = make_topic("Hydrogen"), make_region("riga", name="Riga")
    article = make_article("Gone with its links", topics=[topic], regions=[region])
    assert "Gone with its links" in _cached(client, "/news/").content.decode()

    with CaptureQueriesContext(connection) as queries:
        article.delete()

    for table in ("news_article_topics", "news_article_regions"):
        assert not _statements(queries, "SELECT", table), f"{table}'s rows were loaded"
        assert _statements(queries, "DELETE", table)
    assert not Article.topics.through.objects.exists() and not Article.regions.through.objects.exists()
    assert "Gone with its links" not in client.get("/news/").content.decode()


@pytest.mark.parametrize(
    "make_parent, relation, table",
    [
        (lambda: make_topic("Offshore wind"), "topics", "news_article_topics"),
        # A parent in another app: the rows live in news, reached through the reverse relation.
        (lambda: make_region("tartu", name="Offshore wind"), "regions", "news_article_regions"),
    ],
    ids=["topic", "region"],
)
def test_a_parents_article_rows_are_deleted_without_being_loaded_and_its_articles_drop_it(
    client, make_parent, relation, table
):
    parent = make_parent()
    article = make_article("Turbines in the bay", **{relation: [parent]})
    assert "Offshore wind" in _cached(client, article.get_absolute_url()).content.decode()

    with CaptureQueriesContext(connection) as queries:
        parent.delete()

    assert not _statements(queries, "SELECT", table)
    assert _statements(queries, "DELETE", table)
    assert not getattr(Article, relation).through.objects.exists()
    assert "Offshore wind" not in client.get(article.get_absolute_url()).content.decode()


def test_expired_sessions_are_cleared_with_one_statement():
    for _ in range(3):
        session = SessionStore()
        session.set_expiry(-60)
        session.create()
    assert Session.objects.filter(expire_date__lt=timezone.now()).count() == 3

    with CaptureQueriesContext(connection) as queries:
        call_command("clearsessions")

    assert _verbs(queries) == ["DELETE"]
    assert not Session.objects.exists()


def test_admin_log_entries_are_deleted_with_one_statement(admin_user):
    article_type = ContentType.objects.get_for_model(Article)
    LogEntry.objects.bulk_create(
        LogEntry(user=admin_user, content_type=article_type, object_id=str(n), object_repr=f"Old {n}",
                 action_flag=ADDITION, action_time=timezone.now() - timedelta(days=800))
        for n in range(5)
    )

    with CaptureQueriesContext(connection) as queries:
        LogEntry.objects.filter(action_time__lt=timezone.now() - timedelta(days=365)).delete()

    assert _verbs(queries) == ["DELETE"]
    assert not LogEntry.objects.exists()
