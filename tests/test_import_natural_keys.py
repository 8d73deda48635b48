"""Fixtures name objects by natural key, so they load into any database and reload in place."""

import json

import pytest
from django.apps import apps

from news.models import Article, Event, Topic
from regions.models import Figure, Region
from tests.fixture_tools import IMPORT_FIXTURES, dump, load

CONTENT_MODELS = [model for app in ("news", "regions") for model in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", CONTENT_MODELS, ids=lambda model: model._meta.label)
def test_every_content_model_has_a_natural_key_and_its_lookup(model):
    assert callable(getattr(model, "natural_key", None))
    assert callable(getattr(model._default_manager, "get_by_natural_key", None))


def test_every_model_a_fixture_refers_to_has_a_natural_key():
    for model in CONTENT_MODELS:
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is not None:
                target = field.related_model
                assert hasattr(target, "natural_key"), f"{model._meta.label}.{field.name} -> {target._meta.label}"
                assert hasattr(target._default_manager, "get_by_natural_key")


def test_dump_with_natural_keys_has_no_database_ids(db):
    load("base_content.json")
    objects = json.loads(dump())
    assert len(objects) == 7
    for entry in objects:
        assert "pk" not in entry
    article = next(entry for entry in objects if entry["model"] == "news.article")
    assert article["fields"]["event"] == ["test-fair"]
    assert article["fields"]["regions"] == [["testholm"]]
    figure = next(entry for entry in objects if entry["model"] == "regions.figure")
    assert (figure["fields"]["region"], figure["fields"]["metric"]) == (["testholm"], ["test-population"])


def test_fixture_loads_into_a_database_that_has_other_content(db):
    # Rows made first take the low ids a fixture with ids would have collided with.
    other_region = Region.objects.create(name="Elsewhere", slug="elsewhere", country="Otherland")
    other_topic = Topic.objects.create(name="Other", slug="other")
    load("base_content.json")
    article = Article.objects.get(slug="test-news")
    assert list(article.regions.values_list("slug", flat=True)) == ["testholm"]
    assert list(article.topics.values_list("slug", flat=True)) == ["test-topic"]
    assert Region.objects.filter(pk=other_region.pk, slug="elsewhere").exists()
    assert Topic.objects.filter(pk=other_topic.pk, slug="other").exists()


def test_reloading_a_fixture_updates_rows_in_place(db, tmp_path):
    load("base_content.json")
    counts = {model: model.objects.count() for model in (Article, Event, Topic, Region, Figure)}
    article_pk = Article.objects.get(slug="test-news").pk

    edited = json.loads((IMPORT_FIXTURES / "base_content.json").read_text())
    for entry in edited:
        if entry["model"] == "news.article":
            entry["fields"]["title"] = "Test news, corrected"
        if entry["model"] == "regions.figure":
            entry["fields"]["value"] = "125000"
    edited_path = tmp_path / "edited.json"
    edited_path.write_text(json.dumps(edited))
    load(str(edited_path))

    assert {model: model.objects.count() for model in counts} == counts
    article = Article.objects.get(slug="test-news")
    assert (article.pk, article.title) == (article_pk, "Test news, corrected")
    assert Figure.objects.get(region__slug="testholm").value == 125000
