"""The supervisor behind ``turboapi run --workers N`` and ``turboapi dev``.

Workers are child processes that each serve the app on the same port (SO_REUSEPORT: the kernel
spreads connections between them). A worker that dies is replaced; SIGTERM or SIGINT is passed
on, each worker drains its requests, and the supervisor exits 0 once all have stopped. In dev
mode one worker runs and is restarted when a .py file under the current directory changes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from .apploading import load_app

POLL = 0.2
#: A worker that dies this soon after starting is failing to start: stop rather than loop.
EARLY_DEATH = 1.0
MAX_EARLY_DEATHS = 5


def log(message: str) -> None:
    print(f"INFO:     {message}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(
        self,
        reference: str,
        host: str,
        port: int,
        workers: int,
        settings: dict[str, Any],
        *,
        reload: bool = False,
        log_level: str | None = None,
        graceful_timeout: float = 10.0,
    ) -> None:
        self.reference = reference
        self.host = host
        self.port = port
        self.count = 1 if reload else workers
        self.settings = settings
        self.reload = reload
        self.log_level = log_level or ""
        #: How long workers get to drain after a SIGTERM (the workers' own setting).
        self.graceful_timeout = graceful_timeout
        self.stopping = False
        self.children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self.early_deaths = 0
        self._reserved: socket.socket | None = None

    # -- processes ---------------------------------------------------------------------------
    def spawn(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "turboapi._worker",
            self.reference,
            self.host,
            str(self.port),
            json.dumps(self.settings),
            self.log_level,
        ]
        proc = subprocess.Popen(cmd)
        self.children[proc.pid] = (proc, time.monotonic())

    def reserve_port(self) -> None:
        """Port 0: take a free port once, so that every worker listens on the same one."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._reserved = sock  # bound, never listening: it takes no connections

    def stop_children(self, sig: int = signal.SIGTERM) -> None:
        for proc, _ in self.children.values():
            if proc.poll() is None:
                proc.send_signal(sig)

    def wait_children(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for proc, _ in list(self.children.values()):
            remaining = max(0.0, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.children.clear()

    # -- reload ------------------------------------------------------------------------------
    @staticmethod
    def snapshot() -> dict[str, float]:
        mtimes: dict[str, float] = {}
        for root, dirs, files in os.walk(os.getcwd()):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "node_modules", "target")]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    try:
                        mtimes[path] = os.stat(path).st_mtime
                    except OSError:
                        pass
        return mtimes

    # -- main loop ---------------------------------------------------------------------------
    def run(self) -> int:
        load_app(self.reference)  # a bad reference fails here, once, with the one-line error

        def request_stop(signum: int, frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        # SIGHUP goes on to the workers: with TLS each re-reads its certificate; without, each
        # stops as on its own and is replaced (a restart, as uvicorn's supervisor does).
        signal.signal(signal.SIGHUP, lambda signum, frame: self.stop_children(signal.SIGHUP))
        if self.port == 0:
            self.reserve_port()
        mode = "dev mode, reloading on changes" if self.reload else f"{self.count} workers"
        log(f"turboapi supervisor (pid {os.getpid()}): {mode}, port {self.port}")
        for _ in range(self.count):
            self.spawn()
        files = self.snapshot() if self.reload else {}
        while not self.stopping:
            time.sleep(POLL)
            for pid, (proc, started) in list(self.children.items()):
                code = proc.poll()
                if code is None or self.stopping:
                    continue
                del self.children[pid]
                if code == 2 and time.monotonic() - started < EARLY_DEATH:
                    log(f"worker {pid} could not start (exit code 2); stopping")
                    self.stopping = True
                    break
                self.early_deaths = self.early_deaths + 1 if time.monotonic() - started < EARLY_DEATH else 0
                if self.early_deaths >= MAX_EARLY_DEATHS:
                    log(f"workers keep dying at start (last exit code {code}); stopping")
                    self.stopping = True
                    break
                log(f"worker {pid} exited with code {code}; starting a new one")
                self.spawn()
            if self.reload and not self.stopping:
                current = self.snapshot()
                if current != files:
                    files = current
                    log("change detected; restarting the worker")
                    self.stop_children()
                    self.wait_children(self.graceful_timeout + 5)
                    self.spawn()
        log("stopping workers")
        self.stop_children()
        self.wait_children(self.graceful_timeout + 5)
        if self._reserved is not None:
            self._reserved.close()
        log("all workers stopped")
        return 2 if self.early_deaths >= MAX_EARLY_DEATHS else 0
