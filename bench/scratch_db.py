"""What every benchmark shares: the project's place, and scratch PostgreSQL databases that a
run creates and drops, so that no benchmark writes into a database someone uses."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

PROJECT = Path(__file__).resolve().parent.parent
# The server and role the tests use (scripts/ensure-postgres.sh); DATABASE_URL overrides it.
DEFAULT_URL = "postgres://baltmet:baltmet@127.0.0.1:5432/baltmet"


def with_database(url, name):
    """`url` with its database name replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_sql(url, statement):
    # CREATE/DROP DATABASE cannot run in a transaction block, so no `with connection:`.
    connection = psycopg2.connect(with_database(url, "postgres"))
    connection.autocommit = True
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


def manage(args, env, capture=False):
    """Run `manage.py args` for the project with `env`, stopping the benchmark if it fails;
    with `capture`, its output is kept in the result instead of printed."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, check=True, capture_output=capture, text=True
    )


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


def create_database(url, name):
    """A new, empty scratch database `name` on the server of `url` (any earlier one dropped)."""
    drop_database(url, name)
    admin_sql(url, f"CREATE DATABASE {name}")


def demo_database(url, name, env, *, articles, events, fixtures=(), keep=False):
    """Scratch database `name` migrated, with `fixtures` loaded and `generate_demo_content`'s
    `articles` and `events` (and 12 regions); with `keep`, one left by an earlier run with as
    many articles is used as it is. `env` is the environment for manage.py, DATABASE_URL
    naming that database. Returns the seconds generate_demo_content took, or None if reused."""
    if keep and has_demo_articles(with_database(url, name), articles):
        print(f"reusing {name} with {articles} articles", flush=True)
        return None
    create_database(url, name)
    manage(["migrate", "--noinput", "-v", "0"], env)
    if fixtures:
        manage(["loaddata", *fixtures, "-v", "0"], env)
    started = time.perf_counter()
    manage(["generate_demo_content", "--articles", str(articles), "--events", str(events), "--regions", "12"], env)
    return time.perf_counter() - started


def has_demo_articles(url, articles):
    """Whether the database at `url` exists and holds exactly `articles` demo articles
    (from `generate_demo_content`), so a kept scratch database can be used again."""
    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return False
    try:
        cursor = connection.cursor()
        # generate_demo_content's PREFIX (this script runs without Django's settings)
        cursor.execute("SELECT count(*) FROM news_article WHERE slug LIKE 'generated-demo-%%'")
        return cursor.fetchone()[0] == articles
    except psycopg2.Error:
        return False
    finally:
        connection.close()


def run_django_on(url, name, run, *, keep=False, **environ):
    """`run()` with Django set up in this process (DEBUG on, `environ` besides) on the scratch
    database `name` of the server of `url`; the database dropped afterwards unless `keep`."""
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
