"""What an ``exercise`` keeps of a response: plain data that survives JSON, and no exception of its
own when the app answers something unexpected, so that the test's assertion shows what came back.
(Imported by the test modules, here and in ``_driver.py``'s interpreter: standard library only.)"""

from __future__ import annotations

from typing import Any


def answer(response: Any, *headers: str) -> dict[str, Any]:
    """``{"status": ..., "body": ...}``, the body parsed when the response says it is JSON (its text
    otherwise), and each header named (lowercase; None when absent)."""
    body: Any = response.text
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            pass
    seen = {"status": response.status_code, "body": body}
    for name in headers:
        seen[name] = response.headers.get(name)
    return seen
