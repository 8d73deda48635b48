"""Make the missing renditions of every article's and region's image, and remember them.

Saves make an image's renditions themselves (baltmet.renditions); a page that finds none makes
them in a visitor's request, a few hundred milliseconds a photo. Run this after pictures were
copied into MEDIA_ROOT without a save, after an upgrade that names renditions anew (27 November
2026: named after the upload's bytes, in a folder named after how they are encoded; and any
release that changes renditions.ENCODING), or after emptying MEDIA_ROOT/renditions/, so that no
visitor waits for them. Renditions already on disk are not made again.

With --delete-other-encodings, once every image has its renditions, everything else in
MEDIA_ROOT/renditions/ is deleted: the folders of other encodings, and the renditions from
before the folders. Only once no app server runs a release that shows them: a release rolled
back to after its folder went has its own make_renditions run again before it takes traffic.

With --delete-unused, once every image has its renditions, the files in this encoding's folder
that are no image's are deleted: those of pictures replaced or deleted, and pieces of writes cut
short; the page cache's pages are made again first. Only files not used for a day before the
command started (renditions.USED_MARK_SECONDS): what a save or a page makes or finds meanwhile
stays. Not while an import runs (its transaction may use renditions the command cannot see),
and only once no app server runs an older release (another release's widths name other files).
A page or feed fetched before a picture was replaced, and kept by a browser or a feed reader,
loses that picture."""

import contextlib
import os
import shutil
import tempfile

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from baltmet.content_version import content_changed, every_change_recorded
from baltmet.renditions import ENCODING, FOLDER, USED_MARK_SECONDS, make_every_width
from news.models import Article
from regions.models import Region


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--delete-other-encodings",
            action="store_true",
            help=f"then delete everything in MEDIA_ROOT/{FOLDER}/ but this release's {ENCODING}/ "
            "(once no app server runs an older release)",
        )
        parser.add_argument(
            "--delete-unused",
            action="store_true",
            help=f"then delete the files in MEDIA_ROOT/{FOLDER}/{ENCODING}/ that are no image's renditions "
            "(of pictures replaced or deleted), not used for a day before the command started "
            "(not while an import runs, nor while an app server runs an older release)",
        )

    def handle(self, *args, **options):
        deleting = options["delete_other_encodings"] or options["delete_unused"]
        started = _now_on_the_media_disk() if options["delete_unused"] else None
        names = _image_names()
        if deleting:
            _check_nothing_else_is_deleted(names)
        used, failed, done = set(), [], set()
        while names:
            for name in sorted(names):
                made = make_every_width(_image(name))
                if made is None:
                    failed.append(name)
                    self.stderr.write(
                        f"Renditions missing for {name}: the file is missing, outside MEDIA_ROOT or not an image, "
                        "of more pixels than DJANGO_MAX_IMAGE_PIXELS, or a larger file than a still picture within "
                        "that takes or DJANGO_MAX_UPLOAD_SIZE allows (it is never decoded then), or one could not be "
                        "written (see the log)."
                    )
                else:
                    used.update(made)
            done |= names
            # Before deleting what no image uses: images saved meanwhile (an import) may use
            # renditions made before the start.
            names = _image_names() - done if options["delete_unused"] else set()
            if names:
                _check_nothing_else_is_deleted(names)
        images = len(done)
        if options["verbosity"]:
            self.stdout.write(
                f"Renditions of {images - len(failed)} of {images} images are in place, in {FOLDER}/{ENCODING}/."
            )
        if failed:
            more = " Nothing was deleted." if deleting else ""
            raise CommandError(f"{len(failed)} of {images} images have no renditions.{more}")
        if options["delete_unused"]:
            # What was in use since then has a later time (renditions.USED_MARK_SECONDS).
            deleted = _delete_unused(used, started - USED_MARK_SECONDS)
            if options["verbosity"]:
                self.stdout.write(f"Deleted {deleted} files from {FOLDER}/{ENCODING}/ that no image uses.")
        if options["delete_other_encodings"]:
            deleted = _delete_other_encodings()
            if options["verbosity"]:
                self.stdout.write(f"Deleted from {FOLDER}/: {', '.join(deleted) or 'nothing'}.")


def _image_names():
    names = set()
    for model in (Article, Region):
        names.update(model._base_manager.exclude(image="").values_list("image", flat=True).distinct().order_by())
    return names


def _image(name):
    field = Article._meta.get_field("image")  # a region's image is stored alike
    return field.attr_class(None, field, name)


