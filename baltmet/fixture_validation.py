"""
Fixtures are validated like forms are.

Django's loaddata saves raw rows: no Model.save(), no full_clean(). It does send pre_save with
raw=True inside the transaction it opens, so validating there makes a fixture with one bad
object fail as a whole, through Django's own command.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone

from baltmet.content_version import CONTENT_APPS  # the apps whose objects are content
from baltmet.images import check_image


class InvalidFixtureObject(ValueError):
    """An object in a fixture does not validate.

    A ValueError, so that loaddata adds the model and the fixture file to the message.
    """


def describe(instance):
    """`news.event "some-slug"`: the model and natural key, as a maintainer reads them."""
    label = instance._meta.label_lower
    try:
        key = instance.natural_key()
    except Exception:  # a natural key made of relations not resolved yet
        return f"{label} (pk={instance.pk})"
    return f'{label} "{"/".join(str(part) for part in key)}"'


def _unresolved_relations(instance):
    """Foreign keys still empty: loaddata fills forward references in a second pass, and
    saves the object again then, so they are validated on that save."""
    return [
        field.name
        for field in instance._meta.concrete_fields
        if field.is_relation and getattr(instance, field.attname) is None
    ]


def _file_problems(instance):
    """Files a fixture names must be in MEDIA_ROOT already (a fixture carries names, not
    files), and images must pass the same check as uploads."""
    errors = {}
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.FileField):
            continue
        file = getattr(instance, field.attname)
        if not file.name:
            continue
        if not field.storage.exists(file.name):
            errors[field.name] = [
                f'the file "{file.name}" is not in MEDIA_ROOT; copy the fixture\'s media files there first.'
            ]
        elif isinstance(field, models.ImageField) and (field.name, file.name) not in _images_checked(instance):
            try:
                check_image(file)
            except ValidationError as exc:
                errors[field.name] = exc.messages
            else:
                _images_checked(instance).add((field.name, file.name))
    return errors


def _images_checked(instance):
    """The (field, name) pairs of `instance` whose image passed the check in this load: an
    object with forward references is saved again at the end of loaddata, and the check decodes
    the whole image (a 40-megapixel photo: 160 MB, a second; review r27h)."""
    return instance.__dict__.setdefault("_fixture_images_checked", set())


def _fill_timestamps(instance):
    # Hand-written fixtures may leave out created/updated; auto_now fields do not run on raw saves.
    for field in instance._meta.concrete_fields:
        if (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)) and getattr(
            instance, field.attname
        ) is None:
            setattr(instance, field.attname, timezone.now())


@receiver(pre_save, dispatch_uid="validate_fixture_objects")
def validate_fixture_object(sender, instance, raw=False, **kwargs):
    if not raw or sender._meta.app_label not in CONTENT_APPS:
        return
    _fill_timestamps(instance)
    if instance.pk is not None:
        # The deserialiser found the row by natural key: this save updates it, so uniqueness
        # checks must not count the row against itself.
        instance._state.adding = not sender._default_manager.filter(pk=instance.pk).exists()
    errors = _file_problems(instance)
    try:
        instance.full_clean(exclude=[*_unresolved_relations(instance), *errors])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        details = "; ".join(
            f"{'the object' if field == '__all__' else 'field ' + repr(field)}: {' '.join(messages)}"
            for field, messages in errors.items()
        )
        raise InvalidFixtureObject(f"{describe(instance)} is invalid: {details}")
