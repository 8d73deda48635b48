"""Django's RedisCache, with one redis.Redis client kept per connection pool, and watches.

Django's RedisCacheClient makes a new `redis.Redis` for every cache operation. Making one
fills its table of some 170 response callbacks, which costs more than the round trip to
Redis itself (about 0.17 ms against 0.1 ms here), and the page cache does one operation per
request. A `redis.Redis` is safe to share between threads (each command takes a connection
from the pool), so one per pool is kept and reused. Everything else is Django's own backend.

`watch(key)` and `announce_change(key)` let a process know that a value has not changed
without a round trip (baltmet.redis_watch); the page cache uses them for its content version,
with `count_up()` to change it, and `raise_counter()` and `server_run_id()` to start a new one
after Redis restarted.
"""

import redis
from django.core.cache.backends import redis as django_redis

from baltmet import redis_watch


class ReusingRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # Pools live as long as this object (Django keeps them in self._pools).
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._watches = {}

    def watch(self, key, version=None):
        """This process's `redis_watch.Watch` of the value of `key`, which only
        `announce_change(key)` tells it about (a plain `set` or `incr` does not)."""
        found = self._watches.get((key, version))
        if found is None:
            # The primary (written-to) server: announcements are published there.
            pool = self._cache.get_client(write=True).connection_pool
            channel = self.make_and_validate_key(key, version=version)
            found = self._watches[(key, version)] = redis_watch.watch(pool, self._servers[0], channel)
        return found

    def announce_change(self, key, version=None):
        """Tell every process watching `key` that its value changed, after changing it."""
        redis_watch.announce(self._cache.get_client(write=True), self.make_and_validate_key(key, version=version))

    def count_up(self, key, start, version=None):
        """Add one to the integer at `key`, or start it at `start` where there is none, in one
        step (a key deleted between checking and adding would otherwise start again at 1).
        Returns True; False where Redis was full and refused to write (at `maxmemory` under
        the `noeviction` policy, Redis's default): the key is then deleted instead, which a
        full Redis still takes, so that whoever reads it next finds none rather than the value
        before."""
        key = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(key, write=True)
        try:
            # One transaction (MULTI/EXEC, no script: some Redis services refuse scripting).
            with client.pipeline(transaction=True) as pipe:
                _queue_count_up(pipe, key, start)
                pipe.execute()
        except redis.exceptions.OutOfMemoryError:
            client.delete(key)
            return False
        return True

    def count_up_naming(self, key, start, named_key, named, marked_key, version=None):
        """count_up(key, start) and, in the same step, the integer at `named_key` raised to
        `named` (never lowered: changes may reach Redis in another order than they were
        made), and `marked_key` deleted where it holds `named`. Returns what count_up() does."""
        key = self.make_and_validate_key(key, version=version)
        named_at = self.make_and_validate_key(named_key, version=version)
        marked_at = self.make_and_validate_key(marked_key, version=version)
        client = self._cache.get_client(key, write=True)
        try:
            with client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(named_at, marked_at)  # not `key`: every change counts it up
                        held, marked = pipe.mget(named_at, marked_at)
                        pipe.multi()
                        _queue_count_up(pipe, key, start)
                        if held is None or int(held) < named:
                            pipe.set(named_at, int(named))
                        if marked is not None and int(marked) == named:
                            pipe.delete(marked_at)
                        pipe.execute()
                        return True
                    except redis.WatchError:
                        continue
        except redis.exceptions.OutOfMemoryError:
            client.delete(key)
            return False

    def count_up_unless(self, key, start, check_key, value, version=None, mark=None, lower=False):
        """count_up(key, start) and set the integer at `check_key` to `value`, in one step,
        unless it holds `value` already, or more (but with `lower`). WATCH: other processes
        may do the same meanwhile, and only one is to count up. `mark` ({key: integer}) are
        set in the same step where not set yet. Returns (the integer at `key` after, whether
        it was counted up, what `check_key` held before or None); the integer is None where
        Redis was full (see count_up())."""
        name, key = key, self.make_and_validate_key(key, version=version)
        check = self.make_and_validate_key(check_key, version=version)
        client = self._cache.get_client(key, write=True)
        with client.pipeline() as pipe:
            while True:
                before = None
                try:
                    pipe.watch(check)
                    held = pipe.get(check)
                    before = None if held is None else int(held)
                    if before is not None and (before == value or (before > value and not lower)):
                        pipe.unwatch()
                        current = client.get(key)
                        if current is None:  # deleted by a full Redis: started as shared_version() does
                            return self.start_counter(name, start, version=version), False, before
                        return int(current), False, before
                    pipe.multi()
                    _queue_count_up(pipe, key, start)
                    pipe.set(check, int(value))
                    for other, other_value in (mark or {}).items():
                        pipe.set(self.make_and_validate_key(other, version=version), int(other_value), nx=True)
                    return pipe.execute()[1], True, before
                except redis.WatchError:
                    continue
                except redis.exceptions.OutOfMemoryError:
                    client.delete(key)
                    return None, False, before

    def start_counter(self, key, start, version=None):
        """The integer at `key`, set to `start` first where there is none, read from the server
        written to (not a replica that may lag); None where there is none and Redis is full
        (see count_up())."""
        key = self.make_and_validate_key(key, version=version)
        try:
            with self._cache.get_client(key, write=True).pipeline(transaction=True) as pipe:
                pipe.set(key, int(start), nx=True)
                pipe.get(key)
                value = pipe.execute()[1]
        except redis.exceptions.OutOfMemoryError:
            return None
        return None if value is None else int(value)

    def raise_counter(self, key, at_least, version=None):
        """Set the integer at `key` to the greater of its value plus one and `at_least`,
        atomically (other processes may change it meanwhile); returns the new value."""
        key = self.make_and_validate_key(key, version=version)
        with self._cache.get_client(key, write=True).pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    current = pipe.get(key)
                    # Stored as Django's RedisSerializer stores an int: its digits.
                    new = max(int(current) + 1, at_least) if current is not None else at_least
                    pipe.multi()
                    pipe.set(key, new)
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def server_run_id(self):
        """The run_id of the Redis server written to, new each time a server process starts;
        None where INFO is refused (some hosted Redis services rename it)."""
        try:
            return self._cache.get_client(write=True).info("server")["run_id"]
        except (redis.ResponseError, KeyError):
            return None


def _queue_count_up(pipe, key, start):
    """Queues count_up()'s step in the transaction `pipe`: the integer at `key` plus one, or
    `start` where there is none (its INCR's answer is the new value). Stored as Django's
    RedisSerializer stores an int: its digits."""
    pipe.set(key, int(start) - 1, nx=True)
    pipe.incr(key)
