"""Rich text from a fixture is sanitised by the same function as rich text saved any other way."""

import json

from baltmet.sanitize import sanitize_html
from news.models import Article
from regions.models import Region
from tests.fixture_tools import IMPORT_FIXTURES, load

HOSTILE = {entry["fields"]["slug"]: entry["fields"] for entry in json.loads((IMPORT_FIXTURES / "hostile_html.json").read_text())}
EXECUTABLE = ["<script", "onclick", "onerror", "javascript:", "<iframe", "<style", "<svg", "<math", "data:image"]


def test_fixture_rich_text_is_sanitised_on_load(db):
    load("hostile_html.json")
    body = Article.objects.get(slug="hostile").body
    policy = Region.objects.get(slug="hostileholm").policy
    for stored in (body, policy):
        for vector in EXECUTABLE:
            assert vector not in stored
    assert "Hello" in body and "<h2>Policy</h2>" in policy
    assert '<a href="https://example.org/" rel="noopener noreferrer">out</a>' in body


def test_fixture_and_orm_saves_store_exactly_the_same_sanitised_html(db):
    load("hostile_html.json")
    from_fixture = Article.objects.get(slug="hostile").body

    from_orm = Article.objects.create(title="Same", slug="same", body=HOSTILE["hostile"]["body"])
    from_orm.refresh_from_db()

    assert from_orm.body == from_fixture == sanitize_html(HOSTILE["hostile"]["body"])


def test_sanitised_fixture_content_is_served_without_executable_html(client, db):
    load("hostile_html.json")
    html = client.get("/news/hostile/").content.decode()
    assert "Hello" in html
    for vector in ("<script>alert", "onclick=", "onerror=", "javascript:alert"):
        assert vector not in html
