import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settings_loader import STRONG_KEY, load_settings


def test_production_without_secret_key_refuses_to_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is not set"):
        load_settings(monkeypatch)


def test_debug_off_is_the_default(monkeypatch):
    assert load_settings(monkeypatch, DJANGO_SECRET_KEY=STRONG_KEY).DEBUG is False


@pytest.mark.parametrize(
    "weak_key",
    ["short", "django-insecure-" + "abcdefghij" * 5, "a" * 60],
    ids=["too-short", "django-insecure-prefix", "too-few-distinct-characters"],
)
def test_production_with_weak_secret_key_refuses_to_start(monkeypatch, weak_key):
    with pytest.raises(ImproperlyConfigured, match="too weak"):
        load_settings(monkeypatch, DJANGO_SECRET_KEY=weak_key)


def test_production_with_strong_secret_key_starts(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_SECRET_KEY=STRONG_KEY)
    assert settings.SECRET_KEY == STRONG_KEY


def test_debug_without_secret_key_uses_a_development_key(monkeypatch):
    settings = load_settings(monkeypatch, DJANGO_DEBUG="1")
    assert settings.DEBUG is True
    assert settings.SECRET_KEY.startswith("django-insecure")
