"""Dump everything, empty the database, load the dump, dump again: nothing changes."""

from datetime import UTC, datetime

import pytest
from django.core import serializers
from django.core.management import call_command

from news.models import Article, Event, Topic
from regions.models import Figure, Metric, Organisation, Region
from tests.fixture_tools import dump, load
from tests.news_factories import make_article


def _delete_all_content():
    for model in (Article, Event, Topic, Figure, Region, Metric, Organisation):
        model.objects.all().delete()


def test_dump_flush_load_dump_gives_the_same_dump(db, tmp_path):
    load("base_content.json", "hostile_html.json")
    call_command("loaddata", "regions_seed", "news_seed", verbosity=0)
    first = dump()
    assert '"news.article"' in first and '"regions.figure"' in first

    _delete_all_content()
    assert dump() == "[\n]\n"
    dump_file = tmp_path / "content.json"
    dump_file.write_text(first)
    load(str(dump_file))

    assert dump() == first


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_json_dump_keeps_times_to_the_microsecond(db, tmp_path, fmt):
    # Django's encoder writes milliseconds: a time less than one past its second, as one in a
    # thousand is, was dumped as ".000Z", loaded as a whole second and dumped again as "Z".
    published = datetime(2026, 3, 1, 9, 30, 0, 123, tzinfo=UTC)
    article = make_article("Precise news", publish_at=published)
    first = dump(fmt)
    assert '"publish_at": "2026-03-01T09:30:00.000123Z"' in first

    _delete_all_content()
    dump_file = tmp_path / f"content.{fmt}"
    dump_file.write_text(first)
    load(str(dump_file))
    assert Article.objects.get(slug=article.slug).publish_at == published
    assert dump(fmt) == first


def test_yaml_dump_round_trips_too(db, tmp_path):
    load("base_content.json")
    first = dump("yaml")
    _delete_all_content()
    dump_file = tmp_path / "content.yaml"
    dump_file.write_text(first)
    load(str(dump_file))
    assert dump("yaml") == first


def test_json_lines_keep_line_separators_inside_strings(db):
    # Written as they are (the dump is not ASCII-only); only a newline ends a line.
    topic = Topic(name="Line\u2028and paragraph\u2029and next line\u0085", slug="separators")
    dumped = serializers.serialize("jsonl", [topic])
    assert "\u2028" in dumped
    for data in (dumped, dumped.encode()):
        [loaded] = serializers.deserialize("jsonl", data)
        assert loaded.object.name == topic.name


def test_json_lines_given_as_text_may_start_with_a_byte_order_mark(db):
    dumped = serializers.serialize("jsonl", [Topic(name="Marked", slug="marked")]).replace("\n", "\r\n")
    for data in (("\ufeff" + dumped).encode(), "\ufeff" + dumped):
        assert [loaded.object.name for loaded in serializers.deserialize("jsonl", data)] == ["Marked"]
