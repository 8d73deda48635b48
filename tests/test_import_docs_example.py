"""The hand-written fixture in docs/importing.md loads and shows up on the site."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from news.models import Article
from regions.models import Region

DOC = Path(__file__).resolve().parent.parent / "docs" / "importing.md"


@pytest.fixture
def example_fixture(tmp_path):
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "the guide has exactly one complete example"
    path = tmp_path / "example_city.json"
    path.write_text(blocks[0])
    return str(path)


def test_docs_example_loads_after_the_seed_and_reloads_in_place(db, example_fixture):
    call_command("loaddata", "regions_seed", verbosity=0)
    call_command("loaddata", example_fixture, verbosity=0)
    call_command("loaddata", example_fixture, verbosity=0)
    region = Region.objects.get(slug="example-city")
    assert region.figures.count() == 2
    assert region.clusters.get().niches == "medical devices, diagnostics"
    assert Article.objects.filter(slug="example-city-joins").count() == 1


def test_docs_example_appears_on_the_public_pages(client, db, example_fixture):
    call_command("loaddata", "regions_seed", example_fixture, verbosity=0)
    assert "Example City joins the network" in client.get("/").content.decode()
    region_page = client.get("/regions/example-city/").content.decode()
    assert "University of Example City" in region_page
    assert "250 000" in region_page
    event_page = client.get("/events/example-city-innovation-day/").content.decode()
    assert "City Hall" in event_page
