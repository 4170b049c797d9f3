"""Command line shared by the apps under tests/apps: ``--port N`` plus any server setting.

    python tests/apps/basic.py --port 0 --max-body-size 1024 --header-read-timeout 1

Every option except ``--host``/``--port`` is passed to ``app.run()`` as a keyword argument
(dashes become underscores); values that look like numbers are passed as int or float, and
``true``/``false`` as booleans.
"""

from __future__ import annotations

import argparse
from typing import Any


def _value(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def parse(argv: list[str] | None = None) -> tuple[str, int, dict[str, Any], argparse.Namespace]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", default=None, help="app-specific variant")
    args, rest = parser.parse_known_args(argv)
    settings: dict[str, Any] = {}
    if len(rest) % 2:
        parser.error(f"settings come in '--name value' pairs, got {rest!r}")
    for flag, raw in zip(rest[::2], rest[1::2], strict=True):
        if not flag.startswith("--"):
            parser.error(f"expected a --setting, got {flag!r}")
        settings[flag[2:].replace("-", "_")] = _value(raw)
    return args.host, args.port, settings, args


def run(app: Any, argv: list[str] | None = None) -> None:
    host, port, settings, _ = parse(argv)
    app.run(host=host, port=port, **settings)
