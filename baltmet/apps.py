from django.apps import AppConfig


class BaltmetConfig(AppConfig):
    name = "baltmet"
    verbose_name = "BaltMet Inno site"

    def ready(self):
        from baltmet import sanitize  # noqa: F401  (connects the pre_save sanitiser)
