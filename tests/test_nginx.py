"""nginx (Debian's package) in front of two ``turboapi run`` instances: a real proxy deployment.

Everything runs on 127.0.0.1. nginx runs in the foreground with a config written to tmp_path
(logs, pid and temp directories there too, nothing from /etc/nginx), balances round robin over
keep-alive connections to both instances, and connects to them from 127.0.0.2 (``proxy_bind``).
The instances run ``--proxy-headers --forwarded-allow-ips 127.0.0.2``: nginx is the only trusted
peer, and a client reaching an instance directly from 127.0.0.1 is not.

The checks: load reaches both processes over reused upstream connections; the client address,
scheme and host the app sees are the ones nginx set; X-Forwarded-* from anyone but nginx is
ignored (and nginx overwrites what a client sends); ``--root-path`` behind a stripped prefix; and
SIGTERM drains requests in flight behind nginx, after which every process has exited.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from test_cli import Cli

TIMEOUT = 10.0  # every request and every wait is bounded by this (or less)
PROXY_IP = "127.0.0.2"  # nginx connects to the upstreams from here (proxy_bind)
INSTALL_HINT = (
    "nginx not found (looked in PATH and /usr/sbin): install Debian's nginx package "
    "(apt-get install -y nginx); this test runs the real binary and is not skipped without it"
)

APP = """
import os, sys, time
from turboapi import FastAPI, Request

app = FastAPI()

@app.get("/whoami")
def whoami(request: Request):
    return {
        "pid": os.getpid(),
        "client": request.client.host,
        "client_port": request.client.port,
        "scheme": request.url.scheme,
        "host": request.headers.get("host"),
        "root_path": request.scope["root_path"],
        "path": request.url.path,
        "x_forwarded_for": request.headers.get("x-forwarded-for"),
    }

@app.get("/slow")
def slow():
    print("MARKER slow", file=sys.stderr, flush=True)
    time.sleep(1.0)
    return {"pid": os.getpid()}
