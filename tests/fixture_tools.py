"""Helpers for tests that load and dump fixtures through Django's own commands."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

IMPORT_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
CONTENT = ["news", "regions"]


def load(*names, **options):
    paths = [str(IMPORT_FIXTURES / name) if "/" not in name and "." in name else name for name in names]
    call_command("loaddata", *paths, verbosity=0, **options)


def dump(fmt="json"):
    """All content, without database ids, as a maintainer would export it."""
    out = StringIO()
    call_command(
        "dumpdata", *CONTENT, format=fmt, indent=2, natural_foreign=True, natural_primary=True, stdout=out
    )
    return out.getvalue()
