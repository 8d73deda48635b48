"""The page cache as a site without REDIS_URL runs it, for tests that commit (transactional_db)."""

from django.core.cache import cache


def use_local_memory_page_cache(settings, listen=True):
    """Point the test's `settings` at the local-memory page cache, emptied, with the content
    version in the database and, with `listen`, each process's watch of it
    (baltmet.postgres_watch); without it, every hit reads the version."""
    settings.PAGE_CACHE_SECONDS = 3600
    settings.PAGE_CACHE_VERSION_IN_CACHE = False
    settings.PAGE_CACHE_LISTEN = listen
    cache.clear()
