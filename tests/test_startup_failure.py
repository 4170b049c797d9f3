"""A startup handler that raises stops `app.run()` with a clear message and a non-zero exit."""

import subprocess
import sys
import textwrap


def test_failing_startup_exits_non_zero_with_a_clear_message():
    script = textwrap.dedent(
        """
        from turboapi import TurboAPI
        app = TurboAPI()

        @app.on_event("startup")
        def boom():
            raise RuntimeError("database unreachable")

        app.run(host="127.0.0.1", port=0)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Application startup failed" in done.stderr
    assert "database unreachable" in done.stderr
    assert "running on" not in done.stderr
