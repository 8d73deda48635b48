import json

from django.core.serializers.base import DeserializationError
from django.core.serializers.jsonl import Deserializer as DjangoDeserializer
from django.core.serializers.jsonl import Serializer as DjangoSerializer

from baltmet.serializers.explain import ExplainingDeserializerMixin
from baltmet.serializers.json import MicrosecondTimesMixin


class Serializer(MicrosecondTimesMixin, DjangoSerializer):
    """JSON Lines with times to the microsecond, as the site's JSON writes them."""


class Deserializer(ExplainingDeserializerMixin, DjangoDeserializer):
    def __init__(self, stream_or_string, **options):
        # Django's reads the lines with its own class's `_get_lines`, by name: skip it. And
        # its splitlines() also breaks at U+2028, U+2029 and U+0085, which a dump (not
        # ASCII-only) writes as they are inside strings: only a newline ends a line.
        if isinstance(stream_or_string, bytes):
            stream_or_string = stream_or_string.decode("utf-8-sig")
        if isinstance(stream_or_string, str):
            stream_or_string = stream_or_string.removeprefix("\ufeff").split("\n")
        super(DjangoDeserializer, self).__init__(self._numbered_lines(stream_or_string), **options)

    @staticmethod
    def _numbered_lines(stream):
        # Django's raises a DeserializationError without a message: name the line, as a
        # maintainer with a file of a thousand lines needs it.
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            line = line.rstrip(b"\r\n" if isinstance(line, bytes) else "\r\n")  # loaddata reads bytes
            try:
                node = json.loads(line)
            except json.JSONDecodeError as exc:
                # The parser's own message counts lines and characters within this one line.
                raise DeserializationError(f"line {number}, column {exc.colno} is not JSON: {exc.msg}") from None
            except ValueError as exc:  # bytes that are not UTF-8, -16 or -32
                raise DeserializationError(f"line {number} is not JSON: {exc}") from None
            if not isinstance(node, dict):
                raise DeserializationError(
                    f"line {number} is not an object with 'model' and 'fields': {json.dumps(node)[:200]}"
                )
            yield node
