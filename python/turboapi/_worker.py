"""Entry point of a worker process started by the supervisor (``turboapi.workers``)."""

import sys

from .cli import worker_main

sys.exit(worker_main(sys.argv[1:]))
