"""The release: a digest of the code that makes the pages, so that pages made by one release
are never served by another (baltmet.page_cache puts it in every page's key).

With Redis, stored pages outlive the processes that made them. Without this, a deploy would go
on serving what the code before it made (the old markup, links to static files under names the
new release no longer has) until the next change to the content, and during a rolling deploy
old and new processes would serve each other's pages.

It is made from the contents, not the dates, of the project's own apps (code, templates,
static files) and template folders and of the pinned requirements, and from the settings that
change what pages say (time zone and its rules, language, DEBUG's static file names, the URLs,
the proxy's scheme header, the path the site is mounted under): servers with
the same files and environment agree, and a fresh clone of the same commit changes nothing. It
is worked out when the application loads (BaltmetConfig.ready()), from the files the process
starts with; a deploy restarts the processes (templates, for one, are read at first use).
"""

import hashlib
import logging
import os
import uuid
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

from django.apps import apps
from django.conf import settings

logger = logging.getLogger(__name__)

_REQUIREMENTS = "requirements.txt"
# SECURE_PROXY_SSL_HEADER decides the scheme of the absolute addresses feeds, calendars and
# sitemaps write: a site that set DJANGO_BEHIND_PROXY late answered If-None-Match from
# clients holding their http:// copy with 304 (review r24e). The path the site is mounted
# under (FORCE_SCRIPT_NAME, or gunicorn's SCRIPT_NAME from the environment) is in those
# addresses too (review r27a).
_PAGE_SETTINGS = (
    "DEBUG", "TIME_ZONE", "LANGUAGE_CODE", "ROOT_URLCONF", "STATIC_URL", "MEDIA_URL", "SECURE_PROXY_SSL_HEADER",
    "FORCE_SCRIPT_NAME",
)
_SKIPPED_FOLDERS = frozenset({"__pycache__"})
_OF_ONE_PROCESS = "process-"


def digest(files, root, settings_text=""):
    """A short hex digest of `settings_text` and of `files` (paths under `root`): their names
    relative to it and their contents, in sorted order."""
    found = hashlib.sha256(settings_text.encode())
    for path in sorted(files):
        content = path.read_bytes()
        name = path.relative_to(root).as_posix().encode()
        # Lengths first, so that no two different sets of files can run together alike.
        found.update(b"%d:%d:" % (len(name), len(content)) + name + content)
    return found.hexdigest()[:16]


def project_files():
    """The files that make pages: every file of the apps in the project's own folder (not
    third-party ones, which the requirements pin) and of the template folders, and
    requirements.txt."""
    root = _root()
    # Resolved: a checkout reached through a symbolic link (/srv/site/current) names its apps
    # by the link.
    folders = [Path(config.path).resolve() for config in apps.get_app_configs()]
    folders = [folder for folder in folders if folder.parent == root]
    folders += [Path(folder).resolve() for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    files = {root / _REQUIREMENTS} if (root / _REQUIREMENTS).is_file() else set()
    for folder in folders:
        files.update(files_under(folder))
    return files


def files_under(folder):
    """Every file in `folder` and below, but compiled code (__pycache__)."""
    return {
        path
        for path in folder.rglob("*")
        if path.is_file() and not _SKIPPED_FOLDERS.intersection(path.relative_to(folder).parts)
    }


def page_settings():
    """The settings that change what pages say, as text."""
    return repr(
        [
            *((name, getattr(settings, name)) for name in _PAGE_SETTINGS),
            ("SCRIPT_NAME", os.environ.get("SCRIPT_NAME", "")),
            ("the time zone's rules", hashlib.sha256(time_zone_rules()).hexdigest()),
        ]
    )


def time_zone_rules():
    """The compiled rules of the site's time zone, as zoneinfo reads them: from the system's
    zone files first (TZPATH), which an update of the operating system's tzdata changes under
    the pinned requirements, and the calendars write them out (review r27a); else from the
    tzdata package."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / settings.TIME_ZONE
        if path.is_file():
            return path.read_bytes()
    try:
        return resources.files("tzdata.zoneinfo").joinpath(*settings.TIME_ZONE.split("/")).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return b""


def _root():
    return Path(settings.BASE_DIR).resolve()


@cache
def current():
    """This process's release, worked out once (a few milliseconds). Where the files cannot be
    read (or a template folder is outside the project), one of this process's own: its pages
    are then never shared with another process, and never wrong."""
    try:
        return digest(project_files(), _root(), page_settings())
    except (OSError, ValueError):
        logger.error(
            "page cache: the release cannot be worked out; this process keeps its pages to itself", exc_info=True
        )
        return f"{_OF_ONE_PROCESS}{uuid.uuid4().hex}"


def anew_on_a_file_changed(sender, file_path, **kwargs):
    """`runserver`'s autoreloader tells of a changed file: a template's does not restart the
    process (Django resets the template loaders and goes on), so the release is worked out
    again, from the files as they are now, and starts serving now. Without it, pages stored
    before the edit were served for up to an hour (review r25g). Returns None: the reloader
    still restarts for what it restarts for."""
    from baltmet import release_since

    # In this order: a request between the two would otherwise record the new release with
    # the process's start, and If-Modified-Since would hide what the edit changed (review r25j).
    release_since.start_anew()
    current.cache_clear()
    # Recorded now, not at the next page: a stored page is served while the release has no
    # record, and an edit undone would otherwise bring back pages stored before it (review r25k).
    release_since.record_as_the_process_starts()


def of_this_process_alone(name):
    """Whether `name` is a release of one process's own (see current())."""
    return name.startswith(_OF_ONE_PROCESS)
