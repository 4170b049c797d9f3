"""examples/demo.py's app plus /cpu: an ``async def`` handler that spends its time in pure Python
(``make bench-ft``, bench/free_threading.py). Loop shards can run it in parallel only when the GIL
is off; under the GIL a second shard adds a thread but no CPU.

    python -m turboapi run bench.ft_app:app --shards 2
"""

from __future__ import annotations

import os

from examples.demo import app

#: Loop iterations per /cpu request: about 200 µs on CPython 3.13 here (bench/free_threading.py
#: measures it on each interpreter and says so in its report).
CPU_LOOPS = int(os.environ.get("BENCH_CPU_LOOPS", "3000"))


def burn(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


@app.get("/cpu")
async def cpu() -> dict[str, int]:
    return {"total": burn(CPU_LOOPS)}
