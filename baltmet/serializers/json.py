import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Deserializer as DjangoDeserializer
from django.core.serializers.json import Serializer as DjangoSerializer

from baltmet.serializers.explain import ExplainingDeserializerMixin


class MicrosecondJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds. Django's writes milliseconds (as
    ECMA-262 dates do): a dump lost the rest, so a timestamp such as `publish_at` or `updated`
    came back from `loaddata` a little earlier, and a dump of the load was not the dump it was
    loaded from."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time) and o.utcoffset() is None:
            return o.isoformat()
        return super().default(o)


class MicrosecondTimesMixin:
    """For Django's JSON and JSON Lines serializers: times written by MicrosecondJSONEncoder."""

    def _init_options(self):
        self.options.setdefault("cls", MicrosecondJSONEncoder)
        super()._init_options()


class Serializer(MicrosecondTimesMixin, DjangoSerializer):
    pass


class Deserializer(ExplainingDeserializerMixin, DjangoDeserializer):
    pass
