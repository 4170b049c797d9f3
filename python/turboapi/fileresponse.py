"""``FileResponse``: a file sent by the core, which reads it in chunks (``src/filebody.rs``).

Python decides the answer, as Starlette's FileResponse does (Starlette 1.10's behaviour): the
headers from the file's stat (``content-length``, ``last-modified``, ``etag``), ``Range`` and
``If-Range`` (a single range → 206, several → ``multipart/byteranges``, unsatisfiable → 416,
malformed → 400). The core calls ``plan`` when it sends the reply and gets back the status, the
headers and the segments of the body: literal bytes and ``(offset, length)`` slices of the file.

Past Starlette, whose FileResponse sends the whole file again to a client that holds it: a GET or
HEAD whose ``If-None-Match`` matches the ETag (or, without it, whose ``If-Modified-Since`` is not
older than the file) is answered ``304 Not Modified`` with no body, as RFC 9110 (13.1.2, 13.1.3,
13.2.2) asks and as ``StaticFiles`` already answers.
"""

from __future__ import annotations

import os
import secrets
import stat as stat_module
from email.utils import parsedate_to_datetime
from typing import Any

import starlette.responses

Segment = bytes | tuple[int, int]
Plan = tuple[int, list[tuple[bytes, bytes]], str, list[Segment]]

#: More parts than this and the Range header is ignored (Starlette's limit).
MAX_RANGES = 100

