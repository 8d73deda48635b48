"""Fixtures name image files that must already be in MEDIA_ROOT, and must be real images."""

import json

import pytest
from django.core.management.base import CommandError

from baltmet import fixture_validation
from news.models import Article
from tests.fixture_tools import dump, load
from tests.upload_files import image_bytes


def _article_fixture(tmp_path, image_name):
    path = tmp_path / "with-image.json"
    path.write_text(
        json.dumps(
            [
                {
                    "model": "news.article",
                    "fields": {"title": "Pictured", "slug": "pictured", "image": image_name, "image_alt": "A harbour"},
                }
            ]
        )
    )
    return str(path)


def _write_media(settings, name, content):
    target = settings.MEDIA_ROOT / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def test_fixture_with_an_image_shipped_in_media_root_loads(db, settings, tmp_path):
    _write_media(settings, "news/2020/01/harbour.png", image_bytes("PNG", size=(8, 6)))
    load(_article_fixture(tmp_path, "news/2020/01/harbour.png"))
    article = Article.objects.get(slug="pictured")
    assert article.image.name == "news/2020/01/harbour.png"
    assert (article.image.width, article.image.height) == (8, 6)


def test_fixture_naming_a_missing_image_is_refused(db, settings, tmp_path):
    with pytest.raises(CommandError, match='"news/2020/01/absent.png" is not in MEDIA_ROOT'):
        load(_article_fixture(tmp_path, "news/2020/01/absent.png"))
    assert not Article.objects.exists()


def test_fixture_naming_a_file_that_is_not_an_image_is_refused(db, settings, tmp_path):
    _write_media(settings, "news/2020/01/fake.png", b"a text file with an image's name")
    before = dump()
    with pytest.raises(CommandError, match="not an image in a supported format"):
        load(_article_fixture(tmp_path, "news/2020/01/fake.png"))
    assert dump() == before


def test_fixture_naming_an_image_with_markup_is_refused(db, settings, tmp_path):
    _write_media(settings, "news/2020/01/polyglot.gif", b"GIF89a<script>alert(1)</script>")
    with pytest.raises(CommandError, match="web page markup"):
        load(_article_fixture(tmp_path, "news/2020/01/polyglot.gif"))
    assert not Article.objects.exists()


def test_a_fixture_image_is_checked_once_though_its_object_is_saved_again(db, settings, tmp_path, monkeypatch):
    # An object naming one that comes later in the file is saved again once that is loaded;
    # the check decodes the whole image (review r27h).
    name = "news/2020/01/harbour.png"
    _write_media(settings, name, image_bytes("PNG", size=(8, 6)))
    checked = []
    check = fixture_validation.check_image
    monkeypatch.setattr(fixture_validation, "check_image", lambda file: checked.append(file.name) or check(file))
    path = tmp_path / "forward.json"
    path.write_text(
        json.dumps(
            [
                {
                    "model": "news.article",
                    "fields": {
                        "title": "Pictured", "slug": "pictured", "image": name, "image_alt": "A harbour",
                        "regions": [["later-city"]],
                    },
                },
                {"model": "regions.region", "fields": {"name": "Later City", "slug": "later-city", "country": "Exampleland"}},
            ]
        )
    )
    load(str(path))
    assert checked == [name]
    assert list(Article.objects.get(slug="pictured").regions.values_list("slug", flat=True)) == ["later-city"]
