"""``python -m turboapi run module:app``: the same as the ``turboapi`` command."""

import sys

from .cli import main

sys.exit(main())
