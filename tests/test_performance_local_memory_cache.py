"""What a process keeps of pages in its own memory is bounded in bytes, not only in entries
(baltmet.local_memory_cache; review r27d): a made-up query string is a page of its own."""

import pickle
import random
import time

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from baltmet.local_memory_cache import LocMemCache
from baltmet.page_cache import HEADER
from news.models import Article
from tests.page_cache_settings import use_local_memory_page_cache
from tests.redis_for_tests import use_redis_page_cache
from tests.settings_loader import load_settings as load_any_settings

REDIS_DB = 9


def _cache(name, **options):
    cache = LocMemCache(name, {"OPTIONS": options})
    cache.clear()
    return cache


def _pickled_size(value):
    return len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _held_as_counted(cache):
    """Its count of bytes, checked against the pickled values it really holds."""
    held = cache.bytes_held()
    assert held == sum(len(pickled) for pickled in cache._cache.values())
    return held


def test_storing_past_the_bound_drops_the_least_recently_used():
    value = "x" * 1000
    size = _pickled_size(value)
    cache = _cache("bytes-lru", MAX_BYTES=3 * size)
    for key in "abc":
        cache.set(key, value)
    assert cache.get("a") == value  # used: "b" is now the least recently used
    cache.set("d", value)
    assert cache.get("b") is None
    assert [cache.get(key) for key in "acd"] == [value] * 3
    assert _held_as_counted(cache) == 3 * size


def test_a_value_larger_than_the_bound_is_not_stored_nor_is_the_one_it_replaces_kept():
    cache = _cache("bytes-too-large", MAX_BYTES=2000)
    cache.set("small", "x")
    cache.set("page", "old")
    cache.set("page", "y" * 5000)
    assert cache.get("page") is None  # not the old value
    assert cache.get("small") == "x"  # nothing else evicted for it
    assert cache.add("another-page", "y" * 5000) is False  # as Django's add() says of a key it did not store
    assert cache.get("another-page") is None
    assert _held_as_counted(cache) == _pickled_size("x")


def test_its_count_of_bytes_follows_every_way_an_entry_goes():
    # Django's own culling by entries, expiry, deletion, incr and replacing, in any order.
    cache = _cache("bytes-bookkeeping", MAX_BYTES=20_000, MAX_ENTRIES=10)
    rng = random.Random(27)
    for _ in range(3000):
        key = f"k{rng.randrange(25)}"
        action = rng.random()
        if action < 0.45:
            cache.set(key, "v" * rng.randrange(0, 4000), timeout=rng.choice([None, 60, 0.001]))
        elif action < 0.55:
            cache.add(key, rng.randrange(100))
        elif action < 0.75:
            cache.get(key)
        elif action < 0.85:
            cache.delete(key)
        elif action < 0.95:
            try:
                cache.incr(key, 10**rng.randrange(40))
            except (ValueError, TypeError):
                pass
        else:
            cache.has_key(key)
        assert _held_as_counted(cache) <= 20_000
        assert len(cache._cache) <= 10
    cache.clear()
    assert _held_as_counted(cache) == 0


def test_without_a_bound_it_is_djangos_cache():
    cache = _cache("bytes-unbounded")
    cache.set("page", "y" * 100_000)
    assert cache.get("page") == "y" * 100_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", ["local memory", "redis"])
def test_made_up_query_strings_hold_no_more_of_a_process_memory_than_the_bound(settings, store):
    # Django's sitemap reads `p` alone: `?utm=1`, `?utm=2`, ... are each a page of their own.
    if store == "redis":
        use_redis_page_cache(settings, REDIS_DB)
        local = "pages-local"
    else:
        use_local_memory_page_cache(settings)
        local = "default"
    bound = 200_000
    settings.CACHES = {
        **settings.CACHES,
        local: {**settings.CACHES[local], "OPTIONS": {**settings.CACHES[local].get("OPTIONS", {}), "MAX_BYTES": bound}},
    }
    now = timezone.now()
    Article.objects.bulk_create(
        Article(title=f"Article {n}", slug=f"a-news-item-of-the-baltic-metropoles-{n}", status=Article.Status.PUBLISHED,
                publish_at=now, lead="x")
        for n in range(400)
    )
    time.sleep(1.1)  # the sitemap's Last-Modified a whole second past: its pages are kept
    client = Client()
    for n in range(20):
        response = client.get(f"/sitemap-news.xml?utm={n}")
        assert response.status_code == 200 and response[HEADER] == "miss"
    assert len(response.content) * 20 > 2 * bound  # unbounded, they would have held twice as much
    assert client.get("/sitemap-news.xml?utm=19")[HEADER] == "hit"
    assert 0 < _held_as_counted(caches[local]) <= bound


def load_settings(monkeypatch, **env):
    return load_any_settings(monkeypatch, DJANGO_DEBUG="1", **env)


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/0"])
def test_each_process_keeps_64_megabytes_of_pages_unless_told_otherwise(monkeypatch, redis_url):
    local = "pages-local" if redis_url else "default"
    loaded = load_settings(monkeypatch, REDIS_URL=redis_url)
    assert loaded.CACHES[local]["BACKEND"] == "baltmet.local_memory_cache.LocMemCache"
    assert loaded.CACHES[local]["OPTIONS"]["MAX_BYTES"] == 64 * 2**20
    loaded = load_settings(monkeypatch, REDIS_URL=redis_url, DJANGO_PAGE_CACHE_LOCAL_MEGABYTES="8")
    assert loaded.CACHES[local]["OPTIONS"]["MAX_BYTES"] == 8 * 2**20
    loaded = load_settings(monkeypatch, REDIS_URL=redis_url, DJANGO_PAGE_CACHE_LOCAL_MEGABYTES="0")
    assert loaded.CACHES[local]["OPTIONS"]["MAX_BYTES"] is None  # no bound but the entries'
    with pytest.raises(ImproperlyConfigured, match="DJANGO_PAGE_CACHE_LOCAL_MEGABYTES"):
        load_settings(monkeypatch, REDIS_URL=redis_url, DJANGO_PAGE_CACHE_LOCAL_MEGABYTES="-1")
