import gc
import os

from django.core.wsgi import get_wsgi_application

from baltmet.env import use_the_web_statement_timeout
from baltmet.head_requests import without_body_on_head

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
use_the_web_statement_timeout()
application = without_body_on_head(get_wsgi_application())

# Recorded as the process starts, not at its first request.
from baltmet import release_since  # noqa: E402  (once the application is loaded)

release_since.record_as_the_process_starts()

# What loading the site made (modules, models, settings: ~80 000 objects) lives as long as the
# process. Frozen, the collector stops walking it in every full collection, which stalled a
# worker for 10-50 ms every few hundred requests: the slowest 1% of requests under load.
gc.collect()
gc.freeze()
