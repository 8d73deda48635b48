import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
# Web requests, unlike manage.py commands, get a limit on each statement (baltmet.settings).
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "20000")
application = get_wsgi_application()

# What loading the site made (modules, models, settings: ~80 000 objects) lives as long as the
# process. Frozen, the collector stops walking it in every full collection, which stalled a
# worker for 10-50 ms every few hundred requests: the slowest 1% of requests under load.
gc.collect()
gc.freeze()
