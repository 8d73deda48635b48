"""A broken fixture fails as a whole, says where and why, and changes nothing."""

import pytest
from django.core.management.base import CommandError

from tests.fixture_tools import IMPORT_FIXTURES, dump, load
from tests.subprocess_env import run_manage, child_database_url

# fixture file -> what the message must name: the object and the field (or the problem).
BROKEN = {
    "broken_missing_required_field.json": ['news.event "no-start"', "'starts'", "cannot be null"],
    "broken_bad_date.json": ['news.event "bad-date"', "'starts'", "2007-13-45"],
    "broken_event_ends_before_start.json": ['news.event "backwards"', "'ends'", "cannot end before it starts"],
    "broken_unknown_region.json": ['news.event "nowhere"', "'region'", "does not exist", "atlantis"],
    "broken_unknown_region_in_article.json": ['news.article "about-atlantis"', "'regions'", "does not exist"],
    "broken_slug_twice.json": ['news.article "same-slug"', "appears twice"],
    "broken_invalid_slug.json": ['news.article "not a slug!"', "'slug'", "valid"],
    "broken_negative_population.json": ["regions.figure", "'value'", "cannot be negative"],
    "broken_missing_image.json": ['news.article "pictured"', "'image'", "news/2020/01/not-shipped.jpg"],
    "broken_syntax.json": ["broken_syntax.json"],
    "broken_unknown_model.json": ["news.podcast", "unknown model"],
    "broken_unknown_field.json": ['news.article "extra"', "'subtitle'"],
    "broken_bad_date.yaml": ['news.event "bad-date-yaml"', "'starts'", "not a date"],
    "broken_bad_date.jsonl": ['news.event "bad-date-jsonl"', "'starts'", "2007-13-45"],
    "broken_syntax.jsonl": ["broken_syntax.jsonl", "line 3, column 54 is not JSON", "Expecting"],
    "broken_not_an_object.jsonl": ["line 2 is not an object with 'model' and 'fields': [1, 2]"],
}


@pytest.fixture
def existing_content(db):
    load("base_content.json")
    return dump()


@pytest.mark.parametrize("fixture_name", sorted(BROKEN))
def test_broken_fixture_fails_naming_file_object_and_field(existing_content, fixture_name):
    with pytest.raises(CommandError) as failure:
        load(fixture_name)
    message = str(failure.value)
    assert str(IMPORT_FIXTURES / fixture_name) in message
    for expected in BROKEN[fixture_name]:
        assert expected in message
    assert "Nothing was loaded" in message


@pytest.mark.parametrize("fixture_name", sorted(BROKEN))
def test_broken_fixture_leaves_the_database_exactly_as_before(existing_content, fixture_name):
    with pytest.raises(CommandError):
        load(fixture_name)
    assert dump() == existing_content


def test_broken_fixture_exits_non_zero_from_the_command_line(existing_content):
    result = run_manage(
        ["loaddata", str(IMPORT_FIXTURES / "broken_event_ends_before_start.json")],
        {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": child_database_url()},
    )
    assert result.returncode == 1
    assert "cannot end before it starts" in result.stderr
    assert "Traceback" not in result.stderr


def test_fixture_without_timestamps_gets_them(db):
    from news.models import Topic

    load("base_content.json")
    topic = Topic.objects.get(slug="test-topic")
    assert topic.created is not None and topic.updated is not None
