"""manage.py generate_demo_content: varied demo content, fast, and what bulk inserts skip done once."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from baltmet.models import ContentVersion
from baltmet.sanitize import sanitize_html
from news.models import Article, Event
from regions.models import Figure, Region

pytestmark = pytest.mark.django_db


def _generate(**options):
    options = {"articles": 300, "events": 60, "regions": 5, "topics": 6, "seed": 3, "verbosity": 0, **options}
    call_command("generate_demo_content", **options)


def test_makes_the_numbers_asked_for_with_a_realistic_mix():
    _generate()
    now = timezone.now()
    articles = Article.objects.all()
    assert articles.count() == 300
    assert Region.objects.count() == 5
    assert Event.objects.count() == 60
    published = Article.objects.published().count()
    drafts = articles.filter(status=Article.Status.DRAFT).count()
    scheduled = articles.filter(status=Article.Status.PUBLISHED, publish_at__gt=now).count()
    assert published + drafts + scheduled == 300
    assert published > 200 and drafts > 10 and scheduled > 3
    assert Event.objects.upcoming().exists() and Event.objects.past().exists()
    assert Article.topics.through.objects.values("article").distinct().count() == 300, "every article has a topic"
    assert Article.regions.through.objects.exists()
    assert Figure.objects.filter(region__in=Region.objects.all()).count() >= 5 * 6
    titles = set(articles.values_list("title", flat=True))
    assert len(titles) > 250, "titles vary"
    # created/updated are those of the publication, not the moment of the run.
    oldest = Article.objects.published().order_by("publish_at").first()
    assert oldest.updated == oldest.publish_at < now


def test_rich_text_is_what_the_sanitiser_would_store():
    # Bulk inserts skip the sanitising pre_save receiver, so the text must already be clean.
    _generate(articles=100, events=20)
    for body in [*Article.objects.values_list("body", flat=True), *Event.objects.values_list("body", flat=True)]:
        assert sanitize_html(body) == body


def test_the_same_seed_gives_the_same_content():
    _generate(seed=11)
    first = list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead"))
    _generate(seed=11, clear=True)
    assert list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead")) == first
    _generate(seed=12, clear=True)
    assert list(Article.objects.order_by("slug").values_list("slug", "title", "status", "lead")) != first


def test_refuses_to_add_to_earlier_demo_content_without_clear():
    _generate(articles=10, events=2)
    with pytest.raises(CommandError, match="--clear"):
        _generate(articles=10, events=2)


def test_does_what_the_skipped_signals_would_have_done(django_capture_on_commit_callbacks):
    before = ContentVersion.objects.get(pk=1).version if ContentVersion.objects.exists() else 0
    with django_capture_on_commit_callbacks(execute=True):
        _generate(articles=50, events=10)
    # The search index got its vectors and the page cache a new content version.
    assert not Article.objects.filter(search_vector__isnull=True).exists()
    assert not Event.objects.filter(search_vector__isnull=True).exists()
    assert not Region.objects.filter(search_vector__isnull=True).exists()
    assert ContentVersion.objects.get(pk=1).version != before


def test_the_site_shows_the_demo_content(client):
    _generate(articles=40, events=10)
    latest = Article.objects.published().first()
    assert latest.title in client.get("/").content.decode()
    assert client.get(latest.get_absolute_url()).status_code == 200
    region = Region.objects.first()
    assert client.get(region.get_absolute_url()).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_leaves_every_page_of_the_new_rows_visible_to_index_only_scans():
    """The lists count and page through the articles with index-only scans, which read the
    table for every page the visibility map does not mark all-visible."""
    call_command("generate_demo_content", articles=400, events=40, regions=3, verbosity=0)
    with connection.cursor() as cursor:
        for model in (Article, Event):
            cursor.execute("SELECT relallvisible, relpages FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            visible, pages = cursor.fetchone()
            assert pages > 1 and visible == pages, model
