import os

from django.core.asgi import get_asgi_application

from baltmet.env import keep_no_database_connections_under_asgi, use_the_web_statement_timeout
from baltmet.head_requests import without_body_on_head_asgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
keep_no_database_connections_under_asgi()
use_the_web_statement_timeout()
application = without_body_on_head_asgi(get_asgi_application())

# Recorded as the process starts, not at its first request.
from baltmet import release_since  # noqa: E402  (once the application is loaded)

release_since.record_as_the_process_starts()
