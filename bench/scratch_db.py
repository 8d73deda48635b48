"""What every benchmark shares: the project's place, and scratch PostgreSQL databases that a
run creates and drops, so that no benchmark writes into a database someone uses."""

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

PROJECT = Path(__file__).resolve().parent.parent
# The server and role the tests use (scripts/ensure-postgres.sh); DATABASE_URL overrides it.
DEFAULT_URL = "postgres://baltmet:baltmet@127.0.0.1:5432/baltmet"


# Ctrl-C, kill (or a CI job's timeout), a closed terminal.
_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def cleaning_up():
    """Stopping a server, dropping a database: no signal cuts it short. One that comes
    meanwhile is held back by the kernel and acted on once it is done (run_stopping_cleanly()).
    Also a decorator."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def run_stopping_cleanly(main):
    """Run a benchmark's `main()` so that `kill` (SIGTERM), a closed terminal (SIGHUP) or a CI
    job's timeout ends it as Ctrl-C (SIGINT) does: through its `finally` blocks, which stop the
    servers it started (in sessions of their own, which no signal to the benchmark reaches) and
    drop its scratch database; Python's default for SIGTERM and SIGHUP is to end at once,
    leaving them. Once one has come, the others are ignored, so that none cuts that short."""

    def stop(signum, frame):
        # Once: the next (a closed terminal sends SIGHUP twice, kill is repeated, a terminal
        # closed after Ctrl-C) must not cut short the cleanup this one starts.
        for other in _STOPPING:
            signal.signal(other, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)  # the status a shell reports for a process ended by it

    for signum in _STOPPING:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup, a background job: left ignored
            signal.signal(signum, stop)
    main()


def with_database(url, name):
    """`url` with its database name replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_sql(url, statement, params=None):
    # CREATE/DROP DATABASE cannot run in a transaction block, so no `with connection:`.
    connection = psycopg2.connect(with_database(url, "postgres"))
    connection.autocommit = True
    try:
        connection.cursor().execute(statement, params)
    finally:
        connection.close()


def manage(args, env, capture=False):
    """Run `manage.py args` for the project with `env`, stopping the benchmark if it fails;
    with `capture`, its output is kept in the result instead of printed."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, check=True, capture_output=capture, text=True
    )


@cleaning_up()
def drop_database(url, name):
    """Drop the scratch database `name` on the server of `url`, if there is one. Sessions still
    in it are ended (FORCE); an autovacuum worker busy in it after bulk writes, which a role
    without superuser rights may not end, is waited for (up to a minute)."""
    statement = f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    for _ in range(60):
        try:
            admin_sql(url, statement)
            return
        except (psycopg2.errors.ObjectInUse, psycopg2.errors.InsufficientPrivilege):
            time.sleep(1)
    admin_sql(url, statement)


def admin_value(url, query, params=()):
    connection = psycopg2.connect(with_database(url, "postgres"))
    try:
        cursor = connection.cursor()
        cursor.execute(query, params)
        row = cursor.fetchone()
        return row[0] if row else None
    finally:
        connection.close()


def create_database(url, name):
    """A new, empty scratch database `name` on the server of `url`: one left by an earlier run
    is dropped, but not one a run still uses (the same benchmark started twice would end the
    first run's sessions and measure half a database)."""
    sessions = admin_value(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
        (name,),
    )
    if sessions:
        sys.exit(
            f"{name} is in use ({sessions} sessions): is another run of this benchmark going on? Stop it "
            f"(or its servers), or drop the database, then start again."
        )
    drop_database(url, name)
    admin_sql(url, f"CREATE DATABASE {name}")


# What points a process at a site's shared page cache.
_SITE_CACHE = ("REDIS_URL", "DJANGO_CACHE_KEY_PREFIX")


def setup_env(env):
    """`env` for manage.py on a scratch database: without REDIS_URL, so that a migration, a
    fixture or generated content never changes the page cache of a site on that Redis."""
    return {key: value for key, value in env.items() if key not in _SITE_CACHE}


def demo_database(url, name, env, *, articles, events, fixtures=(), keep=False):
    """Scratch database `name` migrated, with `fixtures` loaded and `generate_demo_content`'s
    `articles` and `events` (and 12 regions); with `keep`, one an earlier run made with the
    same sizes, fixtures and version of the command, and finished, is used (migrated first),
    where the pictures it names are in `env`'s MEDIA_ROOT. `env` is the environment for
    manage.py, DATABASE_URL naming that database. Returns the seconds generate_demo_content
    took, or None if reused. A database not made to the end (a failure, Ctrl-C) is dropped."""
    made_with = (
        f"generate_demo_content --articles {articles} --events {events} --regions 12; fixtures: {' '.join(fixtures)}; "
        f"command {_digest(PROJECT / 'baltmet/management/commands/generate_demo_content.py')}"
    )
    env = setup_env(env)
    if keep and _made_with(url, name) == made_with and _pictures_present(url, name, env):
        print(f"reusing {name} ({made_with})", flush=True)
        # Kept by an older checkout, it would be measured without the newer migrations (an
        # index the run is about); nothing happens where it is current.
        manage(["migrate", "--noinput", "-v", "0"], env)
        return None
    create_database(url, name)
    try:
        manage(["migrate", "--noinput", "-v", "0"], env)
        if fixtures:
            manage(["loaddata", *fixtures, "-v", "0"], env)
        started = time.perf_counter()
        manage(["generate_demo_content", "--articles", str(articles), "--events", str(events), "--regions", "12"], env)
        took = time.perf_counter() - started
        # Written last: a database without it was not finished, and is never reused.
        admin_sql(url, f"COMMENT ON DATABASE {name} IS %s", [made_with])
    except BaseException:
        drop_database(url, name)
        raise
    return took


def _digest(path):
    # A database made by another version of the command has other content: never reused.
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _pictures_present(url, name, env):
    """Whether the pictures the scratch database `name` names are in the MEDIA_ROOT of `env`
    (the project's media/ by default): the database is kept on the server, they in a checkout,
    which may be another one or have been cleaned."""
    media = PROJECT / env.get("MEDIA_ROOT", "media")  # a relative one is the project's, as in the settings
    connection = psycopg2.connect(with_database(url, name))
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT image FROM news_article WHERE image <> '' UNION SELECT image FROM regions_region WHERE image <> ''"
        )
        return all((media / image).is_file() for (image,) in cursor.fetchall())
    finally:
        connection.close()


