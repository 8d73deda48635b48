"""Related rows read with their parent in one query, as an array of JSON arrays (PostgreSQL):
a region's institutions with the region, an article's topics with the article. Made into
instances with baltmet.prepared.from_rows()."""

import json
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import Func


class _DecimalJSONDecoder(json.JSONDecoder):
    """JSON numbers with a fraction as Decimal, as the database driver gives a DecimalField."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, parse_float=Decimal, **kwargs)


class _JSONRow(Func):
    """The values of its arguments as one JSON array (PostgreSQL)."""

    function = "JSONB_BUILD_ARRAY"
    output_field = models.JSONField(decoder=_DecimalJSONDecoder)


def json_rows(queryset, fields):
    """`fields` of each row of `queryset`, as an array of JSON arrays in the queryset's order
    (PostgreSQL only). Arrays rather than objects: their keys would be as many more
    expressions to build for every query."""
    return ArraySubquery(queryset.values(row=_JSONRow(*fields)))
