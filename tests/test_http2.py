"""HTTP/2 on the real server: h2c with prior knowledge, h2 by ALPN over TLS, the app's features
over streams, hostile frames (rapid resets, a SETTINGS flood, oversized headers), GOAWAY on
shutdown, and the ``http2`` switch.

Clients: httpx (``http2=True``), Debian's curl (built with nghttp2), and the ``h2`` library for
frames no polite client sends.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import httpx
import pytest

from serverutil import HOST, served, spawner

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server():
    with served() as proc:
        yield proc


try:
    import trustme
except ImportError:  # it needs cryptography, which has no free-threaded 3.13 build (scripts/requirements.py)
    trustme = None


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    if trustme is None:
        pytest.skip("trustme is not installed (no free-threaded 3.13 build): the TLS cases need it")
    return trustme.CA()


def h2c_client(**kwargs) -> httpx.Client:
    """HTTP/2 in clear text, with prior knowledge (no HTTP/1.1 upgrade dance)."""
    return httpx.Client(http1=False, http2=True, timeout=10, **kwargs)


def test_h2c_with_prior_knowledge_serves_the_app(server) -> None:
    base = server.base_url
    with h2c_client() as client:
        url = client.get(f"{base}/url?x=1")
        assert url.http_version == "HTTP/2"
        assert url.json() == {"url": f"{base}/url?x=1", "scheme": "http", "scope_scheme": "http", "http_version": "2"}
        item = client.get(f"{base}/items/42", params={"q": "h2", "limit": 3})
        assert item.json() == {"item_id": 42, "q": "h2", "limit": 3, "ratio": 1.0, "flag": False}
        bad = client.get(f"{base}/items/nope")
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["path", "item_id"]
        created = client.post(f"{base}/items", json={"name": "widget", "price": 2.5})
        assert created.status_code == 201 and created.json()["name"] == "widget"
        body = b"y" * 300_000  # over the 64 KiB initial window: flow control must move
        echoed = client.post(f"{base}/inspect/big", content=body, headers={"x-custom-header": "h"})
        assert echoed.json()["body_len"] == len(body)
        assert echoed.json()["header_mixed"] == "h"
        streamed = client.get(f"{base}/stream", params={"n": 4})
        assert streamed.text == "".join(f"chunk {i}\n" for i in range(4))
        assert client.get(f"{base}/nowhere").status_code == 404


def test_many_streams_at_once_on_one_connection(server) -> None:
    async def main() -> list[int]:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=20) as client:
            # 60 requests, each sleeping 0.2 s: on one connection they overlap, not queue.
            started = time.monotonic()
            replies = await asyncio.gather(
                *(
                    client.get(f"{server.base_url}/sleep-async", params={"seconds": 0.2, "tag": str(i)})
                    for i in range(60)
                )
            )
            assert time.monotonic() - started < 5
            assert {r.http_version for r in replies} == {"HTTP/2"}
            return [r.status_code for r in replies]

    assert asyncio.run(main()) == [200] * 60


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_with_http2_prior_knowledge(server) -> None:
    done = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-w", "\n%{http_version}", f"{server.base_url}/url"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    body, version = done.stdout.rsplit("\n", 1)
    assert version == "2", done
    assert '"http_version":"2"' in body


def tls_files(ca: trustme.CA, folder: Path) -> tuple[Path, Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return cert_path, key_path, ca_path


def test_alpn_gives_h2_over_tls_and_http11_to_who_asks_for_it(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key, ca_path = tls_files(ca, tmp_path)
    with spawner() as spawn:
        proc = spawn(ssl_certfile=cert, ssl_keyfile=key)
        url = f"https://{HOST}:{proc.port}/url"
        context = ssl.create_default_context(cafile=str(ca_path))
        with httpx.Client(http2=True, verify=context, timeout=10) as client:
            reply = client.get(url)
            assert reply.http_version == "HTTP/2"
            assert reply.json()["http_version"] == "2" and reply.json()["scheme"] == "https"
        with httpx.Client(verify=context, timeout=10) as client:
            reply = client.get(url)
            assert reply.http_version == "HTTP/1.1" and reply.json()["http_version"] == "1.1"
        if shutil.which("curl"):
            done = subprocess.run(
                ["curl", "-s", "--http2", "--cacert", str(ca_path), "-w", "\n%{http_version}", url],
                capture_output=True,
                text=True,
                timeout=20,
            )
            assert done.stdout.rsplit("\n", 1)[1] == "2", done


def test_http2_off_serves_http11_only(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key, ca_path = tls_files(ca, tmp_path)
    with spawner() as spawn:
        plain = spawn(http2="false")
        with pytest.raises(httpx.HTTPError), h2c_client() as client:
            client.get(f"{plain.base_url}/url")
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{plain.base_url}/url").json()["http_version"] == "1.1"
        secure = spawn(http2="false", ssl_certfile=cert, ssl_keyfile=key)
        context = ssl.create_default_context(cafile=str(ca_path))
        with httpx.Client(http2=True, verify=context, timeout=10) as client:
            assert client.get(f"https://{HOST}:{secure.port}/url").http_version == "HTTP/1.1"


# -- hostile input -----------------------------------------------------------------------------
class RawH2:
    """An HTTP/2 client speaking frames through the ``h2`` library on a plain socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the server has closed on us: what the hostile tests look for next

    def request_headers(self, path: str, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
        return [(":method", "GET"), (":scheme", "http"), (":authority", f"{HOST}"), (":path", path), *(extra or [])]

    def events_until(self, done, timeout: float = 10.0) -> list[h2.events.Event]:
        """Read until ``done(events)`` or the connection ends; every event seen."""
        seen: list[h2.events.Event] = []
        deadline = time.monotonic() + timeout
        while not done(seen):
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            try:
                seen += self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                break
            self.flush()
            if time.monotonic() > deadline:
                break
        return seen

    def post(self, path: str, body: bytes) -> tuple[dict, list[h2.events.Event]]:
        """POST ``body`` as fast as the server's windows allow; the JSON answer, and every event."""
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":authority", HOST), (":path", path)]
        self.conn.send_headers(stream_id, [*headers, ("content-length", str(len(body)))])
        seen: list[h2.events.Event] = []
        sent = 0
        while sent < len(body):
            room = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if room > 0:
                self.conn.send_data(stream_id, body[sent : sent + room], end_stream=sent + room >= len(body))
                sent += room
                self.flush()
            else:  # wait for the server to open its window
                new = self.events_until(lambda new: len(new) > 0, timeout=5)
                assert new, f"the server left the window shut after {sent} bytes"
                seen += new
        seen += self.events_until(lambda new: any(isinstance(e, h2.events.StreamEnded) for e in new))
        answer = b"".join(e.data for e in seen if isinstance(e, h2.events.DataReceived))
        return json.loads(answer), seen

    def close(self) -> None:
        self.sock.close()


