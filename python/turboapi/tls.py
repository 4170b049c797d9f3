"""TLS for the server: the files named by the ``ssl_*`` settings, read for the core.

The core (rustls) parses the PEM text, checks that the key is the certificate's, and serves it.
Here the files are read (a missing or unreadable one is an error naming its setting and path)
and a password-protected key is decrypted, which rustls does not do. The same reading runs again
on SIGHUP, when the core swaps in the new certificate for new connections.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any


class TLSSetupError(ValueError):
    """A TLS setting the server cannot start with; its text says which and why, in one line."""


def use_tls(engine: Any, settings: Any) -> None:
    """Make ``engine`` serve TLS as ``settings`` asks (nothing when no certificate is set)."""
    if settings.ssl_certfile is None:
        return
    ca_pem = _read(settings.ssl_ca_certs, "ssl_ca_certs") if settings.ssl_ca_certs is not None else None
    try:
        engine.use_tls(
            _loader(settings.ssl_certfile, settings.ssl_keyfile, settings.ssl_keyfile_password),
            ca_pem,
            int(settings.ssl_cert_reqs),
        )
    except ValueError as exc:  # ours (a file), or the core's (a certificate or key it cannot use)
        raise TLSSetupError(str(exc)) from None


def _loader(certfile: str, keyfile: str | None, password: str | None) -> Callable[[], tuple[bytes, bytes]]:
    def load() -> tuple[bytes, bytes]:
        cert_pem = _read(certfile, "ssl_certfile")
        # As uvicorn (ssl's load_cert_chain): no key file means the key is in the certificate's.
        key_pem = _read(keyfile, "ssl_keyfile") if keyfile is not None else cert_pem
        if b"ENCRYPTED" in key_pem:  # PKCS#8's "ENCRYPTED PRIVATE KEY", or "Proc-Type: 4,ENCRYPTED"
            key_pem = _decrypt(key_pem, password)
        return cert_pem, key_pem

    return load


def _read(path: str, setting: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise TLSSetupError(f"{setting}: cannot read {path!r}: {exc.strerror or exc}") from None


def _decrypt(key_pem: bytes, password: str | None) -> bytes:
    """The key as unencrypted PKCS#8 PEM, for rustls (which reads no encrypted keys)."""
    if password is None:
        raise TLSSetupError("ssl_keyfile is encrypted: give its password (ssl_keyfile_password)")
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise TLSSetupError(
            "ssl_keyfile_password needs the 'cryptography' package to decrypt the key "
            "(pip install cryptography), or give an unencrypted key"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=password.encode())
    except (ValueError, TypeError) as exc:
        raise TLSSetupError(f"ssl_keyfile: cannot decrypt the key with ssl_keyfile_password: {exc}") from None
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def check(settings: Any) -> None:
    """The ``ssl_*`` settings make sense together (their files are read at start)."""
    if settings.ssl_keyfile is not None and settings.ssl_certfile is None:
        raise ValueError("ssl_keyfile is set without ssl_certfile: give both")
    if settings.ssl_cert_reqs not in (ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED) or isinstance(
        settings.ssl_cert_reqs, bool
    ):
        raise ValueError(
            f"ssl_cert_reqs must be 0 (none), 1 (optional) or 2 (required), not {settings.ssl_cert_reqs!r}"
        )
    if settings.ssl_cert_reqs != ssl.CERT_NONE and settings.ssl_ca_certs is None:
        raise ValueError("ssl_cert_reqs asks for client certificates: give ssl_ca_certs to check them against")
    for name in ("ssl_keyfile", "ssl_certfile", "ssl_keyfile_password", "ssl_ca_certs"):
        value = getattr(settings, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {value!r}")
