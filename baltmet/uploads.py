"""Stored file names are generated here, never taken from the uploader."""

import uuid
from pathlib import PurePosixPath

from django.utils import timezone

# Extensions we keep are those of the raster formats Pillow verifies for us.
_SAFE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}


def _safe_suffix(filename):
    suffix = PurePosixPath(filename or "").suffix.lower()
    return suffix if suffix in _SAFE_SUFFIXES else ".img"


def generated_name(filename):
    return f"{uuid.uuid4().hex}{_safe_suffix(filename)}"


def ckeditor_filename(filename, request):
    """CKEDITOR_FILENAME_GENERATOR: a random name with the original's extension."""
    return generated_name(filename)


class UploadTo:
    """An `upload_to` callable for ImageFields: <folder>/<year>/<month>/<random>.<ext>.

    A class rather than a closure so that migrations can serialise it.
    """

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, instance, filename):
        now = timezone.now()
        return f"{self.folder}/{now:%Y/%m}/{generated_name(filename)}"

    def deconstruct(self):
        return ("baltmet.uploads.UploadTo", (self.folder,), {})

    def __eq__(self, other):
        return isinstance(other, UploadTo) and other.folder == self.folder
