"""Dump everything, empty the database, load the dump, dump again: nothing changes."""

from django.core.management import call_command

from news.models import Article, Event, Topic
from regions.models import Figure, Metric, Organisation, Region
from tests.fixture_tools import dump, load


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


def test_yaml_dump_round_trips_too(db, tmp_path):
    load("base_content.json")
    first = dump("yaml")
    _delete_all_content()
    dump_file = tmp_path / "content.yaml"
    dump_file.write_text(first)
    load(str(dump_file))
    assert dump("yaml") == first