def still_serves(server) -> None:
    with h2c_client() as client:
        assert client.get(f"{server.base_url}/url").status_code == 200
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{server.base_url}/url").status_code == 200
    assert server.proc.poll() is None


def test_a_bare_preface_gets_the_servers_settings(server) -> None:
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        first = sock.recv(9)
    assert len(first) == 9 and first[3] == 4, first  # a SETTINGS frame, not an HTTP/1.1 answer
    still_serves(server)


def test_a_burst_of_stream_resets_ends_the_connection_and_nothing_else(server) -> None:
    raw = RawH2(server.port)
    try:
        for _ in range(500):  # CVE-2023-44487's pattern: open, reset, open, reset...
            stream_id = raw.conn.get_next_available_stream_id()
            raw.conn.send_headers(stream_id, raw.request_headers("/sleep-async?seconds=1"), end_stream=True)
            raw.conn.reset_stream(stream_id)
        raw.flush()
        events = raw.events_until(lambda seen: any(isinstance(e, h2.events.ConnectionTerminated) for e in seen))
    finally:
        raw.close()
    terminated = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert terminated, "the server must end a connection that floods resets (GOAWAY)"
    still_serves(server)


def test_a_settings_flood_is_refused_or_answered_and_serving_goes_on(server) -> None:
    raw = RawH2(server.port)
    try:
        for _ in range(20_000):
            raw.conn.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 4096})
        raw.flush()
        raw.events_until(lambda seen: any(isinstance(e, h2.events.ConnectionTerminated) for e in seen), timeout=3)
    finally:
        raw.close()
    still_serves(server)


