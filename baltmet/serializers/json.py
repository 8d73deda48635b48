from django.core.serializers.json import Deserializer as DjangoDeserializer
from django.core.serializers.json import Serializer  # noqa: F401  (unchanged)

from baltmet.serializers.explain import ExplainingDeserializerMixin


class Deserializer(ExplainingDeserializerMixin, DjangoDeserializer):
    pass