"""


# -- nginx ------------------------------------------------------------------------------------
def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def nginx_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=TIMEOUT)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out.stderr + out.stdout)
    assert match, f"cannot read the version of {binary}: {out.stderr!r}"
    return tuple(int(part) for part in match.groups())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def location(path: str, upstream: str, proto: str, forwarded_for: str) -> str:
    # proxy_set_header in a location replaces every inherited one: each location sets all of them.
    return f"""
        location {path} {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For {forwarded_for};
            proxy_set_header X-Forwarded-Proto {proto};
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header Connection "";
        }}"""


def server_block(port: int, proto: str) -> str:
    return f"""
    server {{
        listen 127.0.0.1:{port};
        {location("/", "http://turboapi", proto, "$remote_addr")}
        {location("/api/", "http://turboapi/", proto, "$remote_addr")}
        {location("/append/", "http://turboapi/", proto, "$proxy_add_x_forwarded_for")}
        {location("/no-xff/", "http://turboapi/", proto, '""')}
    }}"""


def nginx_conf(prefix: Path, port: int, tls_port: int, upstreams: list[int]) -> str:
    """Two servers: ``port`` passes $scheme (http); ``tls_port`` stands for a server block that
    terminates TLS and says X-Forwarded-Proto: https. Locations: ``/`` as is, ``/api/`` with the
    prefix stripped, ``/append/`` appending to the client's X-Forwarded-For, ``/no-xff/`` without
    X-Forwarded-For (the app then sees nginx's own connection)."""
    user = ""
    if os.geteuid() == 0:  # as root, workers would switch to "nobody", who cannot enter tmp_path
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    return f"""
{user}
worker_processes 1;
pid "{prefix}/nginx.pid";
error_log "{prefix}/error.log" notice;
events {{
    worker_connections 256;
}}
http {{
    access_log "{prefix}/access.log";
    client_body_temp_path "{prefix}/client_body";
    proxy_temp_path "{prefix}/proxy";
    fastcgi_temp_path "{prefix}/fastcgi";
    uwsgi_temp_path "{prefix}/uwsgi";
    scgi_temp_path "{prefix}/scgi";

    upstream turboapi {{
{servers}
        keepalive 16;
    }}
    proxy_http_version 1.1;
    proxy_bind {PROXY_IP};
    proxy_connect_timeout 2s;
    proxy_send_timeout 10s;
    proxy_read_timeout 10s;
{server_block(port, "$scheme")}
{server_block(tls_port, "https")}
}}
"""


class Nginx:
    """nginx in the foreground (``daemon off``) in a session of its own, so that ``kill()`` also
    ends its worker processes."""

    def __init__(self, prefix: Path, upstreams: list[int]) -> None:
        binary = nginx_binary()
        prefix.mkdir(exist_ok=True)
        self.prefix = prefix
        self.port, self.tls_port = free_port(), free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_conf(prefix, self.port, self.tls_port, upstreams))
        cmd = [binary, "-c", str(conf), "-p", f"{prefix}/", "-g", "daemon off;"]
        if nginx_version(binary) >= (1, 19, 5):
            cmd += ["-e", str(prefix / "error.log")]  # the start-up log too: not /var/log/nginx
        with open(prefix / "stderr.log", "wb") as stderr:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
            )

    def logs(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            parts.append(f"--- nginx {name} ---\n{text}")
        return "\n".join(parts)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        pending = [self.port, self.tls_port]
        # The pid file is written once nginx has bound its ports; then both must accept.
        while pending or not (self.prefix / "nginx.pid").exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with code {self.proc.returncode}\n{self.logs()}")
            try:
                if pending:
                    with socket.create_connection(("127.0.0.1", pending[0]), timeout=1.0):
                        pending.pop(0)
                if not (self.prefix / "nginx.pid").exists():
                    raise OSError("no pid file yet")
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"nginx does not listen on {pending} after {TIMEOUT} s\n{self.logs()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> int:
        """SIGQUIT (graceful shutdown): the exit code; killed if it does not end in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the master and its workers
            self.proc.wait(timeout=TIMEOUT)

    def group_is_gone(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return True
        return False


# -- the deployment ---------------------------------------------------------------------------
class Deployment:
    def __init__(self, root: Path, *turboapi_args: str) -> None:
        self.root = root
        self.turboapi_args = turboapi_args
        self.instances: list[Cli] = []
        self.nginx: Nginx | None = None
        self.ports: list[int] = []

    def start(self) -> None:
        project = self.root / "project"
        project.mkdir(exist_ok=True)
        (project / "deployed.py").write_text(APP)
        for _ in range(2):
            self.instances.append(
                Cli(
                    project,
                    "run",
                    "deployed:app",
                    "--port",
                    "0",
                    "--proxy-headers",
                    "--forwarded-allow-ips",
                    PROXY_IP,
                    *self.turboapi_args,
                )
            )
        self.ports = [c.port for c in self.instances]  # waits for "turboapi running on ..."
        for attempt in range(3):  # free_port() may race with another process: try new ports
            self.nginx = Nginx(self.root / f"nginx{attempt}", self.ports)
            try:
                self.nginx.wait_ready()
                break
            except AssertionError:
                self.nginx.kill()
                if attempt == 2 or "Address already in use" not in self.nginx.logs():
                    raise

    @property
    def url(self) -> str:
        assert self.nginx is not None
        return f"http://127.0.0.1:{self.nginx.port}"

    @property
    def tls_url(self) -> str:
        assert self.nginx is not None
        return f"http://127.0.0.1:{self.nginx.tls_port}"

    def cleanup(self) -> None:
        """Ends every process, whatever state the test left them in."""
        if self.nginx is not None:
            with contextlib.suppress(Exception):
                self.nginx.stop()
            self.nginx.kill()
        for c in self.instances:
            with contextlib.suppress(Exception):
                c.stop()


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(*turboapi_args: str) -> Deployment:
        nginx_binary()  # fails with the install hint before starting anything
        deployment = Deployment(tmp_path, *turboapi_args)
        made.append(deployment)  # cleaned up even when start() fails half-way
        deployment.start()
        return deployment

    yield make
    for deployment in made:
        deployment.cleanup()


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=TIMEOUT, trust_env=False, **kwargs)


def whoami(url: str, **kwargs: Any) -> dict[str, Any]:
    response = get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def output_count(instances: list[Cli], marker: str, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while sum("\n".join(c.lines).count(marker) for c in instances) < count:
        assert time.monotonic() < deadline, f"{marker!r} x{count} not seen: {[c.lines for c in instances]}"
        time.sleep(0.02)


# -- the checks -------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_round_robin_over_keepalive_reaches_both_instances(deploy: Callable[..., Deployment]) -> None:
    d = deploy()
    pids = [c.proc.pid for c in d.instances]
    seen = [whoami(f"{d.url}/whoami")["pid"] for _ in range(40)]  # a new client connection each time
    assert set(seen) == set(pids), (pids, seen)
    assert min(seen.count(pid) for pid in pids) >= 10, seen  # round robin: about 20 each

    # Without X-Forwarded-For the app sees nginx's own connection: from proxy_bind's address, and
    # over few upstream connections (keepalive), not one per request.
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        answers = [client.get(f"{d.url}/no-xff/whoami").json() for _ in range(40)]
    assert {a["client"] for a in answers} == {PROXY_IP}, answers
    connections = {(a["pid"], a["client_port"]) for a in answers}
    assert {pid for pid, _ in connections} == set(pids), connections
    assert len(connections) <= 4, f"nginx did not reuse upstream connections: {sorted(connections)}"


@pytest.mark.timeout(60)
def test_client_scheme_and_host_are_the_ones_nginx_sets(deploy: Callable[..., Deployment]) -> None:
    d = deploy()
    # What a client sends in X-Forwarded-* is replaced by what nginx sets.
    lies = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "6.6.6.6"}
    plain = whoami(f"{d.url}/whoami", headers={"Host": "shop.example.test", **lies})
    assert plain["client"] == "127.0.0.1", plain  # $remote_addr, not nginx's 127.0.0.2
    assert plain["x_forwarded_for"] == "127.0.0.1", plain
    assert plain["scheme"] == "http", plain  # $scheme
    assert plain["host"] == "shop.example.test", plain  # $host
    assert plain["path"] == "/whoami" and plain["root_path"] == "", plain

    lies["X-Forwarded-Proto"] = "http"
    tls = whoami(f"{d.tls_url}/whoami", headers={"Host": "shop.example.test", **lies})
    assert tls["scheme"] == "https", tls  # X-Forwarded-Proto: https from the "TLS" server block
    assert tls["client"] == "127.0.0.1" and tls["host"] == "shop.example.test", tls

    # Host without a port: $host is the name alone.
    assert whoami(f"{d.url}/whoami")["host"] == "127.0.0.1"


@pytest.mark.timeout(60)
def test_forwarded_headers_from_anyone_but_nginx_are_ignored(deploy: Callable[..., Deployment]) -> None:
    d = deploy()
    spoofed = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    for port in d.ports:
        # Directly to an instance from 127.0.0.1, which is not in --forwarded-allow-ips.
        direct = whoami(f"http://127.0.0.1:{port}/whoami", headers=spoofed)
        assert (direct["client"], direct["scheme"]) == ("127.0.0.1", "http"), direct
        assert direct["host"] == f"127.0.0.1:{port}", direct
        # The same headers from the trusted address are believed (so the above is the trust
        # check at work, not proxy headers being off).
        transport = httpx.HTTPTransport(local_address=PROXY_IP)
        with httpx.Client(transport=transport, timeout=TIMEOUT, trust_env=False) as trusted:
            believed = trusted.get(f"http://127.0.0.1:{port}/whoami", headers=spoofed).json()
        assert (believed["client"], believed["scheme"]) == ("6.6.6.6", "https"), believed

    # Through nginx: X-Forwarded-For $remote_addr overwrites the client's value.
    through = whoami(f"{d.url}/whoami", headers={"X-Forwarded-For": "6.6.6.6"})
    assert (through["client"], through["x_forwarded_for"]) == ("127.0.0.1", "127.0.0.1"), through

    # $proxy_add_x_forwarded_for appends the real peer; the client is the nearest hop that is not
    # a trusted proxy, counted from the right (as uvicorn's ProxyHeadersMiddleware does).
    appended = whoami(f"{d.url}/append/whoami", headers={"X-Forwarded-For": "6.6.6.6"})
    assert appended["x_forwarded_for"] == "6.6.6.6, 127.0.0.1", appended
    assert appended["client"] == "127.0.0.1", appended
    # A client posing as having come through the trusted proxy gains nothing either.
    posing = whoami(f"{d.url}/append/whoami", headers={"X-Forwarded-For": f"6.6.6.6, {PROXY_IP}"})
    assert posing["x_forwarded_for"] == f"6.6.6.6, {PROXY_IP}, 127.0.0.1", posing
    assert posing["client"] == "127.0.0.1", posing


@pytest.mark.timeout(90)
def test_sigterm_drains_behind_nginx_and_every_process_exits(deploy: Callable[..., Deployment]) -> None:
    d = deploy()
    assert d.nginx is not None
    first, second = d.instances
    # Requests in flight on both instances when the first one gets SIGTERM: all are answered.
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(get, f"{d.url}/slow") for _ in range(4)]
        output_count(d.instances, "MARKER slow", 4)
        first.proc.send_signal(signal.SIGTERM)
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert first.proc.wait(timeout=TIMEOUT) == 0, first.lines

    # nginx keeps serving from the instance that is left.
    pids = {whoami(f"{d.url}/whoami")["pid"] for _ in range(10)}
    assert pids == {second.proc.pid}, pids

    # Idle keep-alive connections from nginx do not hold the second one up for graceful_timeout.
    started = time.monotonic()
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=TIMEOUT) == 0, second.lines
    assert time.monotonic() - started < 5.0, f"took {time.monotonic() - started:.1f} s: {second.lines}"

    assert d.nginx.stop() == 0, d.nginx.logs()
    assert d.nginx.group_is_gone(), "nginx worker processes are left behind"
    for c in d.instances:
        assert c.proc.poll() == 0 and c.stop() == 0


@pytest.mark.timeout(60)
def test_root_path_behind_a_stripped_prefix(deploy: Callable[..., Deployment]) -> None:
    d = deploy("--root-path", "/api")
    # nginx's location /api/ strips the prefix (proxy_pass http://turboapi/): the app gets
    # /whoami, and --root-path tells it where it is mounted.
    answer = whoami(f"{d.url}/api/whoami")
    assert answer["root_path"] == "/api", answer
    assert answer["path"] == "/api/whoami", answer  # uvicorn puts root_path in front of the path
    document = get(f"{d.url}/api/openapi.json")
    assert document.status_code == 200, document.text
    assert document.json()["servers"] == [{"url": "/api"}], document.json().get("servers")
    docs = get(f"{d.url}/api/docs")
    assert docs.status_code == 200 and '"/api/openapi.json"' in docs.text, docs.text
    # The trailing-slash redirect points back through the prefix, with the scheme nginx reported
    # ($host has no port: what FastAPI on uvicorn answers behind the same nginx).
    for base, scheme in ((d.url, "http"), (d.tls_url, "https")):
        redirect = get(f"{base}/api/whoami/")
        assert redirect.status_code == 307, (redirect.status_code, redirect.text)
        assert redirect.headers["location"] == f"{scheme}://127.0.0.1/api/whoami", redirect.headers
