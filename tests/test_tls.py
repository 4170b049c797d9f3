"""HTTPS on the real server (rustls in the core): uvicorn's ``ssl_*`` settings, client
certificates, a certificate replaced on SIGHUP, and one-line start-up errors for bad files.

Certificates come from a throwaway CA made by ``trustme``; clients are httpx and Python's ssl.
"""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from serverutil import APPS_DIR, HOST, TESTS_DIR, spawner

# trustme needs cryptography, which has no free-threaded 3.13 build (scripts/requirements.py).
trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def write_pair(ca: trustme.CA, folder: Path, name: str = "server", password: bytes | None = None) -> tuple[Path, Path]:
    """The server certificate (chain) and key files, the key encrypted with ``password`` if given."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key_pem = cert.private_key_pem.bytes()
    if password is not None:
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(key_pem, password=None)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    key_path.write_bytes(key_pem)
    return cert_path, key_path


def write_ca(ca: trustme.CA, folder: Path) -> Path:
    """The CA's certificate, for ``ssl_ca_certs``."""
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def start_failure(tmp_path: Path, **settings: str) -> tuple[int, str]:
    """Exit code and stderr of a server that must refuse to start."""
    cmd = [sys.executable, str(APPS_DIR / "basic.py"), "--port", "0"]
    for name, value in settings.items():
        cmd += [f"--{name.replace('_', '-')}", value]
    done = subprocess.run(cmd, cwd=TESTS_DIR.parent, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stderr


def test_https_serves_the_app_with_its_scheme(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path)
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key)
        base = f"https://{HOST}:{server.port}"
        with httpx.Client(verify=client_context(ca), timeout=5) as client:
            url = client.get(f"{base}/url?x=1")
            assert url.status_code == 200
            assert url.json() == {
                "url": f"{base}/url?x=1",
                "scheme": "https",
                "scope_scheme": "https",
                "http_version": "1.1",
            }
            item = client.get(f"{base}/items/42", params={"q": "tls"})
            assert item.json()["item_id"] == 42 and item.json()["q"] == "tls"
            body = "x" * 200_000  # a body over many TLS records
            echoed = client.post(f"{base}/inspect/big", content=body, headers={"x-custom-header": "1"})
            assert echoed.json()["body_len"] == len(body)
            assert client.get(f"{base}/items/nope").status_code == 422
        assert "running on https://" in server.output


def test_a_websocket_over_tls_is_wss(ca: trustme.CA, tmp_path: Path) -> None:
    import asyncio
    import json

    import websockets

    cert, key = write_pair(ca, tmp_path)

    async def talk(port: int) -> dict:
        async with websockets.connect(f"wss://{HOST}:{port}/ws-url", ssl=client_context(ca)) as ws:
            return json.loads(await ws.recv())

    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key)
        said = asyncio.run(talk(server.port))
    assert said == {"url": f"wss://{HOST}:{server.port}/ws-url", "scope_scheme": "wss"}


def test_plain_http_and_garbage_on_the_tls_port_are_dropped_and_serving_goes_on(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path)
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key)
        for junk in (b"GET /url HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x00\x05hello", b"\x00" * 64):
            with server.connect() as sock:
                sock.sendall(junk)
                try:
                    answer = sock.recv(4096)
                except (TimeoutError, ConnectionResetError):
                    answer = b""
                assert b"HTTP/1.1" not in answer  # nothing in clear text; the handshake failed
        # A client that connects and says nothing is dropped after the head's timeout too.
        with httpx.Client(verify=client_context(ca), timeout=5) as client:
            assert client.get(f"https://{HOST}:{server.port}/url").json()["scheme"] == "https"
        assert server.proc.poll() is None


