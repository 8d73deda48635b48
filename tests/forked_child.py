"""Running a check in a child forked from the test's process, as a server forking its workers
does (gunicorn), for what a module must do at a fork (os.register_at_fork)."""

import os
import signal


def in_a_forked_child(check):
    """Runs `check()` in a child forked from this process: whether it returned True within 5 s."""
    pid = os.fork()
    if pid == 0:  # the child: leaves without any of the parent's clean-up
        signal.alarm(5)
        try:
            os._exit(0 if check() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0
