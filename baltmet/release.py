"""The release: a digest of the code that makes the pages, so that pages made by one release
are never served by another (baltmet.page_cache puts it in every page's key).

With Redis, stored pages outlive the processes that made them. Without this, a deploy would go
on serving what the code before it made (the old markup, links to static files under names the
new release no longer has) until the next change to the content, and during a rolling deploy
old and new processes would serve each other's pages.

It is made from the contents, not the dates, of the project's own apps (code, templates,
static files) and template folders and of the pinned requirements: servers with the same
checkout agree, and a fresh clone of the same commit changes nothing.
"""

import hashlib
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings

_REQUIREMENTS = "requirements.txt"
_SKIPPED_FOLDERS = frozenset({"__pycache__"})


def digest(files, root):
    """A short hex digest of `files` (paths under `root`): their names relative to it and their
    contents, in an order of their own."""
    found = hashlib.sha256()
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
    root = Path(settings.BASE_DIR)
    folders = [Path(config.path) for config in apps.get_app_configs() if Path(config.path).parent == root]
    folders += [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    files = {root / _REQUIREMENTS} if (root / _REQUIREMENTS).is_file() else set()
    for folder in folders:
        files.update(
            path
            for path in folder.rglob("*")
            if path.is_file() and not _SKIPPED_FOLDERS.intersection(path.relative_to(folder).parts)
        )
    return files


@cache
def current():
    """This process's release, worked out once (a few milliseconds)."""
    return digest(project_files(), Path(settings.BASE_DIR))
