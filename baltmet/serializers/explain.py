from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.base import DeserializationError, DeserializedObject

from baltmet.fixture_validation import describe

# Fields that name an object in a hand-written fixture, in order of preference.
_KEY_FIELDS = ("slug", "code", "username", "name")


def _object_name(node):
    fields = node.get("fields") if isinstance(node, dict) else None
    model = node.get("model", "?") if isinstance(node, dict) else "?"
    if isinstance(fields, dict):
        for key in _KEY_FIELDS:
            if fields.get(key):
                return f'{model} "{fields[key]}"'
    if isinstance(node, dict) and "pk" in node:
        return f"{model} (pk={node['pk']})"
    return model


def _failing_field(model, node):
    """The first field of `node` whose value does not convert, if one is to blame."""
    for name, value in (node.get("fields") or {}).items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return name
        if field.is_relation:
            continue
        try:
            field.to_python(value)
        except Exception:
            return name
    return None


class ExplainedDeserializedObject(DeserializedObject):
    def save_deferred_fields(self, using=None):
        try:
            super().save_deferred_fields(using=using)
        except DeserializationError as exc:
            fields = ", ".join(repr(field.name) for field in self.deferred_fields)
            raise DeserializationError(
                f"{describe(self.object)}: field {fields} refers to an object that does not exist: {exc}"
            ) from exc


class ExplainingDeserializerMixin:
    def _handle_object(self, obj):
        try:
            objects = list(super()._handle_object(obj))
        except Exception as exc:  # DeserializationError, and what the JSON/YAML layer raises
            raise DeserializationError(self._explain(obj, exc)) from exc
        for deserialized in objects:
            yield ExplainedDeserializedObject(
                deserialized.object, deserialized.m2m_data, deserialized.deferred_fields
            )

    def _explain(self, node, exc):
        if not isinstance(node, dict) or not isinstance(node.get("fields", {}), dict):
            return f"an entry is not an object with 'model' and 'fields': {node!r:.200}"
        name = _object_name(node)
        try:
            model = self._get_model_from_node(node.get("model"))
        except DeserializationError:
            return f"{name}: unknown model {node.get('model')!r}"
        field = _failing_field(model, node)
        where = f", field {field!r}" if field else ""
        return f"{name}{where}: {exc}"
