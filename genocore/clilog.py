"""Logging set-up for command-line entry points (libraries only ever call ``getLogger``)."""
from __future__ import annotations

import logging

SUITE_LOGGERS = ("genocore", "genomodel", "stats", "analyses", "__main__")


def configure(verbosity: int = 0) -> None:
    """Log the suite at INFO (``verbosity`` >= 1: DEBUG) and other libraries at WARNING.

    Third-party packages that log every step (msprime, bed-reader) stay quiet unless asked.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    for name in SUITE_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if verbosity >= 2:
        logging.getLogger().setLevel(logging.DEBUG)
