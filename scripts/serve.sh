#!/usr/bin/env bash
# `make serve`: the site as production runs it (gunicorn, DEBUG off, whitenoise static files).
# Without DJANGO_SECRET_KEY, a random key is made once and kept in the git-ignored .secret_key.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    if [ ! -s .secret_key ]; then
        (umask 077 && .venv/bin/python -c 'from django.core.management.utils import get_random_secret_key as k; print(k() + k())' > .secret_key)
    fi
    DJANGO_SECRET_KEY=$(cat .secret_key)
    export DJANGO_SECRET_KEY
fi
export DJANGO_DEBUG=0
# Plain http on a laptop; in real production leave DJANGO_HTTPS unset (on).
export DJANGO_HTTPS="${DJANGO_HTTPS:-0}"
export DJANGO_SERVE_MEDIA="${DJANGO_SERVE_MEDIA:-1}"

.venv/bin/python manage.py collectstatic --noinput -v 0
.venv/bin/python manage.py migrate --noinput
echo "Serving with gunicorn on http://127.0.0.1:${PORT:-8000}/ (DEBUG off)"
# No control socket: gunicorn's default is one path in the user's home for every server, so a
# second server on the machine took it over, and stopping either removed it (review r30b).
exec .venv/bin/gunicorn baltmet.wsgi:application \
    --bind "127.0.0.1:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" \
    --no-control-socket \
    --access-logfile - 
