"""``StaticFiles``: a directory (or packages' ``statics`` folders) served under ``app.mount``.

Behaviour is Starlette 1.10's: GET and HEAD only (405 otherwise), no way out of the directory
(``..`` and absolute paths after normalising, symlinks pointing outside unless
``follow_symlink=True``: 404), ``If-None-Match``/``If-Modified-Since`` → 304 (the rule is
``fileresponse.is_not_modified``, shared with ``FileResponse``), and with ``html=True``
``index.html`` for directories and ``404.html`` for what is missing. The file itself is a
``FileResponse``: the core reads and sends it, with ranges.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import starlette.staticfiles

from .datastructures import Headers
from .exceptions import STARLETTE_HTTP_EXCEPTION
from .fileresponse import NOT_MODIFIED_HEADERS, FileResponse, is_not_modified
from .responses import RedirectResponse, Response

# Raised as Starlette raises it (its class when installed), so the app's handlers see the same.
_Refused: Any = STARLETTE_HTTP_EXCEPTION


class NotModifiedResponse(Response):
    def __init__(self, headers: Headers) -> None:
        kept = {k: v for k, v in headers.items() if k.encode("latin-1") in NOT_MODIFIED_HEADERS}
        super().__init__(status_code=304, headers=kept)


class StaticFiles(starlette.staticfiles.StaticFiles):
    """Starlette's StaticFiles (its constructor, and its ASGI ``__call__`` when served the ASGI way);
    on the core's path, ``core_response`` answers with the same rules and the core sends the file."""

    def _core_check_config(self) -> None:
        if self.directory is None:
            return
        try:
            stat_result = os.stat(self.directory)
        except FileNotFoundError:
            raise RuntimeError(f"StaticFiles directory '{self.directory}' does not exist.") from None
        if not (stat.S_ISDIR(stat_result.st_mode) or stat.S_ISLNK(stat_result.st_mode)):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")

    def core_response(self, route_path: str, request: Any) -> Response:
        """The answer for ``route_path`` (the part after the mount's prefix)."""
        if not self.config_checked:
            self._core_check_config()
            self.config_checked = True
        if request.method not in ("GET", "HEAD"):
            raise _Refused(status_code=405, headers={"Allow": "GET, HEAD"})
        path = os.path.normpath(os.path.join(*route_path.split("/")))
        try:
            full_path, stat_result = self.lookup_path(path)
        except PermissionError:
            raise _Refused(status_code=401) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise _Refused(status_code=404) from None
            raise
        if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
            return self._core_file_response(full_path, stat_result, request)
        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode) and self.html:
            index_path, index_stat = self.lookup_path(os.path.join(path, "index.html"))
            if index_stat is not None and stat.S_ISREG(index_stat.st_mode):
                if not request.url.path.endswith("/"):
                    # The directory's URL without its slash: relative links in index.html need it.
                    return RedirectResponse(url=str(request.url.replace(path=request.url.path + "/")))
                return self._core_file_response(index_path, index_stat, request)
        if self.html:
            page_path, page_stat = self.lookup_path("404.html")
            if page_stat is not None and stat.S_ISREG(page_stat.st_mode):
                return FileResponse(page_path, stat_result=page_stat, status_code=404)
        raise _Refused(status_code=404)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path.startswith(("/", "\\")):
            return "", None
        try:
            for directory in self.all_directories:
                joined = os.path.join(directory, path)
                if self.follow_symlink:
                    full_path, root = os.path.abspath(joined), os.path.abspath(directory)
                else:
                    full_path, root = os.path.realpath(joined), os.path.realpath(directory)
                if os.path.commonpath([full_path, root]) != str(root):
                    continue  # outside the directory: as if missing
                try:
                    return full_path, os.stat(full_path)
                except (FileNotFoundError, NotADirectoryError):
                    continue
        except ValueError:  # a NUL byte in the path
            pass
        return "", None

    def _core_file_response(self, full_path: str, stat_result: os.stat_result, request: Any) -> Response:
        response = FileResponse(full_path, stat_result=stat_result)
        if self.is_not_modified(response.headers, request.headers):
            return NotModifiedResponse(response.headers)
        return response

    def is_not_modified(self, response_headers: Any, request_headers: Any) -> bool:
        return is_not_modified(
            response_headers.get("etag"),
            response_headers.get("last-modified"),
            request_headers.get("if-none-match"),
            request_headers.get("if-modified-since"),
        )