def _made_with(url, name):
    """What the scratch database `name` was made with (demo_database()), or None."""
    return admin_value(
        url, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
    )


def run_django_on(url, name, run, *, keep=False, **environ):
    """`run()` with Django set up in this process (DEBUG on, `environ` besides) on the scratch
    database `name` of the server of `url`; the database dropped afterwards unless `keep`."""
    for key in _SITE_CACHE:  # as setup_env()
        os.environ.pop(key, None)
    os.environ.update(
        DATABASE_URL=with_database(url, name), DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="baltmet.settings", **environ
    )
    try:
        run()
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            drop_database(url, name)


def main_on_demo_database(description, name, run, *, runs=None, runs_help=None):
    """The main() of a benchmark run in-process on a demo database (deep_pages.py,
    skewed_plans.py, admin_actions.py): its options (--articles, --runs unless `runs` is None,
    --keep), then run(options) on it."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs, help=runs_help)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the scratch database")
    in_process_on_demo_database(name, parser.parse_args(), run)


def in_process_on_demo_database(name, options, run, *, events=5000, fixtures=("regions_seed", "news_seed")):
    """`run(options)` with Django set up in this process on the scratch database `name`, made by
    demo_database() with `options.articles` (reused and kept with `options.keep`), on the server
    of DATABASE_URL (default DEFAULT_URL)."""
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    demo_database(
        url, name, {**env, "DATABASE_URL": with_database(url, name), "DJANGO_DEBUG": "1"},
        articles=options.articles, events=events, fixtures=fixtures, keep=options.keep,
    )
    run_django_on(url, name, lambda: run(options), keep=options.keep)


def admin_client(username):
    """(user, client): Django's test client signed in as the superuser `username`, made if
    missing, for the admin's benchmarks (in-process, Django set up)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")  # one of the hosts DEBUG allows
    client.force_login(user)
    return user, client


def server_and_cpus():
    """"PostgreSQL 15.x; 2 CPUs": what an in-process benchmark's figures were measured on
    (Django set up)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        (version,) = cursor.fetchone()
    return f"PostgreSQL {version}; {os.cpu_count()} CPUs"


def answers(process, url, tries):
    """Whether the server `process` started answers `url` with a 200 within `tries` tries a
    tenth of a second apart; False as soon as it has stopped (what answers then is not it)."""
    for _ in range(tries):
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def answering_or_stopped(process, url, tries, log, stop, name):
    """Return once the server `process` answers `url` (answers()). Otherwise, or if the run is
    interrupted meanwhile, `stop(process)`; then raise, with the end of what it wrote to `log`
    (a file: a pipe nobody reads would stall it once full)."""
    started = False
    try:
        started = answers(process, url, tries)
    finally:
        if not started:
            stop(process)
    if not started:
        log.seek(0)
        raise RuntimeError(f"{name} did not start:\n" + log.read().decode(errors="replace")[-3000:])


def median_ms(call, runs):
    """The median of `runs` timed calls of `call`, in milliseconds, after one untimed (a
    PREPARE, the caches)."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
