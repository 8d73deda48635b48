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
    if not os.environ.get("DATABASE_STATEMENT_TIMEOUT", "").strip():
        os.environ["DATABASE_STATEMENT_TIMEOUT"] = str(WEB_STATEMENT_TIMEOUT_MS)


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


def _env_number(name, default, parse, what):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {what}.") from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
