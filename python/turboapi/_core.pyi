"""Type stub of the Rust extension `turboapi._core` (see src/engine.rs, src/request.rs)."""

from typing import Any

class Engine:
    def __init__(self, routes: list[Any], hooks: Any, config: dict[str, Any]) -> None: ...
    def bind(self, host: str, port: int, backlog: int) -> tuple[str, int]: ...
    def serve(self) -> None: ...
    def worker_loop(self) -> None: ...
    def stop_workers(self) -> None: ...
    @property
    def shard_count(self) -> int: ...
    def shard_fileno(self, index: int) -> int: ...
    def bind_shard_loop(self, index: int, event_loop: Any | None) -> None: ...
    def drain_shard(self, index: int) -> None: ...
    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        client: tuple[str, int] | None = None,
        scheme: str = "http",
    ) -> tuple[int, list[tuple[str, bytes]], bytes, BaseException | None]: ...

class RequestData:
    method: str
    scheme: str
    shard: int
    path: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    content_type: str | None
    body: bytes
    client: tuple[str, int] | None
    server: tuple[str, int] | None
    path_params: dict[str, str]

class Completion:
    def __call__(self, task: Any) -> None: ...
