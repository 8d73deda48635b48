"""JSON and YAML fixtures both load (PyYAML is in requirements.txt)."""

from django.core.serializers import get_serializer_formats

from news.models import Article
from tests.fixture_tools import load


def test_json_jsonl_and_yaml_are_available_formats():
    assert {"json", "jsonl", "yaml"} <= set(get_serializer_formats())


def test_yaml_fixture_loads_with_natural_keys(db):
    load("base_content.yaml")
    article = Article.objects.get(slug="written-in-yaml")
    assert article.is_published
    assert list(article.topics.values_list("slug", flat=True)) == ["yaml-topic"]


def test_loading_the_same_yaml_fixture_twice_does_not_duplicate(db):
    load("base_content.yaml")
    load("base_content.yaml")
    assert Article.objects.filter(slug="written-in-yaml").count() == 1
