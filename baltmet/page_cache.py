"""
The page cache: anonymous GET requests for public pages are answered from Django's cache
(local memory, or Redis shared by every app server when REDIS_URL is set), and every change
to the content shows on the very next request.

How it stays correct:

- **The content version** (baltmet.content_version). Every committed change to public
  content moves it. A page is stored with the version it was made from and used only while
  that is still the version, so after a change no process serves it again. A page made now
  is also kept no longer than the next moment something scheduled changes it by itself.
  Without Redis the version is in the database, and each process trusts the one it read
  until PostgreSQL announces a change (baltmet.postgres_watch), so a hit runs no query. With
  Redis (REDIS_URL) the version sits next to the pages, and each process keeps its own copies
  of the pages it served, serving them without asking Redis while no change has been
  announced (baltmet.redis_watch); at most once a second
  (DJANGO_PAGE_CACHE_DATABASE_CHECK_SECONDS) a thread of its own also asks the database whether
  its version moved without Redis's, as a change made by a process without REDIS_URL moves it,
  and moves Redis's, which every process hears of (baltmet.database_check).
- **Code.** Pages are kept per release (baltmet.release, a digest of the project's code,
  templates, static files, requirements and the settings that change pages): with Redis, a
  deploy does not serve what the code before it made. Nor, after a rollback, what the release
  made before the release it rolled back: a page is served only if made since the release
  started serving (baltmet.release_since).
- **Only what is the same for everyone.** Requests carrying a session cookie (signed-in
  staff, and anyone else with a session) or an Authorization header, other methods than
  GET/HEAD, a GET naming another charset (with which Django reads its query string), and the
  paths of PAGE_CACHE_EXCLUDED_PATHS (the admin, the editor, the health check, media) are
  never answered from the cache; outside those paths, their responses are marked
  `Cache-Control: private, max-age=0` when a session cookie was sent. A response is stored
  only if it is a 200, not streamed, sets no cookie, varies on nothing but Cookie, names no
  CSP nonce and is not private or no-store (previews are both). Pages rendered inside a transaction are neither served nor
  stored: they may show what is not committed. A view may say its response is good only
  until a moment (`response.valid_until`, as a feed whose Last-Modified has to wait for the
  end of its second); it is kept no longer than that. So may what the view calls, without
  the response at hand (`keep_page_no_longer_than()`: an image whose renditions could not be
  made shows once they are tried again, not after the next edit).
- **No cache in front keeps a page on its own.** Every other response (served from the cache
  or not) that says nothing of caching gets `Cache-Control: no-cache`: without it a browser,
  or a proxy or CDN in front of the site, may keep a page for a while of its choosing
  (Varnish: two minutes), past the next change.
- **Conditional requests** (If-None-Match / If-Modified-Since) are answered with 304 from a
  stored page's ETag and Last-Modified.
- **A cache that fails** (Redis down, or silent past DJANGO_REDIS_TIMEOUT) makes pages
  uncached, not errors, and is left alone for a moment (baltmet.cache_failures).
- **A version that cannot be written** (the database or Redis failing) is logged as an error
  and written in the background (baltmet.content_version); until then pages may be out of
  date, for DJANGO_PAGE_CACHE_SECONDS at most.

The header `X-Page-Cache: hit|miss|bypass` tells what happened.
"""

import codecs
import hashlib
import logging
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseFailure
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.encoding import escape_uri_path
from django.utils.http import parse_http_date_safe

from baltmet import cache_failures, content_version, database_check, postgres_watch, release, release_since
from baltmet.conditional import conditional_response

logger = logging.getLogger(__name__)

HEADER = "X-Page-Cache"
_KEY_PREFIX = "page"
_STORED_VARY = {"", "cookie"}
# The moments the page being made may be kept until at most (keep_page_no_longer_than()).
_page_bounds = ContextVar("page_bounds", default=None)


def keep_page_no_longer_than(moment):
    """The page being made shows something that may change by `moment` without any save of
    content (an image without renditions, tried again then): it is kept no longer. Nothing
    outside a page the cache may store."""
    bounds = _page_bounds.get()
    if bounds is not None:
        bounds.append(moment)


def _read_the_database(now):
    """The ContentState at `now`, noting the read for the check of the database's version
    (baltmet.database_check)."""
    database_check.checker.read()
    return content_version.content_state(now)


def _database_watch():
    """This process's watch of the version in PostgreSQL, or None (SQLite, or turned off)."""
    if not content_version.watches_in_use(connections[DEFAULT_DB_ALIAS]):
        return None
    return postgres_watch.watch(DEFAULT_DB_ALIAS)


def _local_cache():
    """This process's copies of pages from the shared cache, or None (no shared cache)."""
    alias = settings.PAGE_CACHE_LOCAL_ALIAS
    return caches[alias] if alias and settings.PAGE_CACHE_VERSION_IN_CACHE else None


def _cache_failed(message, error):
    cache_failures.record(settings.PAGE_CACHE_ALIAS, error)
    logger.warning(message, exc_info=True)


