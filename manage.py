#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baltmet.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
    # A change the command saved but could not announce to the page cache (its database or
    # Redis down for seconds) leaves visitors old pages: an exit status a cron job reports.
    # Only where the command loaded it: `--version` or `help` with broken settings never set
    # Django up, and could not import it.
    content_version = sys.modules.get("baltmet.content_version")
    if content_version is not None and not content_version.settle_before_exit():
        sys.exit(1)


if __name__ == "__main__":
    main()
