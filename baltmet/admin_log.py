"""One admin history entry for each row of a queryset, written by the database.

Django's `LogEntry.objects.log_actions()` takes model instances and builds one LogEntry each:
for "Select all 100 000 articles" that loaded every article whole and took longer to log the
change than to make it. Here one `INSERT … SELECT` writes the entries from the rows
themselves, whatever their number, and takes a lock on them for the rest of the
transaction, so that what is logged is what the caller then changes.
"""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import DateTimeField, TextField, Value
from django.db.models.functions import Cast, Left

# LogEntry's columns the entries fill, in the order of the SELECT's values below.
_FIELDS = ("action_time", "user", "content_type", "object_id", "object_repr", "action_flag", "change_message")


def log_rows(queryset, *, user_id, action_flag, change_message, action_time, repr_field):
    """Write an entry of `action_flag` by `user_id` for each row of `queryset`, its object_repr
    the row's `repr_field` (what the model's str() gives), cut as Django cuts it. Returns how
    many were written. Call it inside the transaction that makes the change, before it, with
    a queryset that may take row locks (not DISTINCT: filter by its keys instead)."""
    model = queryset.model
    repr_length = LogEntry._meta.get_field("object_repr").max_length
    rows = (
        queryset.order_by()
        .select_for_update(of=("self",))
        .values_list(
            Value(action_time, output_field=DateTimeField()),
            Value(user_id),
            Value(ContentType.objects.get_for_model(model, for_concrete_model=False).pk),
            Cast("pk", output_field=TextField()),
            Left(repr_field, repr_length),
            Value(action_flag),
            Value(change_message, output_field=TextField()),
        )
    )
    connection = connections[queryset.db]
    select, params = rows.query.get_compiler(queryset.db).as_sql()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(LogEntry._meta.get_field(name).column) for name in _FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(LogEntry._meta.db_table)} ({columns}) {select}", params)
        return cursor.rowcount
