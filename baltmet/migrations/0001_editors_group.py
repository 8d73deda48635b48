"""
The "Editors" group: staff who write news and events and keep region profiles current.

They may add and change content, publish it (publishing is changing its status) and upload
images in the editor; they cannot manage users, groups or permissions, and cannot delete
regions or metrics, which other content depends on.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Editors"
PERMISSIONS = {
    "news": {
        "article": ("add", "change", "delete", "view"),
        "event": ("add", "change", "delete", "view"),
        "topic": ("add", "change", "delete", "view"),
    },
    "regions": {
        "region": ("add", "change", "view"),
        "metric": ("add", "change", "view"),
        "figure": ("add", "change", "delete", "view"),
        "institution": ("add", "change", "delete", "view"),
        "cluster": ("add", "change", "delete", "view"),
        "organisation": ("add", "change", "view"),
    },
}
EXTRA = [("news", "upload_image")]


def _codenames():
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                yield app_label, f"{action}_{model}"
    yield from EXTRA


def create_editors_group(apps, schema_editor):
    # Permissions are normally made after migrate has finished; this group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in _codenames()
    ]
    group.permissions.set(permissions)


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("news", "0002_article_image_validation_upload_permission"),
        ("regions", "0003_region_image_validation"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
