"""Run project code in a child process with its own environment (settings load once per process)."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def run_python(code, env, timeout=60):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=child_env, capture_output=True, text=True, timeout=timeout
    )


def run_manage(args, env, timeout=120):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=child_env, capture_output=True, text=True, timeout=timeout
    )


def child_database_url():
    """A DATABASE_URL for the database this test session uses, for child processes."""
    from django.db import connection

    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