def test_an_encrypted_key_is_read_with_its_password(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path, password=b"s3cret")
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key, ssl_keyfile_password="s3cret")
        with httpx.Client(verify=client_context(ca), timeout=5) as client:
            assert client.get(f"https://{HOST}:{server.port}/url").status_code == 200


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing certificate", r"ssl_certfile: cannot read '.*nowhere\.pem': No such file or directory"),
        ("missing key", r"ssl_keyfile: cannot read '.*nowhere\.pem': No such file or directory"),
        ("key of another certificate", r"ssl_keyfile does not match ssl_certfile"),
        ("not a certificate", r"ssl_certfile: no certificate found in the file"),
        ("not a key", r"ssl_keyfile: no private key found in the file"),
        ("wrong password", r"ssl_keyfile: cannot decrypt the key with ssl_keyfile_password"),
        ("no password", r"ssl_keyfile is encrypted: give its password \(ssl_keyfile_password\)"),
        ("key without certificate", r"ssl_keyfile is set without ssl_certfile"),
        ("client certificates without CA", r"ssl_cert_reqs asks for client certificates: give ssl_ca_certs"),
    ],
)
def test_a_bad_certificate_or_key_is_a_one_line_start_up_error(
    ca: trustme.CA, tmp_path: Path, case: str, expected: str
) -> None:
    cert, key = write_pair(ca, tmp_path)
    other_cert, other_key = write_pair(ca, tmp_path, name="other")
    _, locked_key = write_pair(ca, tmp_path, name="locked", password=b"right")
    junk = tmp_path / "junk.pem"
    junk.write_text("not PEM at all\n")
    nowhere = str(tmp_path / "nowhere.pem")
    settings = {
        "missing certificate": {"ssl_certfile": nowhere, "ssl_keyfile": str(key)},
        "missing key": {"ssl_certfile": str(cert), "ssl_keyfile": nowhere},
        "key of another certificate": {"ssl_certfile": str(cert), "ssl_keyfile": str(other_key)},
        "not a certificate": {"ssl_certfile": str(junk), "ssl_keyfile": str(key)},
        "not a key": {"ssl_certfile": str(cert), "ssl_keyfile": str(junk)},
        "wrong password": {"ssl_certfile": str(cert), "ssl_keyfile": str(locked_key), "ssl_keyfile_password": "no"},
        "no password": {"ssl_certfile": str(cert), "ssl_keyfile": str(locked_key)},
        "key without certificate": {"ssl_keyfile": str(key)},
        "client certificates without CA": {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "ssl_cert_reqs": "2"},
    }[case]
    code, stderr = start_failure(tmp_path, **settings)
    assert code != 0, stderr
    assert re.search(expected, stderr), stderr
    assert "running on" not in stderr
    if case not in ("key without certificate", "client certificates without CA"):
        # The files' problems: one line. Settings that contradict each other are refused as any
        # bad setting is: ValueError from app.run(), "Error: ..." from the command line.
        assert "Traceback" not in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
    del other_cert


def test_client_certificates_are_required_and_checked(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path)
    ca_file = write_ca(ca, tmp_path)
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key, ssl_ca_certs=ca_file, ssl_cert_reqs=2)
        url = f"https://{HOST}:{server.port}/url"
        anonymous = client_context(ca)
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=anonymous, timeout=5) as client:
            client.get(url)
        stranger = client_context(ca)
        trustme.CA().issue_cert("client@example.com").configure_cert(stranger)  # from another CA
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=stranger, timeout=5) as client:
            client.get(url)
        known = client_context(ca)
        ca.issue_cert("client@example.com").configure_cert(known)
        with httpx.Client(verify=known, timeout=5) as client:
            assert client.get(url).json()["scheme"] == "https"


def test_optional_client_certificates_admit_anonymous_clients(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path)
    ca_file = write_ca(ca, tmp_path)
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key, ssl_ca_certs=ca_file, ssl_cert_reqs=1)
        with httpx.Client(verify=client_context(ca), timeout=5) as client:
            assert client.get(f"https://{HOST}:{server.port}/url").status_code == 200


def test_sighup_replaces_the_certificate_and_a_bad_one_is_refused(ca: trustme.CA, tmp_path: Path) -> None:
    cert, key = write_pair(ca, tmp_path)
    with spawner() as spawn:
        server = spawn(ssl_certfile=cert, ssl_keyfile=key)
        url = f"https://{HOST}:{server.port}/url"
        old_client = httpx.Client(verify=client_context(ca), timeout=5)
        assert old_client.get(url).status_code == 200  # a keep-alive connection, open across the swap

        new_ca = trustme.CA()
        new_cert, new_key = write_pair(new_ca, tmp_path, name="next")
        cert.write_bytes(new_cert.read_bytes())
        key.write_bytes(new_key.read_bytes())
        mark = server.mark()
        server.send_signal(signal.SIGHUP)
        server.wait_for_line("TLS certificate reloaded", timeout=10, start=mark)
        with httpx.Client(verify=client_context(new_ca), timeout=5) as client:
            assert client.get(url).status_code == 200
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=client_context(ca), timeout=5) as client:
            client.get(url)  # the old CA no longer vouches for what new connections get
        assert old_client.get(url).status_code == 200  # the open connection carries on
        old_client.close()

        key.write_text("garbage\n")
        mark = server.mark()
        server.send_signal(signal.SIGHUP)
        server.wait_for_line("TLS certificate not reloaded, the previous one stays", timeout=10, start=mark)
        with httpx.Client(verify=client_context(new_ca), timeout=5) as client:
            assert client.get(url).status_code == 200
        assert server.proc.poll() is None
