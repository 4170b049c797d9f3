"""``turboapi run module:app`` and ``turboapi dev module:app``.

Settings come, lowest first, from the defaults, ``[tool.turboapi]`` in ./pyproject.toml, the
``TURBOAPI_*`` environment variables, then the flags. With ``--workers N`` (N > 1) or ``dev``, a
supervisor (``turboapi.workers``) runs the app in child processes; otherwise it runs here.
A module or attribute that cannot be loaded (``apploading``) is a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .apploading import UsageError, load_app
from .workers import Supervisor

EXIT_USAGE = 2

#: Flags that are server settings: (flag, setting name, type, help).
SETTING_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--shards", "shards", int, "loop shards (threads with their own event loop) for async handlers"),
    ("--event-loop", "event_loop", str, "uvloop (default) or asyncio"),
    ("--json", "json", str, "orjson (the default where installed) or stdlib"),
    ("--max-concurrent", "max_concurrent", str, "async handlers in flight per shard; 'none' turns the gate off"),
    ("--batch-size", "batch_size", int, "requests a shard starts per wake-up"),
    (
        "--forwarded-allow-ips",
        "forwarded_allow_ips",
        str,
        "proxies trusted for --proxy-headers: addresses or networks, comma-separated, or '*' (default 127.0.0.1)",
    ),
    (
        "--root-path",
        "root_path",
        str,
        "the path prefix the proxy in front strips (e.g. /api): scope['root_path'], the OpenAPI servers and the docs",
    ),
    ("--keep-alive-timeout", "keep_alive_timeout", float, "seconds an idle keep-alive connection stays open (5)"),
    (
        "--half-close-timeout",
        "half_close_timeout",
        float,
        "seconds of silence a client that shut its sending side still waits for its answer (5; 0: off)",
    ),
    ("--request-timeout", "request_timeout", str, "seconds a handler has to answer before a 504 (default: none)"),
    ("--max-connections", "max_connections", str, "connections open at once (default, or none: the open-file limit)"),
    (
        "--ws-max-size",
        "ws_max_size",
        int,
        "largest WebSocket message in bytes (default 16 MiB); bigger closes with 1009",
    ),
    (
        "--ws-ping-interval",
        "ws_ping_interval",
        str,
        "seconds between WebSocket keepalive pings (default 20; none: off)",
    ),
    ("--ssl-certfile", "ssl_certfile", str, "serve HTTPS with this certificate chain (PEM); re-read on SIGHUP"),
    ("--ssl-keyfile", "ssl_keyfile", str, "the certificate's private key (PEM: PKCS#8, RSA or EC)"),
    ("--ssl-keyfile-password", "ssl_keyfile_password", str, "the password of an encrypted --ssl-keyfile"),
    ("--ssl-ca-certs", "ssl_ca_certs", str, "CA certificates (PEM) that client certificates are checked against"),
    ("--ssl-cert-reqs", "ssl_cert_reqs", int, "client certificates: 0 not asked (default), 1 optional, 2 required"),
    (
        "--ws-ping-timeout",
        "ws_ping_timeout",
        str,
        "seconds a silent WebSocket peer is given past the ping (default 20)",
    ),
]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="turboapi",
        description="Serve a FastAPI-compatible app (module:attribute) from turboapi's Rust core.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="{run,dev}")
    for name, help_text in (
        ("run", "serve the app (production: --workers N for N processes)"),
        ("dev", "serve on 127.0.0.1 and restart when a .py file under the current directory changes"),
    ):
        cmd = commands.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("app", help="the app to serve, as module.path:attribute (e.g. main:app)")
        cmd.add_argument("--host", default=None, help="address to bind (run: 0.0.0.0... default 127.0.0.1)")
        cmd.add_argument("--port", type=int, default=None, help="port to bind (default 8000; 0 picks one)")
        cmd.add_argument("--workers", type=int, default=None, help="worker processes sharing the port (default 1)")
        for flag, dest, kind, help_flag in SETTING_FLAGS:
            cmd.add_argument(flag, dest=dest, type=kind, default=None, help=help_flag)
        cmd.add_argument("--log-level", default=None, help="critical, error, warning, info (default) or debug")
        cmd.add_argument(
            "--proxy-headers",
            dest="proxy_headers",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="take the client address and scheme from X-Forwarded-* sent by a trusted proxy",
        )
        cmd.add_argument(
            "--fastapi-alias",
            dest="fastapi_alias",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="`import fastapi` in the app and its libraries gives turboapi (default: on; TURBOAPI_FASTAPI_ALIAS)",
        )
        cmd.add_argument(
            "--access-log",
            dest="access_log",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="a line per request, as uvicorn writes it (default: off for run, on for dev)",
        )
    return top


def pyproject_settings(directory: str) -> dict[str, Any]:
    """``[tool.turboapi]`` of ``directory``/pyproject.toml, with dashes as underscores."""
    path = os.path.join(directory, "pyproject.toml")
    if not os.path.exists(path):
        return {}
    import tomllib

    try:
        with open(path, "rb") as f:
            table = tomllib.load(f).get("tool", {}).get("turboapi", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if not isinstance(table, dict):
        raise UsageError(f"[tool.turboapi] in {path} must be a table")
    return {key.replace("-", "_"): value for key, value in table.items()}


def resolve(args: argparse.Namespace, cwd: str) -> tuple[str, int, int, dict[str, Any], str | None, Any]:
    """(host, port, workers, server settings as given, log level, the resolved Settings) from
    pyproject, environment and flags."""
    config = pyproject_settings(cwd)
    env = os.environ

    def first(flag: Any, name: str, default: Any) -> Any:
        """The flag, else TURBOAPI_<NAME>, else pyproject's value, else the default (popped from
        the pyproject settings either way: these are not server settings)."""
        from_file = config.pop(name, None)
        for value in (flag, env.get(f"TURBOAPI_{name.upper()}"), from_file):
            if value is not None and value != "":
                return value
        return default

    def whole_number(name: str, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UsageError(f"{name} must be a whole number, not {value!r}") from None

    alias = config.pop("fastapi_alias", None)
    if alias is not None and args.fastapi_alias is None and "TURBOAPI_FASTAPI_ALIAS" not in env:
        os.environ["TURBOAPI_FASTAPI_ALIAS"] = "1" if alias in (True, 1, "1", "true", "yes", "on") else "0"
    host = first(args.host, "host", "127.0.0.1")
    port = whole_number("port", first(args.port, "port", 8000))
    workers = whole_number("workers", first(args.workers, "workers", 1))
    log_level = first(args.log_level, "log_level", None)
    if args.command == "dev":
        host = "127.0.0.1"
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    from dataclasses import fields

    from .serving import Settings
    from .serving import _parse as parse_setting

    # The declared types of the settings: `int | None` ones also take `none` on the command line.
    setting_types = {f.name: str(f.type) for f in fields(Settings)}
    # pyproject values sit under the environment: drop the ones the environment sets.
    settings = {k: v for k, v in config.items() if f"TURBOAPI_{k.upper()}" not in env}
    if args.proxy_headers is not None:
        settings["proxy_headers"] = args.proxy_headers
    if args.access_log is not None:
        settings["access_log"] = args.access_log
    elif args.command == "dev" and "TURBOAPI_ACCESS_LOG" not in env and "access_log" not in settings:
        settings["access_log"] = True
    for flag, dest, _, _ in SETTING_FLAGS:
        value = getattr(args, dest)
        if value is None:
            continue
        if isinstance(value, str) and setting_types[dest] in ("int | None", "float | None"):
            # A number, or `none`: read as the environment variable would be.
            try:
                value = parse_setting(dest, setting_types[dest], value, source=flag)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        settings[dest] = value
    try:
        resolved = Settings.resolve(settings, env=env)  # refuse bad values here, before any process starts
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    return host, port, workers, settings, log_level, resolved


def set_log_level(level: str | None) -> None:
    import logging

    if level is None:
        return
    value = getattr(logging, level.upper(), None)
    if not isinstance(value, int):
        raise UsageError(f"--log-level must be critical, error, warning, info or debug, not {level!r}")
    logging.basicConfig(level=value, format="%(levelname)s:     %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.fastapi_alias is not None:
        # Through the environment, so that worker processes (and a dev reload) do the same.
        os.environ["TURBOAPI_FASTAPI_ALIAS"] = "1" if args.fastapi_alias else "0"
    try:
        host, port, workers, settings, log_level, resolved = resolve(args, os.getcwd())
        set_log_level(log_level)
        if args.command == "dev" or workers > 1:
            return Supervisor(
                args.app,
                host,
                port,
                workers,
                settings,
                reload=args.command == "dev",
                log_level=log_level,
                graceful_timeout=resolved.graceful_timeout,
            ).run()
        app = load_app(args.app)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.run(host=host, port=port, **settings)
    return 0


def worker_main(argv: Sequence[str]) -> int:
    """A worker process started by the supervisor: ``module:app host port settings-json``."""
    import json

    reference, host, port, raw_settings, log_level = argv
    try:
        set_log_level(log_level or None)
        app = load_app(reference)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.run(host=host, port=int(port), reuse_port=True, **json.loads(raw_settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