def test_oversized_headers_are_refused_on_their_stream_and_serving_goes_on(server) -> None:
    raw = RawH2(server.port)
    huge = [("x-huge", "z" * 16_000) for _ in range(6)]  # 96 KB of headers, over the 64 KiB bound
    stream_id = raw.conn.get_next_available_stream_id()
    raw.conn.send_headers(stream_id, raw.request_headers("/url", huge), end_stream=True)
    raw.flush()
    events = raw.events_until(
        lambda seen: any(
            isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated, h2.events.StreamEnded)) for e in seen
        )
    )
    statuses = [dict(e.headers).get(":status") for e in events if isinstance(e, h2.events.ResponseReceived)]
    refused = any(isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)) for e in events)
    assert refused or statuses == ["431"], events
    raw.close()
    still_serves(server)


# -- flow control ------------------------------------------------------------------------------
def announced_windows(raw: RawH2) -> tuple[int, int]:
    """The stream window the server's SETTINGS announce, and its connection window (grown from
    HTTP/2's initial one by a WINDOW_UPDATE, when it is larger)."""

    def both(seen: list[h2.events.Event]) -> bool:
        settings = any(isinstance(e, h2.events.RemoteSettingsChanged) for e in seen)
        return settings and any(isinstance(e, h2.events.WindowUpdated) and e.stream_id == 0 for e in seen)

    events = raw.events_until(both, timeout=1.5)
    stream = raw.conn.remote_settings.initial_window_size
    grown = sum(e.delta for e in events if isinstance(e, h2.events.WindowUpdated) and e.stream_id == 0)
    return stream, 65_535 + grown


def test_fixed_windows_are_announced_and_a_body_that_fits_goes_in_one_go() -> None:
    with spawner() as spawn:
        server = spawn(http2_adaptive_window="false", http2_stream_window=300_000, http2_connection_window=2_000_000)
        raw = RawH2(server.port)
        try:
            assert announced_windows(raw) == (300_000, 2_000_000)
            body = b"w" * 290_000  # within the stream window: no WINDOW_UPDATE needed to send it
            answer, events = raw.post("/upload", body)
            assert answer["size"] == len(body)
            assert not any(isinstance(e, h2.events.PingReceived) for e in events), "no BDP probes when fixed"
        finally:
            raw.close()


def test_the_adaptive_window_starts_at_http2s_initial_and_probes_the_path(server) -> None:
    raw = RawH2(server.port)
    try:
        assert announced_windows(raw)[0] == 65_535
        body = b"a" * 1_000_000  # 15 windows of 64 KiB: the server must keep reopening them
        answer, events = raw.post("/upload", body)
        assert answer["size"] == len(body)
        # hyper measures the bandwidth-delay product with PINGs while data arrives.
        assert any(isinstance(e, h2.events.PingReceived) for e in events)
    finally:
        raw.close()
    still_serves(server)


def frame_types_until_goaway(sock: socket.socket, timeout: float) -> list[int]:
    """The types of the HTTP/2 frames the server sends, up to its GOAWAY (type 7) or its close."""
    data, types, at = b"", [], 0
    sock.settimeout(timeout)
    while 7 not in types:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        while at + 9 <= len(data):
            types.append(data[at + 3])
            at += 9 + int.from_bytes(data[at : at + 3], "big")
    return types


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_shutdown_sends_goaway_and_finishes_the_streams_in_flight() -> None:
    with spawner() as spawn:
        proc = spawn()
        # An idle HTTP/2 connection: it must be told to go.
        idle = socket.create_connection((HOST, proc.port), timeout=10)
        idle.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        # A stream in flight (curl: httpx's h2 refuses the PING that follows a graceful GOAWAY).
        slow = subprocess.Popen(
            [
                "curl",
                "-s",
                "--http2-prior-knowledge",
                "-w",
                "\n%{http_code} %{http_version}",
                f"{proc.base_url}/sleep-async?seconds=1.0",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)  # the slow request is in flight
        proc.send_signal(signal.SIGTERM)
        types = frame_types_until_goaway(idle, timeout=10)
        idle.close()
        out, _ = slow.communicate(timeout=15)
        assert out.rsplit("\n", 1)[1] == "200 2", out
        assert 7 in types, types  # GOAWAY
        assert proc.wait_exit(15) == 0
