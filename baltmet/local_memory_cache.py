"""Django's local-memory cache, bounded in bytes as well as in entries.

Each app server process keeps pages in its own memory (the page cache without Redis, and its
own copies of Redis's pages with it), one entry per address, the query string included. Django's
LocMemCache bounds only the number of entries, and an entry can be large: a sitemap section of
10 000 addresses is 1.25 MB, and a made-up query string (`?utm=1`, `?utm=2`, ...) is a page
of its own, which anyone can ask for. So 1000 entries could hold 1.25 GB in every process
(review r27d). `OPTIONS["MAX_BYTES"]` bounds what the pickled values take together: storing
one evicts the least recently used until they fit, and a value larger than the whole bound is
not stored (nor is the one it would have replaced kept).

It keeps Django's entries, order and locking, and counts bytes where Django's methods add,
replace or drop an entry (`_set`, `_delete`, `_cull`, `clear`, `incr`): Django 5.2's, checked
by tests/test_performance_local_memory_cache.py.
"""

import pickle

from django.core.cache.backends import locmem
from django.core.cache.backends.base import DEFAULT_TIMEOUT

# {cache name: {key: bytes of its pickled value}}, shared like Django's own entries by every
# instance of a name (Django makes one per thread).
_sizes = {}


class LocMemCache(locmem.LocMemCache):
    def __init__(self, name, params):
        super().__init__(name, params)
        self._max_bytes = params.get("OPTIONS", {}).get("MAX_BYTES")
        self._sizes = _sizes.setdefault(name, {})

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Django's says True once it has tried to store it: one too large for the bound is not.
        if self._max_bytes is not None and len(pickle.dumps(value, self.pickle_protocol)) > self._max_bytes:
            return False
        return super().add(key, value, timeout, version)

    def bytes_held(self):
        with self._lock:
            return sum(self._sizes.values())

    def _set(self, key, value, timeout=DEFAULT_TIMEOUT):
        if self._max_bytes is not None and len(value) > self._max_bytes:
            self._delete(key)
            return
        self._sizes.pop(key, None)
        super()._set(key, value, timeout)
        self._sizes[key] = len(value)
        self._fit()

    def _fit(self):
        if self._max_bytes is None:
            return
        held = sum(self._sizes.values())
        # The least recently used last (Django moves each entry used to the front).
        while held > self._max_bytes:
            key, _ = self._cache.popitem()
            del self._expire_info[key]
            held -= self._sizes.pop(key, 0)

    def _cull(self):
        super()._cull()
        for key in self._sizes.keys() - self._cache.keys():
            del self._sizes[key]

    def _delete(self, key):
        self._sizes.pop(key, None)
        return super()._delete(key)

    def clear(self):
        with self._lock:
            self._cache.clear()
            self._expire_info.clear()
            self._sizes.clear()

    def incr(self, key, delta=1, version=None):
        value = super().incr(key, delta, version)
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if key in self._cache:
                self._sizes[key] = len(self._cache[key])
                self._fit()
        return value
