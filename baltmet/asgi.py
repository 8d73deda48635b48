import os

from django.core.asgi import get_asgi_application

from baltmet.env import use_the_web_statement_timeout

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
# Django keeps a database connection per request context under ASGI, so a persistent one is
# opened anew for each request all the same and lingers until the garbage collector closes it
# (review r25g: 80 requests, 8 sessions left open); Django's docs say to turn them off.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
use_the_web_statement_timeout()
application = get_asgi_application()

# Recorded as the process starts, not at its first request.
from baltmet import release_since  # noqa: E402  (once the application is loaded)

release_since.record_as_the_process_starts()