def _seconds_to_keep(valid_until, now):
    """How long a page may be kept from `now`, in whole seconds: DJANGO_PAGE_CACHE_SECONDS at
    most, and never past `valid_until`, the next scheduled change."""
    return int(min(settings.PAGE_CACHE_SECONDS, (valid_until - now).total_seconds()))


def _key(request):
    # One entry per address: a page made again after a change replaces the old one, rather
    # than leaving it in the cache until it expires. And per release: a deploy's pages are
    # its own (baltmet.release). The query string as sent: build_absolute_uri() would
    # percent-encode raw UTF-8 (`?q=é` from curl) into what `?q=%C3%83%C2%A9` is, a query
    # Django reads otherwise, and the page of one would answer the other.
    query = request.META.get("QUERY_STRING", "")
    url = f"{request.scheme}://{request.get_host()}{escape_uri_path(request.path)}{'?' if query else ''}{query}"
    return f"{_KEY_PREFIX}:{release.current()}:{hashlib.sha256(url.encode()).hexdigest()}"


def _made_since_the_release_started(entry):
    """Whether a stored page was made since the running release started serving
    (baltmet.release_since), as far as this process knows: after a rollback, the release's
    pages from before the release it rolled back (with Redis, they outlive the processes) would
    answer If-Modified-Since from that release's clients with 304. A process that could not
    record the time (the database down as it started) serves what is stored."""
    since = release_since.known()
    return since is None or (entry.get("since") is not None and entry["since"] >= since)


def _excluded(request):
    return request.path_info.startswith(settings.PAGE_CACHE_EXCLUDED_PATHS)


def _has_session(request):
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def _decoded_as_everyone_is(request):
    # A charset in a GET's Content-Type makes Django read its query string with it: the page of
    # `?q=%C3%A9` read as Latin-1, stored under that address, would have answered everyone.
    return request.encoding is None or codecs.lookup(request.encoding) == codecs.lookup(settings.DEFAULT_CHARSET)


