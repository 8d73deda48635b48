"""What every benchmark shares: the project's place, and scratch PostgreSQL databases that a
run creates and drops, so that no benchmark writes into a database someone uses."""

import subprocess
import sys
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


def manage(args, env):
    """Run `manage.py args` for the project with `env`, stopping the benchmark if it fails."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, check=True)


def has_demo_articles(url, articles):
    """Whether the database at `url` exists and holds exactly `articles` demo articles
    (from `generate_demo_content`), so a kept scratch database can be used again."""
    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return False
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM news_article WHERE slug LIKE 'demo-%%'")
        return cursor.fetchone()[0] == articles
    except psycopg2.Error:
        return False
    finally:
        connection.close()