def _check_nothing_else_is_deleted(names):
    """Before any work: the renditions' folder is on a disk this command can empty, and holds
    no image itself (an import may name any file of MEDIA_ROOT, also as "./renditions/..." or
    through a link)."""
    root = _renditions_folder()
    roots = {os.path.join(os.path.abspath(root), ""), os.path.join(os.path.realpath(root), "")}

    def stored_inside(name):
        # As named (a link in renditions/ to a folder elsewhere is deleted with it), and where
        # it leads (a link elsewhere into renditions/).
        try:
            path = default_storage.path(name)
        except SuspiciousFileOperation:  # outside MEDIA_ROOT: it gets no renditions, and stops the deletion
            return False
        return any(each.startswith(tuple(roots)) for each in (os.path.abspath(path), os.path.realpath(path)))

    inside = sorted(name for name in names if stored_inside(name))
    if inside:
        raise CommandError(
            f"Nothing was deleted: these images are stored in {FOLDER}/, where this command deletes "
            f"files: {', '.join(inside)}. Move them elsewhere in MEDIA_ROOT first."
        )
    # An image named "../media/x.jpg" has its renditions named "renditions/<ENCODING>/../media/...".
    own = os.path.join(os.path.abspath(root), ENCODING, "")

    def renditions_astray(name):
        try:
            return not os.path.abspath(default_storage.path(f"{FOLDER}/{ENCODING}/{name}")).startswith(own)
        except SuspiciousFileOperation:
            return True

    astray = sorted(name for name in names if renditions_astray(name))
    if astray:
        raise CommandError(
            f"Nothing was deleted: the renditions of these images would be outside {FOLDER}/{ENCODING}/: "
            f"{', '.join(astray)}. Rename them first."
        )


def _renditions_folder():
    try:
        return default_storage.path(FOLDER)
    except NotImplementedError:
        raise CommandError("deleting renditions needs MEDIA_ROOT on a local or mounted disk")


def _delete_other_encodings():
    """Delete every entry of MEDIA_ROOT/renditions/ but ENCODING's folder; their names."""
    root = _renditions_folder()
    if not os.path.isdir(root):
        return []
    deleted = []
    for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
        if entry.name == ENCODING:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
        deleted.append(entry.name)
    return deleted


def _now_on_the_media_disk():
    """The time by the clock that stamps files on the media disk (a file server's, for a mounted
    one), which the files' times are compared with."""
    folder = os.path.join(_renditions_folder(), ENCODING)
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".", suffix=".start") as marker:
        return os.fstat(marker.fileno()).st_mtime


def _delete_unused(used, before):
    """Delete the files in ENCODING's folder that are not in `used` (rendition names) and were
    last written before `before`, then the folders left empty; how many renditions. Files are
    compared as files, not names: an upload named "news/./a.jpg" has renditions named alike, and
    a disk that ignores case or Unicode forms (macOS) has one file for names spelt otherwise."""
    root = os.path.join(_renditions_folder(), ENCODING)
    kept = set()
    for name in used:
        try:
            stat = os.lstat(default_storage.path(name))
        except FileNotFoundError:
            continue
        kept.add((stat.st_dev, stat.st_ino))
    unused, folders = [], []
    for folder, _, files in os.walk(root, topdown=False):
        for file in files:
            path = os.path.join(folder, file)
            # Gone meanwhile: renamed into place by a page making its rendition, or another run.
            with contextlib.suppress(FileNotFoundError):
                stat = os.lstat(path)
                if (stat.st_dev, stat.st_ino) not in kept and stat.st_mtime < before:
                    unused.append(path)
        if folder != root:
            folders.append(folder)
    renditions = [path for path in unused if not os.path.basename(path).startswith(".")]
    if renditions:
        # Before the files go: pages the page cache kept may show them (a picture copied over
        # its upload without a save, docs/importing.md), and are made again with the new ones.
        content_changed()
        if not every_change_recorded():
            # Pages kept in the cache would go on showing the files deleted (review r25l).
            raise CommandError(
                "The page cache's content version could not be moved (see the error above), so pages "
                "it keeps may still show these renditions: nothing was deleted. Run it again once the "
                "database (and Redis, with REDIS_URL) answers."
            )
    for path in unused:  # and the pieces of writes cut short, or of a run stopped (".part", ".start")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):  # not empty (any more): kept
            os.rmdir(folder)
    return len(renditions)
