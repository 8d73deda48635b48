from django.core.serializers.pyyaml import Deserializer as DjangoDeserializer
from django.core.serializers.pyyaml import Serializer  # noqa: F401  (unchanged)

from baltmet.serializers.explain import ExplainingDeserializerMixin


class Deserializer(ExplainingDeserializerMixin, DjangoDeserializer):
    pass