#: Headers a 304 keeps (RFC 9110 section 15.4.5).
NOT_MODIFIED_HEADERS = (b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary")


class MalformedRange(Exception):
    """A Range header that cannot be read: 400 with this message."""


class RangeNotSatisfiable(Exception):
    """A range outside the file: 416."""


class FileResponse(starlette.responses.FileResponse):
    """Starlette's FileResponse (its constructor and headers), sent by the core: ``plan`` decides
    the answer for a request, the core reads the file."""

    def plan(
        self,
        method: str,
        range_header: str | None = None,
        if_range: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: str | None = None,
    ) -> Plan:
        """What to send for a request with this method and these headers."""
        if self.stat_result is None:
            try:
                stat_result = os.stat(self.path)
            except FileNotFoundError:
                raise RuntimeError(f"File at path {self.path} does not exist.") from None
            if not stat_module.S_ISREG(stat_result.st_mode):
                raise RuntimeError(f"File at path {self.path} is not a file.")
            self.stat_result = stat_result
            self.set_stat_headers(stat_result)
        size = self.stat_result.st_size
        method = method.upper()
        head = method == "HEAD"
        path = os.fspath(self.path)
        whole: list[Segment] = [] if head else [(0, size)]
        cacheable = self.status_code == 200 and method in ("GET", "HEAD")
        if cacheable and is_not_modified(
            self.headers.get("etag"), self.headers.get("last-modified"), if_none_match, if_modified_since
        ):
            return 304, [(k, v) for k, v in self.raw_headers if k in NOT_MODIFIED_HEADERS], path, []
        ranged = cacheable and range_header is not None and self._if_range_matches(if_range)
        if not ranged:
            return self.status_code, self.raw_headers, path, whole
        try:
            ranges = parse_range(range_header or "", size)
        except MalformedRange as exc:
            return _plain(400, str(exc), head)
        except RangeNotSatisfiable:
            headers = [(b"content-range", f"bytes */{size}".encode()), (b"content-length", b"0")]
            return 416, headers + _plain_type(), path, []
        if ranges is None:
            return self.status_code, self.raw_headers, path, whole
        if len(ranges) == 1:
            start, end = ranges[0]
            headers = _replace(self.raw_headers, b"content-length", str(end - start).encode())
            headers.append((b"content-range", f"bytes {start}-{end - 1}/{size}".encode()))
            return 206, headers, path, [] if head else [(start, end - start)]
        return self._multipart(ranges, size, head, path)

    def _if_range_matches(self, if_range: str | None) -> bool:
        if if_range is None:
            return True
        if if_range.startswith("W/"):
            return False
        return if_range in (self.headers.get("etag"), self.headers.get("last-modified"))

    def _multipart(self, ranges: list[tuple[int, int]], size: int, head: bool, path: str) -> Plan:
        boundary = secrets.token_hex(13)
        content_type = self.headers.get("content-type", "application/octet-stream")
        segments: list[Segment] = []
        length = 0
        for start, end in ranges:
            part = (
                f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {start}-{end - 1}/{size}\r\n\r\n"
            ).encode("latin-1")
            segments += [part, (start, end - start), b"\r\n"]
            length += len(part) + (end - start) + 2
        closing = f"--{boundary}--".encode()
        segments.append(closing)
        length += len(closing)
        headers = _replace(self.raw_headers, b"content-length", str(length).encode())
        headers = _replace(headers, b"content-type", f"multipart/byteranges; boundary={boundary}".encode())
        return 206, headers, path, [] if head else segments


def is_not_modified(
    etag: str | None, last_modified: str | None, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """Does the client hold this version already (RFC 9110 13.2.2)? ``If-None-Match`` decides when
    present (``*``, or a weak match of one of its tags); otherwise ``If-Modified-Since`` not older
    than ``Last-Modified``. A date that cannot be read is ignored."""
    if if_none_match and if_none_match.strip():
        if if_none_match.strip() == "*":
            return True
        if etag is None:
            return False
        ours = etag.removeprefix("W/")
        return any(tag.strip().removeprefix("W/") == ours for tag in if_none_match.split(","))
    if not if_modified_since or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Half-open ``[start, end)`` ranges of ``size`` bytes, sorted and merged (adjacent ones too);
    None when the header has more parts than ``MAX_RANGES`` (then it is ignored)."""
    units, sep, spec = header.partition("=")
    if not sep:
        raise MalformedRange("Malformed range header.")
    if units.strip().lower() != "bytes":
        raise MalformedRange("Only support bytes range")
    if spec.count(",") + 1 > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part or part == "-" or "-" not in part:
            continue
        start_text, _, end_text = (piece.strip() for piece in part.partition("-"))
        try:
            start = int(start_text) if start_text else max(size - int(end_text), 0)
            end = int(end_text) + 1 if start_text and end_text and int(end_text) < size else size
        except ValueError:
            continue  # a part that is not numbers is skipped, as Starlette does
        ranges.append((start, end))
    if not ranges:
        raise MalformedRange("Range header: range must be requested")
    if any(not 0 <= start < size for start, _ in ranges):
        raise RangeNotSatisfiable()
    if any(start >= end for start, end in ranges):
        raise MalformedRange("Range header: start must be less than end")
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _replace(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    """A copy with ``name``'s value replaced in place (appended if absent)."""
    out = [(k, value if k == name else v) for k, v in headers]
    if not any(k == name for k, _ in headers):
        out.append((name, value))
    return out


def _plain_type() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/plain; charset=utf-8")]


def _plain(status: int, message: str, head: bool) -> Plan:
    body = message.encode()
    headers = [(b"content-length", str(len(body)).encode()), *_plain_type()]
    return status, headers, "", [] if head else [body]


def plan(
    response: object,
    method: str,
    range_header: str | None,
    if_range: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> Plan:
    """The core's hook: ours plan themselves; Starlette's FileResponse gets the same treatment."""
    if not isinstance(response, FileResponse):
        response = _adopt(response)
    return response.plan(method, range_header, if_range, if_none_match, if_modified_since)


def _adopt(theirs: Any) -> FileResponse:
    """A Starlette FileResponse (its headers are already built) as ours."""
    ours = FileResponse.__new__(FileResponse)
    ours.path = theirs.path
    ours.status_code = theirs.status_code
    ours.filename = getattr(theirs, "filename", None)
    ours.media_type = getattr(theirs, "media_type", None)
    ours.background = theirs.background
    ours.raw_headers = list(theirs.raw_headers)
    ours.stat_result = getattr(theirs, "stat_result", None)
    return ours
