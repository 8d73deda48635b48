"""Typed readers for settings that come from environment variables."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


# Milliseconds a statement of a web request may run unless DATABASE_STATEMENT_TIMEOUT says
# otherwise (baltmet.settings): under gunicorn's 30 s timeout.
WEB_STATEMENT_TIMEOUT_MS = 20000


def use_the_web_statement_timeout():
    """For the web entry points (wsgi.py, asgi.py), before the settings are read: a request's
    statements get WEB_STATEMENT_TIMEOUT_MS where DATABASE_STATEMENT_TIMEOUT is unset or empty,
    as an empty number setting means its default. manage.py commands, runserver among them,
    read the settings before any of this and keep no limit unless the variable is set."""
    if _unset("DATABASE_STATEMENT_TIMEOUT"):
        os.environ["DATABASE_STATEMENT_TIMEOUT"] = str(WEB_STATEMENT_TIMEOUT_MS)


def keep_no_database_connections_under_asgi():
    """For asgi.py, before the settings are read: Django keeps a database connection per request
    context under ASGI, so a persistent one is opened anew for each request all the same and
    lingers until the garbage collector closes it (review r25g: 80 requests, 8 sessions left
    open); Django's docs say to turn them off. Where DATABASE_CONN_MAX_AGE is unset or empty."""
    if _unset("DATABASE_CONN_MAX_AGE"):
        os.environ["DATABASE_CONN_MAX_AGE"] = "0"


def _unset(name):
    """Whether the variable `name` is absent or blank: either way, its setting's default."""
    return os.environ.get(name, "").strip() == ""


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name, default):
    return _env_number(name, default, int, "a whole number")


def env_float(name, default):
    return _env_number(name, default, float, "a number")


def env_limit(name, default, unit):
    """A whole number of `unit` that bounds a wait or a size, 0 for no limit. A negative one is refused:
    libpq would read a negative connect_timeout as no limit at all, and PostgreSQL refuses a
    negative statement_timeout only once a connection is made."""
    limit = env_int(name, default)
    if limit < 0:
        raise ImproperlyConfigured(f"{name}={limit} must be a number of {unit}, or 0 for no limit.")
    return limit


def _env_number(name, default, parse, what):
    if _unset(name):
        return default
    raw = os.environ[name]
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {what}.") from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
