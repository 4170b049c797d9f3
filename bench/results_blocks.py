"""Sections of bench/RESULTS.md that other scripts own (make stress, make soak, make fuzz): each
lives between ``<!-- name:begin -->`` and ``<!-- name:end -->``; a script replaces its own block,
and bench/run.py, which rewrites the file, carries the blocks over."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_BLOCK = re.compile(r"<!-- (?P<name>[a-z-]+):begin -->\n.*?<!-- (?P=name):end -->\n?", re.S)


def update(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Put ``markdown`` in block ``name`` of ``path`` (appended when the block is new)."""
    block = f"<!-- {name}:begin -->\n{markdown.rstrip()}\n<!-- {name}:end -->\n"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for match in _BLOCK.finditer(text):
        if match.group("name") == name:
            text = text[: match.start()] + block + text[match.end() :]
            break
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def stamp() -> str:
    """When and at which commit a figure was measured: ``2026-11-27 09:25 UTC, commit ab18193``."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True, text=True
    ).stdout.strip()
    return f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit or 'unknown'}"


def report(name: str, lines: list[str], failures: list[str]) -> int:
    """Print a script's markdown, put it in block ``name`` (with what failed, if anything) and
    return the script's exit status."""
    if failures:
        lines = [*lines, "", "FAILED: " + "; ".join(failures)]
    text = "\n".join(lines)
    print(text)
    update(name, text)
    return 1 if failures else 0


def blocks(path: Path = RESULTS) -> str:
    """Every owned block of ``path``, as they stand, for a rewrite of the file to keep."""
    if not path.exists():
        return ""
    return "".join("\n" + m.group(0) for m in _BLOCK.finditer(path.read_text(encoding="utf-8")))
