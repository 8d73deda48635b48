"""A proxy of a content model, or a model inheriting from one, holds content wherever it is
defined (another app, a plugin's): saving or deleting through it shows on the next request, as
through the model itself. Django sends the signals with the proxy or the child as their sender,
and its collector deletes the rows of a sender that has no receiver for post_delete without
sending the signal at all."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, models
from django.db.models.signals import post_delete
from django.test.utils import isolate_apps
from django.utils import timezone

from baltmet import content_version
from baltmet.page_cache import HEADER
from news.models import Article
from tests.news_factories import make_article
from tests.page_cache_settings import use_local_memory_page_cache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    use_local_memory_page_cache(settings)


@contextmanager
def _receivers_connected(monkeypatch, registry, model):
    """The page cache's receivers connected for the models of `registry` (`model`), as
    BaltmetConfig.ready() connects them once every app is loaded; disconnected afterwards."""
    monkeypatch.setattr(content_version, "apps", registry)
    content_version.connect_signals()
    try:
        yield
    finally:
        post_delete.disconnect(sender=model, dispatch_uid=f"page_cache_post_delete:{model._meta.label_lower}")


@pytest.fixture
def notice_model(monkeypatch):
    """A proxy of Article in the baltmet app, which is not a content app."""
    with isolate_apps("baltmet") as registry:

        class Notice(Article):
            class Meta:
                proxy = True
                app_label = "baltmet"

        with _receivers_connected(monkeypatch, registry, Notice):
            yield Notice


def _cached(client, url):
    client.get(url)
    response = client.get(url)
    assert response[HEADER] == "hit"
    return response


def test_an_article_written_through_a_proxy_in_another_app_shows_at_once(client, notice_model):
    make_article("Already there")
    _cached(client, "/news/")

    notice_model.objects.create(
        title="Written through the proxy", slug="written-through-the-proxy", lead="A lead.",
        status=Article.Status.PUBLISHED, publish_at=timezone.now() - timedelta(minutes=1),
    )

    assert "Written through the proxy" in client.get("/news/").content.decode()


def test_an_article_deleted_through_a_proxy_in_another_app_is_gone_at_once(client, notice_model):
    article = make_article("Deleted through the proxy")
    assert "Deleted through the proxy" in _cached(client, "/news/").content.decode()

    notice_model.objects.filter(pk=article.pk).delete()

    assert not Article.objects.filter(pk=article.pk).exists()
    assert "Deleted through the proxy" not in client.get("/news/").content.decode()


@pytest.fixture
def sponsored_model(monkeypatch):
    """A model of the baltmet app inheriting from Article (multi-table inheritance: its own
    table, linked to the article's row), with partners (another model of that app) in a
    many-to-many field of its own; their tables made for the test."""
    with isolate_apps("baltmet") as registry:

        class Partner(models.Model):
            name = models.CharField(max_length=100)

            class Meta:
                app_label = "baltmet"

        class Sponsored(Article):
            sponsor = models.CharField(max_length=100)
            partners = models.ManyToManyField(Partner, blank=True)

            class Meta:
                app_label = "baltmet"

        with connection.schema_editor() as editor:  # one transaction: both tables, or neither
            editor.create_model(Partner)
            editor.create_model(Sponsored)
        try:
            with _receivers_connected(monkeypatch, registry, Sponsored):
                yield Sponsored
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Sponsored)
                editor.delete_model(Partner)


def test_an_article_written_as_a_model_inheriting_from_it_in_another_app_shows_at_once(client, sponsored_model):
    make_article("Already there")
    _cached(client, "/news/")

    sponsored_model.objects.create(
        title="Written as a sponsored article", slug="written-as-a-sponsored-article", lead="A lead.",
        status=Article.Status.PUBLISHED, publish_at=timezone.now() - timedelta(minutes=1), sponsor="A sponsor",
    )

    assert "Written as a sponsored article" in client.get("/news/").content.decode()


def test_a_many_to_many_field_of_a_model_inheriting_from_an_article_moves_the_version(client, sponsored_model):
    # Its table is the child's (in the baltmet app), not the article's.
    sponsored = sponsored_model.objects.create(
        title="Sponsored", slug="sponsored", lead="A lead.", status=Article.Status.PUBLISHED,
        publish_at=timezone.now() - timedelta(minutes=1), sponsor="A sponsor",
    )
    partner = sponsored_model.partners.field.related_model.objects.create(name="A partner")
    _cached(client, "/news/")

    sponsored.partners.add(partner)

    assert client.get("/news/")[HEADER] == "miss", "a page made before the change was served"
