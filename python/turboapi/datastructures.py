"""Small request/response data structures with Starlette's interfaces (Headers, QueryParams, URL...)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from .concurrency import run_in_threadpool


class Address(NamedTuple):
    host: str
    port: int


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued view of a raw ``[(name, value)]`` byte list."""

    def __init__(self, headers: Mapping[str, str] | None = None, *, raw: list[tuple[bytes, bytes]] | None = None):
        if raw is not None:
            self._list = raw
        else:
            self._list = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    def getlist(self, key: str) -> list[str]:
        k = key.lower().encode("latin-1")
        return [v.decode("latin-1") for name, v in self._list if name == k]

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k.decode("latin-1") for k, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [v.decode("latin-1") for _, v in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def __getitem__(self, key: str) -> str:
        k = key.lower().encode("latin-1")
        for name, value in self._list:
            if name == k:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower().encode("latin-1") in (k for k, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({dict(self.items())!r})"


class MutableHeaders(Headers):
    def __setitem__(self, key: str, value: str) -> None:
        # As Starlette: the first occurrence is replaced in place, later ones removed.
        k = key.lower().encode("latin-1")
        v = value.encode("latin-1")
        found = [i for i, (n, _) in enumerate(self._list) if n == k]
        if not found:
            self._list.append((k, v))
            return
        self._list[found[0]] = (k, v)
        for i in reversed(found[1:]):
            del self._list[i]

    def add_vary_header(self, vary: str) -> None:
        existing = self.get("vary")
        self["vary"] = f"{existing}, {vary}" if existing is not None else vary

    def __delitem__(self, key: str) -> None:
        k = key.lower().encode("latin-1")
        self._list[:] = [(n, v) for n, v in self._list if n != k]

    def append(self, key: str, value: str) -> None:
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def setdefault(self, key: str, value: str) -> str:  # type: ignore[override]
        if key not in self:
            self[key] = value
        return self[key]

    def update(self, other: Mapping[str, str]) -> None:
        for k, v in other.items():
            self[k] = v


class ImmutableMultiDict(Mapping[str, Any]):
    """Multi-valued mapping; ``d[key]`` is the last value, ``getlist`` all of them."""

    def __init__(self, items: list[tuple[str, Any]] | Mapping[str, Any] | None = None) -> None:
        if isinstance(items, Mapping):
            items = list(items.items())
        self._list = list(items or [])
        self._dict = dict(self._list)

    def getlist(self, key: str) -> list[Any]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, Any]]:
        return list(self._list)

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImmutableMultiDict) and sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._list!r})"


class QueryParams(ImmutableMultiDict):
    def __init__(self, query: str | bytes | list[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if isinstance(query, str):
            query = parse_qsl(query, keep_blank_values=True)
        super().__init__(query)

    def __str__(self) -> str:
        return urlencode(self._list)


class URL:
    def __init__(self, url: str = "") -> None:
        self._url = url

    @property
    def components(self) -> SplitResult:
        if not hasattr(self, "_components"):
            self._components = urlsplit(self._url)
        return self._components

    scheme = property(lambda self: self.components.scheme)
    netloc = property(lambda self: self.components.netloc)
    path = property(lambda self: self.components.path)
    query = property(lambda self: self.components.query)
    fragment = property(lambda self: self.components.fragment)
    hostname = property(lambda self: self.components.hostname)
    port = property(lambda self: self.components.port)

    def replace(self, **kwargs: Any) -> URL:
        return URL(self.components._replace(**kwargs).geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        params = QueryParams(self.query)
        merged = {**dict(params.multi_items()), **{k: str(v) for k, v in kwargs.items()}}
        return self.replace(query=urlencode(merged))

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"URL({self._url!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)


class State:
    """Attribute bag for ``app.state`` and ``request.state``."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__setattr__("_state", dict(state or {}))

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'State' object has no attribute '{key}'") from None

    def __delattr__(self, key: str) -> None:
        del self._state[key]


class UploadFile:
    """An uploaded file: its data lives in a spooled temporary file (on disk past 1 MiB)."""

    def __init__(
        self, file: Any, *, size: int | None = None, filename: str | None = None, headers: Headers | None = None
    ) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers = headers or Headers()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type", None)

    @property
    def _in_memory(self) -> bool:
        # A SpooledTemporaryFile that has not rolled over to disk: its calls do not block.
        return not getattr(self.file, "_rolled", True)

    async def _call(self, method: Any, *args: Any) -> Any:
        """A file call: directly while the data is in memory, else in a thread (as Starlette),
        so reading a large upload in an async handler does not stall the shard's loop."""
        if self._in_memory:
            return method(*args)
        return await run_in_threadpool(method, *args)

    async def write(self, data: bytes) -> None:
        if self.size is not None:
            self.size += len(data)
        await self._call(self.file.write, data)

    async def read(self, size: int = -1) -> bytes:
        return await self._call(self.file.read, size)  # type: ignore[no-any-return]

    async def seek(self, offset: int) -> None:
        await self._call(self.file.seek, offset)

    async def close(self) -> None:
        await self._call(self.file.close)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def check(value: Any) -> Any:
            if not isinstance(value, UploadFile):
                raise ValueError(f"Expected UploadFile, received: {type(value)}")
            return value

        return core_schema.no_info_plain_validator_function(check)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": "application/octet-stream"}


class FormData(ImmutableMultiDict):
    """Form fields (str) and files (UploadFile)."""

    async def close(self) -> None:
        for _, value in self.multi_items():
            if isinstance(value, UploadFile):
                await value.close()

    def close_sync(self) -> None:
        for _, value in self.multi_items():
            if isinstance(value, UploadFile):
                value.file.close()


class DefaultPlaceholder:
    """Marks an argument the user did not pass (FastAPI's name), so a router's default applies."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DefaultPlaceholder) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


def Default(value: Any) -> Any:  # noqa: N802 - FastAPI's name
    return DefaultPlaceholder(value)
