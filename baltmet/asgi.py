import os

from django.core.asgi import get_asgi_application
from django.db import connections

from baltmet.env import use_the_web_statement_timeout

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
use_the_web_statement_timeout()
application = get_asgi_application()

# As baltmet.wsgi does.
from baltmet import release_since  # noqa: E402  (once the application is loaded)

release_since.serving_since()
connections.close_all()
