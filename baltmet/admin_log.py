"""One admin history entry for each row of a queryset, written by the database.

Django's `LogEntry.objects.log_actions()` takes model instances and builds one LogEntry each:
for "Select all 100 000 articles" that loaded every article whole and took longer to log the
change than to make it. Here one `INSERT … SELECT` writes the entries from the rows
themselves, whatever their number, and locks those rows for the rest of the transaction;
the caller then changes exactly the rows logged.
"""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import BigIntegerField, DateTimeField, Max, TextField, Value
from django.db.models.functions import Cast, Left

# LogEntry's columns the entries fill, in the order of the SELECT's values below.
_FIELDS = ("action_time", "user", "content_type", "object_id", "object_repr", "action_flag", "change_message")


def log_rows(queryset, *, user_id, action_flag, change_message, action_time, repr_field):
    """Write an entry of `action_flag` by `user_id` for each row of `queryset`, its object_repr
    the row's `repr_field` (what the model's str() gives), cut as Django cuts it. Call it in
    the transaction that makes the change, before the change, with a queryset that may take
    row locks (not DISTINCT: filter by its keys instead) and a model with whole-number keys.

    Returns the rows logged, locked until the transaction ends: change those, not the rows
    `queryset` finds when asked again, which may include rows another editor changed since."""
    model = queryset.model
    db = queryset.db
    content_type = ContentType.objects.db_manager(db).get_for_model(model, for_concrete_model=False)
    repr_length = LogEntry._meta.get_field("object_repr").max_length
    rows = (
        queryset.order_by()
        .select_for_update(of=("self",))
        .values_list(
            Value(action_time, output_field=DateTimeField()),
            Value(user_id),
            Value(content_type.pk),
            Cast("pk", output_field=TextField()),
            Left(repr_field, repr_length),
            Value(action_flag),
            Value(change_message, output_field=TextField()),
        )
    )
    connection = connections[db]
    select, params = rows.query.get_compiler(db).as_sql()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(LogEntry._meta.get_field(name).column) for name in _FIELDS)
    # Entries get keys above every one there is now: looking ours up reads only the newest.
    newest_before = LogEntry.objects.using(db).aggregate(newest=Max("pk"))["newest"] or 0
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(LogEntry._meta.db_table)} ({columns}) {select}", params)
        if not cursor.rowcount:
            return model._default_manager.db_manager(db).none()
    ours = LogEntry.objects.using(db).filter(
        pk__gt=newest_before,
        action_time=action_time,
        user_id=user_id,
        action_flag=action_flag,
        content_type=content_type,
    )
    return model._default_manager.db_manager(db).filter(
        pk__in=ours.values(logged_pk=Cast("object_id", output_field=BigIntegerField()))
    )
