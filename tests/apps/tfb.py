"""bench/tfb_app.py (TechEmpower's test types, ``make bench-db``'s app) on the real server, for
tests/test_tfb_app.py. ``BENCH_DSN`` and ``BENCH_DB_POOL`` come from the environment, as for the bench.

Run: ``BENCH_DSN=postgresql://... python tests/apps/tfb.py --port 0 [--shards N ...]`` (see _runner.py).
"""

import importlib.util
import os
from pathlib import Path

import _runner

os.environ["BENCH_FRAMEWORK"] = "turboapi"
# Loaded by its path: bench/ is not put on sys.path (its run.py, stress.py ... would shadow others).
spec = importlib.util.spec_from_file_location("tfb_app", Path(__file__).resolve().parents[2] / "bench" / "tfb_app.py")
assert spec and spec.loader
tfb_app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tfb_app)
app = tfb_app.app

if __name__ == "__main__":
    _runner.run(app)
