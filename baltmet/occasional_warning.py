"""A warning of a state that lasts (Redis full, the database or Redis not answering), said at
most once a minute per process rather than on every request or check while it lasts."""

import time

INTERVAL_SECONDS = 60


class OccasionalWarning:
    def __init__(self, logger, seconds=INTERVAL_SECONDS):
        self._logger = logger
        self._seconds = seconds
        self._said_at = None  # time.monotonic()

    def __call__(self, message, *args):
        """Log `message % args` as a warning, unless this one said something less than its
        interval ago. Two threads may both say it at once; nothing worse."""
        now = time.monotonic()
        if self._said_at is not None and now - self._said_at < self._seconds:
            return
        self._said_at = now
        self._logger.warning(message, *args)

    def forget(self):
        """The next call is said, whenever the last was."""
        self._said_at = None
