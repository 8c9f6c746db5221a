"""Imported once by the forkserver that starts the poll's worker processes (Tracker.process_pool).

dateparser loads the data of every language the first time a string defeats them all
(about a second and a half); done here, each worker forked from the server starts with
it loaded instead of paying it again at its first odd feed date. Results do not change:
the same call with the same settings, only earlier.
"""

from __future__ import annotations

import tracker.poll  # noqa: F401  (the workers' entry point, prepare_document)
from tracker.parse import warm_up

warm_up()
