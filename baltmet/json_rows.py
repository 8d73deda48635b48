"""Related rows read with their parent in one query, as an array of JSON arrays (PostgreSQL):
a region's institutions with the region, an article's topics with the article. Made into
instances with baltmet.prepared.from_rows()."""

import json
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import Func
from django.db.models.constants import LOOKUP_SEP


class _DecimalJSONDecoder(json.JSONDecoder):
    """JSON numbers with a fraction as Decimal, as the database driver gives a DecimalField."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, parse_float=Decimal, **kwargs)


class _JSONRow(Func):
    """The values of its arguments as one JSON array (PostgreSQL)."""

    function = "JSONB_BUILD_ARRAY"
    output_field = models.JSONField(decoder=_DecimalJSONDecoder)


# JSON gives these back otherwise than the database driver does (a date or a time as text, a
# float as a Decimal, a whole numeric as an int), and from_rows() would keep what it gives.
_NOT_AS_JSON = (
    models.DateField,  # DateTimeField too
    models.TimeField,
    models.DurationField,
    models.FloatField,
    models.UUIDField,
    models.JSONField,
    models.BinaryField,
)


def json_rows(queryset, fields):
    """`fields` of each row of `queryset`, as an array of JSON arrays in the queryset's order
    (PostgreSQL only). Arrays rather than objects: their keys would be as many more
    expressions to build for every query. Fields whose values JSON would change are refused."""
    for name in fields:
        field = _field(queryset.model, name)
        if isinstance(field, _NOT_AS_JSON) or (
            isinstance(field, models.DecimalField) and not field.decimal_places
        ):
            raise TypeError(f"json_rows() would not give {name} ({type(field).__name__}) back as the ORM does")
    return ArraySubquery(queryset.values(row=_JSONRow(*fields)))


def _field(model, path):
    """The model field `path` ("name", "region_id", "network__name") leads to; for a foreign
    key, the field it holds the value of."""
    *relations, last = path.split(LOOKUP_SEP)
    for name in relations:
        model = model._meta.get_field(name).related_model
    field = model._meta.get_field(last)
    while field.many_to_one:
        field = field.target_field
    return field
