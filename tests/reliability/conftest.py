"""tests/reliability: the server under hostile and faulty conditions (issue 7). The helpers of
tests/ (serverutil, the apps) are shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