def _may_use_cache(request):
    return (
        settings.PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and _decoded_as_everyone_is(request)
        and not _has_session(request)
        and "HTTP_AUTHORIZATION" not in request.META
        and not _excluded(request)
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


def _may_store(response):
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    cache_control = response.get("Cache-Control", "").lower()
    if "private" in cache_control or "no-store" in cache_control:
        return False
    if _names_a_nonce(response):
        return False
    vary = {part.strip().lower() for part in response.get("Vary", "").split(",")}
    return vary <= _STORED_VARY


def _names_a_nonce(response):
    # A nonce is good for one response: stored, every visitor would get the same one, readable
    # in the page, with which any script injected into it would run. The site's policy names
    # none today (review r27d); a view that wants one makes its page uncached.
    return any(
        "'nonce-" in response.get(header, "")
        for header in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
    )


def _revalidated_each_time(response):
    if not response.has_header("Cache-Control"):
        patch_cache_control(response, no_cache=True)


def _without_a_length_if_not_modified(response):
    # CommonMiddleware gives every response the length of its content, a 304 made by a view
    # (baltmet.conditional) too: 0, where RFC 9110 (8.6) allows none or the 200's, and a cache
    # refreshing its copy from the 304 could cut it short.
    if response.status_code == 304:
        response.headers.pop("Content-Length", None)
    return response


def _from_entry(request, entry):
    content, status, headers = entry["content"], entry["status"], entry["headers"]
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    # A stored page's validators answer conditional requests, as the view would have; a page
    # without any came from a view that answers none (If-Match: * would fail against nothing).
    etag, last_modified = response.get("ETag"), parse_http_date_safe(response.get("Last-Modified", ""))
    if etag or last_modified:
        response = conditional_response(request, etag=etag, last_modified=last_modified, response=response)
    response[HEADER] = "hit"
    return response


class PageCacheMiddleware:
    """See the module docstring. Goes after SecurityMiddleware and WhiteNoise, before sessions."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _may_use_cache(request):
            response = self.get_response(request)
            if _has_session(request) and not _excluded(request):
                # Signed-in pages are for that person only, and never reused without asking
                # (previews add no-store themselves).
                patch_cache_control(response, private=True, max_age=0)
            elif not _excluded(request):
                _revalidated_each_time(response)
            response.setdefault(HEADER, "bypass")
            return _without_a_length_if_not_modified(response)

        now = timezone.now()
        cache = content_version.shared_cache()
        key = _key(request)
        entry = version = state = None
        shared = {}
        if cache_failures.resting(settings.PAGE_CACHE_ALIAS):
            cache = None
        else:
            try:
                entry, version, state, shared = self._lookup(cache, key, now)
            except DatabaseFailure:
                # The version read from the database failed (a database restarting, review r38):
                # not the cache's failure. The page is made, if the database lets it.
                logger.warning("page cache: could not read the content version from the database", exc_info=True)
                cache = None
            except Exception as error:
                # The cache is a speed-up: with Redis unreachable the site still answers, uncached.
                _cache_failed("page cache unavailable, serving uncached", error)
                cache = None
        if (
            entry is not None
            and entry["version"] == version
            and now < entry["valid_until"]
            # Not made in this process's future: a server whose clock is ahead (or this one's
            # before it was set back) may show what comes out at a time still to come here. By
            # the clock now, not the request's start: a concurrent request may have made it
            # meanwhile (review r25j).
            and (entry.get("made", now) <= now or entry["made"] <= timezone.now())
            and _made_since_the_release_started(entry)
        ):
            return _from_entry(request, entry)

        # Both read before the view runs, so that the page is stored under a version no newer
        # than the content it shows, and kept no longer than until the next scheduled change.
        if state is None:
            state = _read_the_database(now)
            if not settings.PAGE_CACHE_VERSION_IN_CACHE:
                version = state.version  # the latest read, as the page will be made after it
            elif cache is not None and version is not None:
                version = self._following_the_database(cache, version, state, now, shared)
        bounds = []
        token = _page_bounds.set(bounds)
        try:
            response = self.get_response(request)
        finally:
            _page_bounds.reset(token)
        _revalidated_each_time(response)  # before it is stored: hits carry it too
        if (
            cache is not None
            and version is not None
            and request.method == "GET"
            and _may_store(response)
            # Found unreachable while the page was made (by its images' renditions).
            and not cache_failures.resting(settings.PAGE_CACHE_ALIAS)
        ):
            valid_until = min(state.valid_until, getattr(response, "valid_until", state.valid_until), *bounds)
            seconds = _seconds_to_keep(valid_until, now)
            if seconds >= 1:
                headers = [(name, value) for name, value in response.items() if name != HEADER]
                entry = {
                    "content": response.content,
                    "status": response.status_code,
                    "headers": headers,
                    "version": version,
                    "valid_until": valid_until,
                    "made": now,
                    "since": release_since.serving_since(),
                }
                try:
                    cache.set(key, entry, seconds)
                except Exception as error:
                    _cache_failed("page cache unavailable, page not stored", error)
                else:
                    self._keep_locally(key, entry, seconds)
        response[HEADER] = "miss"
        return _without_a_length_if_not_modified(response)

    @staticmethod
    def _following_the_database(cache, version, state, now, shared):
        """The shared version, once it has moved after the database's in `state` (a change
        recorded by a process without Redis is found here, by the next page made, if no check
        found it first); None where it cannot be told, and the page is not stored."""
        try:
            return content_version.follow_the_database(cache, version, state, now, shared)
        except DatabaseFailure:
            # Its second read of the database's version (a database restored from an older
            # dump) failed, the database's failure and not Redis's (a closed connection is an
            # InterfaceError, which is no DatabaseError).
            logger.warning("page cache: could not read the database's content version, page not stored", exc_info=True)
            return None
        except Exception as error:
            _cache_failed("page cache unavailable, page not stored", error)
            return None

    @staticmethod
    def _keep_locally(key, entry, seconds):
        local = _local_cache()
        if local is not None and seconds >= 1:
            local.set(key, entry, seconds)

    @classmethod
    def _lookup(cls, cache, key, now):
        """(the stored entry or None, the current content version, the ContentState if read,
        what the shared cache said with the version: the database's version it follows).

        With the version in a shared cache (Redis), a hit runs no SQL, and the database is
        asked only when a page is made, and, when a check is due, by a thread of its own
        (baltmet.database_check). While this process's watch of the version has heard of
        no change since it read it, a page this process keeps itself needs not even Redis;
        otherwise the page and the version come from Redis in one round trip. Without a shared
        cache the database has the version: a hit runs no query while this process's watch of
        it (baltmet.postgres_watch) trusts the one it read last, and otherwise reads it alone by
        primary key; a page not stored reads it with the next scheduled change in one query."""
        if settings.PAGE_CACHE_VERSION_IN_CACHE:
            local = _local_cache()
            watch = cache.watch(content_version.VERSION_KEY) if local is not None else None
            if watch is not None:
                version, token = content_version.watched_version(cache, watch)
            # After the watch, which finds a Redis come back with older data and restarts what
            # it follows: a check before it warned of a change without Redis (review r35).
            if database_check.checker.due():
                database_check.checker.start(cache)
            if watch is not None and version is not None:
                entry = local.get(key)
                if entry is not None and entry["version"] == version:
                    return entry, version, None, {}
            values = cache.get_many([key, *content_version.SHARED_KEYS])
            version, entry = content_version.shared_version(cache, values), values.get(key)
            if watch is not None:
                watch.remember(version, token)
                if entry is not None and entry["version"] == version:
                    cls._keep_locally(key, entry, _seconds_to_keep(entry["valid_until"], now))
            return entry, version, None, values
        entry = cache.get(key)
        watch = _database_watch()
        token = None
        if watch is not None:
            version, token = watch.get()
            if version is not None and entry is not None and entry["version"] == version:
                return entry, version, None, {}
        if entry is None:
            # To be made: the version and the next scheduled change, in one query.
            state = content_version.content_state(now)
            version = state.version
        else:
            # Stored: only the version, by primary key, which a hit needs. Made again after a
            # change, the page costs one more query (content_state below).
            version, state = content_version.database_version(), None
        if watch is not None:
            watch.remember(version, token)
        return entry, version, state, {}
