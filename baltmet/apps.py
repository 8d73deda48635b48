from django.apps import AppConfig
from django.utils import autoreload


class BaltmetConfig(AppConfig):
    name = "baltmet"
    verbose_name = "BaltMet Inno site"

    def ready(self):
        # Connect the pre_save receivers: sanitising first, then validating what fixtures bring.
        from baltmet import sanitize  # noqa: F401,I001
        from baltmet import fixture_validation  # noqa: F401
        from baltmet import content_version, release, renditions
        from baltmet import release_since  # noqa: F401  (notes when this process started)

        content_version.connect_signals()
        renditions.connect_signals()
        release.current()  # from the files this process starts with (see baltmet.release)
        autoreload.file_changed.connect(release.anew_on_a_file_changed, dispatch_uid="release_anew_on_a_file_changed")
