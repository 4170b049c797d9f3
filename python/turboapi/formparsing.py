"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data`` -> FormData.

Multipart is parsed by python-multipart with Starlette's limits (1000 files, 1000 fields, 1 MiB per
non-file part); file parts are written to spooled temporary files that move to disk past 1 MiB.
A body that breaks a limit or the format is a 400 with the reason, as in Starlette.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

from .datastructures import FormData, Headers, UploadFile
from .exceptions import HTTPException

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks
    from starlette.datastructures import UploadFile as StarletteUploadFile

MAX_FILES = 1000
MAX_FIELDS = 1000
MAX_PART_SIZE = 1024 * 1024
SPOOL_MAX_SIZE = 1024 * 1024


class FormError(Exception):
    """The body breaks a limit or the multipart format: a 400 with this message."""


#: How much of a spooled upload is handed to the parser at a time.
CHUNK = 64 * 1024


def parse_form(body: bytes, content_type: str | None, path: str | None = None) -> FormData:
    """The form in ``body``, or in the file at ``path`` (an upload the core spooled to disk)."""
    kind, options = parse_options_header(content_type or "")
    try:
        if kind == b"multipart/form-data":
            return _parse_multipart(body, options, path)
        if kind == b"application/x-www-form-urlencoded":
            return _parse_urlencoded(body)
    except FormError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return FormData()


def read_form(body: bytes, content_type: str | None, path: str | None = None) -> FormData:
    """``parse_form`` for a request: any failure of the body (a broken format, a charset no codec
    decodes) is the client's, a 400 as FastAPI's form parameters answer."""
    try:
        return parse_form(body, content_type, path)
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def _parse_urlencoded(body: bytes) -> FormData:
    # FormData's item type (a list's item type must match exactly), though all values are str here.
    items: list[tuple[str, str | StarletteUploadFile]] = []
    name = bytearray()
    value = bytearray()

    def on_field_start() -> None:
        name.clear()
        value.clear()

    def on_field_name(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])
        if len(name) > MAX_PART_SIZE:
            raise FormError(f"Field exceeded maximum size of {MAX_PART_SIZE // 1024}KB.")

    def on_field_data(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])
        if len(name) + len(value) > MAX_PART_SIZE:
            raise FormError(f"Field exceeded maximum size of {MAX_PART_SIZE // 1024}KB.")

    def on_field_end() -> None:
        if len(items) >= MAX_FIELDS:
            raise FormError(f"Too many fields. Maximum number of fields is {MAX_FIELDS}.")
        items.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))

    parser = QuerystringParser(
        {
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    parser.write(body)
    parser.finalize()
    return FormData(items)


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1")


class _MultipartCollector:
    """python-multipart callbacks -> (name, str | UploadFile) items."""

    def __init__(self, charset: str) -> None:
        self.charset = charset
        self.items: list[tuple[str, str | StarletteUploadFile]] = []  # FormData's item type
        self.files = 0
        self.fields = 0
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: list[tuple[bytes, bytes]] = []
        self.disposition: bytes = b""
        self.name = ""
        self.data = bytearray()
        self.upload: UploadFile | None = None

    def on_part_begin(self) -> None:
        self.headers = []
        self.disposition = b""
        self.data = bytearray()
        self.upload = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def on_header_end(self) -> None:
        name = bytes(self.header_name).lower()
        if name == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.headers.append((name, bytes(self.header_value)))
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise FormError('The Content-Disposition header field "name" must be provided.')
        self.name = _decode(options[b"name"], self.charset)
        if b"filename" in options:
            self.files += 1
            if self.files > MAX_FILES:
                raise FormError(f"Too many files. Maximum number of files is {MAX_FILES}.")
            self.upload = UploadFile(
                # A binary file, though typeshed's SpooledTemporaryFile is no BinaryIO (Starlette ignores it too).
                SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE),  # type: ignore[arg-type]
                size=0,
                filename=_decode(options[b"filename"], self.charset),
                headers=Headers(raw=self.headers),
            )
        else:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise FormError(f"Too many fields. Maximum number of fields is {MAX_FIELDS}.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.upload is None:
            if len(self.data) + len(chunk) > MAX_PART_SIZE:
                raise FormError(f"Part exceeded maximum size of {MAX_PART_SIZE // 1024}KB.")
            self.data.extend(chunk)
        else:
            self.upload.file.write(chunk)
            self.upload.size = (self.upload.size or 0) + len(chunk)

    def on_part_end(self) -> None:
        if self.upload is None:
            self.items.append((self.name, _decode(bytes(self.data), self.charset)))
        else:
            self.upload.file.seek(0)
            self.items.append((self.name, self.upload))

    def close(self) -> None:
        for _, value in self.items:
            if isinstance(value, UploadFile):
                value.file.close()
        if self.upload is not None:
            self.upload.file.close()


def _spooled_writes(f: BinaryIO) -> Iterator[bytes]:
    """The spooled body as writes that python-multipart parses as it parses the body in one write,
    which is what Starlette's parser gets under FastAPI's TestClient.

    python-multipart skips a body's leading CR/LF and everything after them up to the first "-" (a
    preamble), but only within one write: a write that ends before that "-" is dropped, and the next
    one starts over with nothing to skip, so its first byte must open the delimiter (b"\\r\\x00" a byte
    at a time was a 400, in one write an empty form). So until the body's first "-", each write
    starts with a CR, which the parser skips. (Versions that skip only the CR/LF bytes, one at a
    time, skip that CR as well.)
    """
    leading_newline: bool | None = None
    while chunk := f.read(CHUNK):
        if leading_newline is None:
            leading_newline = chunk[:1] in (b"\r", b"\n")
        elif leading_newline:
            chunk = b"\r" + chunk
        leading_newline = leading_newline and b"-" not in chunk
        yield chunk


def _parse_multipart(body: bytes, options: dict[bytes, bytes], path: str | None) -> FormData:
    charset = options.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "latin-1"
    boundary = options.get(b"boundary")
    if boundary is None:  # an empty one is parsed, as Starlette does
        raise FormError("Missing boundary in multipart.")
    collector = _MultipartCollector(charset)
    callbacks: MultipartCallbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        if path is None:
            parser.write(body)
        else:
            with open(path, "rb") as f:
                for chunk in _spooled_writes(f):
                    parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        collector.close()
        if isinstance(exc, FormParserError):
            raise FormError("Invalid multipart data.") from exc
        raise
    return FormData(collector.items)
