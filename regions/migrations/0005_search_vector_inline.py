"""Keep search vectors in the table row instead of the TOAST table (PostgreSQL only).

A vector of about a kilobyte made the row too large, so PostgreSQL moved it out of line; then
every match costs a TOAST lookup when a query tests or ranks it. With STORAGE MAIN a vector
stays in the row (the rich-text body is moved out of line first), which more than halved the
time of ranking a word found in most of 100 000 articles (docs/search.md). Existing vectors
are rewritten so that they move too. Other databases have no such setting: nothing to do.
"""

from django.db import migrations

TABLES = ["regions_region"]


def _set_storage(schema_editor, storage):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN search_vector SET STORAGE {storage}")
        # An unchanged value keeps its old place; a new one (vector || empty) is stored anew.
        schema_editor.execute(f"UPDATE {table} SET search_vector = search_vector || ''::tsvector")


def inline(apps, schema_editor):
    _set_storage(schema_editor, "MAIN")


def out_of_line(apps, schema_editor):
    _set_storage(schema_editor, "EXTENDED")


class Migration(migrations.Migration):

    dependencies = [
        ("regions", "0004_search_vector"),
    ]

    operations = [
        migrations.RunPython(inline, out_of_line),
    ]
